using System.Text.RegularExpressions;

namespace Engine.Tests.Qemu;

/// <summary>One line of run-interop.sh's summary: <c>interop check N: PASS|FAIL|SKIPPED (detail)</c>.</summary>
internal sealed partial record InteropCheck(int Number, string Status, string Detail)
{
    /// <summary>The checks found in <paramref name="log"/>, by number; the last line for a number wins.</summary>
    public static Dictionary<int, InteropCheck> Parse(string log)
    {
        var checks = new Dictionary<int, InteropCheck>();
        foreach (Match m in SummaryLine().Matches(log))
        {
            int number = int.Parse(m.Groups["n"].Value, System.Globalization.CultureInfo.InvariantCulture);
            checks[number] = new InteropCheck(number, m.Groups["status"].Value, m.Groups["detail"].Value.Trim());
        }

        return checks;
    }

    [GeneratedRegex(@"^interop check (?<n>\d+): (?<status>PASS|FAIL|SKIPPED)\b(?<detail>.*)$", RegexOptions.Multiline)]
    private static partial Regex SummaryLine();
}
