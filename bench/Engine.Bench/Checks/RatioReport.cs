using System.Globalization;
using Engine.Bench.Codecs;
using Engine.Bench.Pages;

namespace Engine.Bench.Checks;

/// <summary>`--ratios`: compression ratio per codec and level over the page mix, as a Markdown table for docs/PERFORMANCE.md.</summary>
internal static class RatioReport
{
    private static readonly (PageCodecKind Kind, string Name, int[] Levels)[] s_codecs =
    [
        (PageCodecKind.Zstd, "zstd", [-5, 1, 3, 6, 9, 19]),
        (PageCodecKind.NativeZlib, "zlib (native)", [1, 3, 6, 9]),
        (PageCodecKind.SharpZipLib, "zlib (SharpZipLib)", [1, 3, 6, 9]),
    ];

    public static int Run(TextWriter output)
    {
        using PageSet pages = PageSet.CreateMix();
        output.WriteLine($"Page mix: {pages.Count} pages, seed {PageSet.MixSeed}.");
        output.WriteLine();
        output.WriteLine("| codec | level | wire bytes | ratio | bytes/page |");
        output.WriteLine("|---|---:|---:|---:|---:|");
        foreach ((PageCodecKind kind, string name, int[] levels) in s_codecs)
        {
            foreach (int level in levels)
            {
                (long wire, double ratio) = CompressionRatios.Measure(kind, level, pages);
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {name} | {level} | {wire:N0} | {ratio:F2} | {(double)wire / pages.Count:F0} |"));
            }
        }

        return 0;
    }
}
