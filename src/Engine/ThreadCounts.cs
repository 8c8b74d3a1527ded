using System.Globalization;

namespace Engine;

/// <summary>
/// The one place that says how many compress and decompress threads and multifd channels are accepted (QEMU's uint8
/// parameters: 1 to 255) and what the defaults are (QEMU's: 8, 2 and 2). Every parameter type and command refers here.
/// </summary>
/// <remarks>A multifd channel is a thread on each end in QEMU (and in Engine), so its count follows the same rule.</remarks>
internal static class ThreadCounts
{
    public const int Min = 1;
    public const int Max = 255;
    public const int DefaultCompress = 8;
    public const int DefaultDecompress = 2;
    public const int DefaultMultifdChannels = 2;

    /// <summary>Returns <paramref name="value"/>, or throws an <see cref="EngineParameterException"/> naming the parameter and the range.</summary>
    public static int Check(string parameter, int value)
    {
        if (value is < Min or > Max)
        {
            throw new EngineParameterException(
                parameter, string.Create(CultureInfo.InvariantCulture, $"{parameter} {value} is out of range: accepted {Min} to {Max}"));
        }

        return value;
    }
}
