using System.Globalization;
using System.Text;
using Engine.Bench.Codecs;
using Engine.Bench.Pages;
using Engine.Memory;

namespace Engine.Bench.Checks;

/// <summary>
/// `--ratios`: compression ratio per codec and level over the page mix and over each page kind alone, as a Markdown table
/// for docs/PERFORMANCE.md. Ratio = page bytes / wire bytes, pages that do not shrink counted as raw 4096-byte pages.
/// </summary>
internal static class RatioReport
{
    private static readonly (PageCodecKind Kind, string Name, int[] Levels)[] s_codecs =
    [
        (PageCodecKind.Zstd, "zstd", [-5, 1, 3, 6, 9, 19]),
        (PageCodecKind.NativeZlib, "zlib (native)", [1, 3, 6, 9]),
        (PageCodecKind.SharpZipLib, "zlib (SharpZipLib)", [1, 3, 6, 9]),
    ];

    private static readonly PageKind[] s_kinds = [PageKind.Zero, PageKind.Text, PageKind.Binary, PageKind.Sparse, PageKind.Random];

    public static int Run(TextWriter output)
    {
        using PageSet mix = PageSet.CreateMix();
        List<PageSet> kinds = [.. s_kinds.Select(kind => PageSet.CreateKind(kind))];
        try
        {
            output.WriteLine($"Page mix: PageMix.CreateMix({mix.Count}, {PageSet.MixSeed}); each kind alone: {PageSet.MixPages} pages of it.");
            output.WriteLine();
            StringBuilder header = new("| codec | level | mix: bytes/page | mix: ratio |");
            StringBuilder rule = new("|---|---:|---:|---:|");
            foreach (PageKind kind in s_kinds)
            {
                header.Append(CultureInfo.InvariantCulture, $" {kind} |");
                rule.Append("---:|");
            }

            output.WriteLine(header);
            output.WriteLine(rule);
            foreach ((PageCodecKind codec, string name, int[] levels) in s_codecs)
            {
                foreach (int level in levels)
                {
                    (long wire, double ratio) = CompressionRatios.Measure(codec, level, mix);
                    StringBuilder row = new(string.Create(
                        CultureInfo.InvariantCulture,
                        $"| {name} | {level} | {(double)wire / mix.Count:F0} | {ratio:F2} |"));
                    foreach (PageSet pages in kinds)
                    {
                        row.Append(CultureInfo.InvariantCulture, $" {CompressionRatios.Measure(codec, level, pages).Ratio:F2} |");
                    }

                    output.WriteLine(row);
                }
            }
        }
        finally
        {
            kinds.ForEach(set => set.Dispose());
        }

        return 0;
    }
}
