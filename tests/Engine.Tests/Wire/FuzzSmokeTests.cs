using System.Diagnostics;
using Engine.Codecs;
using Engine.Tests.Wire.Support;
using Engine.Wire;
using Xunit;
using Xunit.Abstractions;

namespace Engine.Tests.Wire;

/// <summary>
/// A bounded, deterministic mutation fuzz run over the reader: every input must either parse or fail with a
/// <see cref="MigrationStreamException"/>; any other exception, or an input that takes too long, fails the test and is
/// printed so it can become a regression test. Bounded by an input count and by wall time (about 20 s).
/// </summary>
public class FuzzSmokeTests(ITestOutputHelper output)
{
    private const int MaxInputs = 500_000;
    private static readonly TimeSpan s_budget = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan s_perInputLimit = TimeSpan.FromSeconds(5);

    [Fact]
    public void Mutated_streams_parse_or_fail_cleanly()
    {
        byte[][] seeds = Seeds();
        foreach (byte[] seed in seeds)
        {
            Assert.True(FuzzTarget.Run(seed), "every seed must parse");
        }

        var mutator = new StreamMutator(seed: 20240611);
        var watch = Stopwatch.StartNew();
        int inputs = 0;
        int accepted = 0;
        byte[]? current = null;
        Exception? finding = null;
        var worker = new Thread(() =>
        {
            try
            {
                while (inputs < MaxInputs && watch.Elapsed < s_budget)
                {
                    current = mutator.Mutate(seeds[inputs % seeds.Length]);
                    if (FuzzTarget.Run(current))
                    {
                        accepted++;
                    }

                    Volatile.Write(ref inputs, inputs + 1);
                }
            }
            catch (Exception e)
            {
                finding = e;
            }
        })
        { IsBackground = true, Name = "fuzz smoke" };
        worker.Start();

        // A hang shows as no progress for s_perInputLimit; the worker is a background thread, so a stuck one cannot keep
        // the test host alive.
        int last = -1;
        while (!worker.Join(s_perInputLimit))
        {
            int now = Volatile.Read(ref inputs);
            if (now == last)
            {
                Assert.Fail($"hang: input #{now} did not finish in {s_perInputLimit.TotalSeconds} s; input (hex): {Convert.ToHexString(current ?? Array.Empty<byte>())}");
            }

            last = now;
        }

        output.WriteLine($"fuzz smoke: {inputs} inputs in {watch.Elapsed.TotalSeconds:0.0} s ({inputs / watch.Elapsed.TotalSeconds:0} per s), {accepted} parsed, {inputs - accepted} rejected cleanly");
        if (finding is not null)
        {
            Assert.Fail($"input #{inputs} threw {finding.GetType().Name} instead of MigrationStreamException: {finding}\ninput (hex): {Convert.ToHexString(current ?? Array.Empty<byte>())}");
        }

        Assert.True(inputs >= 1000, $"only {inputs} inputs ran");
    }

    /// <summary>Small valid streams covering every item kind the reader knows.</summary>
    internal static byte[][] Seeds()
    {
        byte[] zlib = TestCodecs.CompressPage(CompressMethod.Zlib, 1, StreamBuilder.TextPage(1));
        byte[] zstd = TestCodecs.CompressPage(CompressMethod.Zstd, 1, StreamBuilder.TextPage(2));
        byte[] json = "{\"page_size\":4096}"u8.ToArray();
        byte[] everything = new RawStream().Header().Configuration()
            .U8(0x05).Counted("configuration/capabilities").Be32(1).Be32(1).Counted("events")
            .U8(0x08).Be16(2).Be16(4).Be32(1)
            .Start().BlockList(("pc.ram", 0x8000), ("vga.vram", 0x2000)).Eos().Footer()
            .Section(0x02)
            .PageHeader(0, RamSaveFlags.Zero).U8(0)
            .PageHeader(0x1000, RamSaveFlags.CompressPage | RamSaveFlags.Continue, null).Be32((uint)zlib.Length).Bytes(zlib)
            .PageHeader(0x2000, RamSaveFlags.CompressPage | RamSaveFlags.Continue, null).Be32((uint)zstd.Length).Bytes(zstd)
            .Be64(0x200)
            .PageHeader(0x1000, RamSaveFlags.Xbzrle | RamSaveFlags.Continue, null).U8(1).Be16(8).Bytes(new byte[] { 3, 2, 0x41, 0x42, 0xC8, 0x01, 1, 0xEE })
            .PageHeader(0x1000, RamSaveFlags.Page, "vga.vram").Bytes(StreamBuilder.TextPage(9))
            .Eos().Footer()
            .U8(0x08).Be16(11).Be16(0) // QEMU 10.0's SWITCHOVER_START, between the last PART and END
            .Section(0x03).Eos().Footer().U8(0x00)
            .U8(0x06).Be32((uint)json.Length).Bytes(json)
            .ToArray();
        return new[] { StreamBuilder.SmallStream(), everything, RawStream.UpToFirstPart().RawPage(0).Finish().ToArray() };
    }
}
