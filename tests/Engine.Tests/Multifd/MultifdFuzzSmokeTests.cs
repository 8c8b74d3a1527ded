using System.Diagnostics;
using Engine.Fuzz;
using Engine.Multifd;
using Xunit;
using Xunit.Abstractions;

namespace Engine.Tests.Multifd;

/// <summary>
/// A bounded, deterministic mutation run over the multifd packet path (<see cref="MultifdPacketProbe"/>, the fuzzing
/// harness's <c>multifd</c> target): every input is accepted or rejected, never throws, never writes outside guest memory.
/// </summary>
public sealed class MultifdFuzzSmokeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_budget = TimeSpan.FromSeconds(6);

    [Fact(Timeout = 60_000)]
    public async Task MutatedPacketsAreAcceptedOrRejectedCleanly()
    {
        await Task.Yield();
        byte[][] seeds = MultifdPacketProbe.Seeds().Select(s => s.Input).ToArray();
        Assert.Equal(7, seeds.Length); // QEMU 7.2's packets and 9.0+'s (zero pages, 9.2 SYNC) for none, zlib and zstd; Engine's zstd frames
        foreach (byte[] seed in seeds)
        {
            Assert.True(MultifdPacketProbe.Run(seed), "every seed must be accepted");
        }

        var random = new Random(20261129);
        var watch = Stopwatch.StartNew();
        int inputs = 0, accepted = 0;
        while (watch.Elapsed < s_budget && inputs < 200_000)
        {
            byte[] input = Mutate(seeds[inputs % seeds.Length], random);
            try
            {
                if (MultifdPacketProbe.Run(input))
                {
                    accepted++;
                }
            }
            catch (Exception e)
            {
                string path = Path.Combine(Path.GetTempPath(), $"multifd-finding-{inputs}.bin");
                File.WriteAllBytes(path, input);
                Assert.Fail($"input {inputs} (saved to {path}) threw {e}");
            }

            inputs++;
        }

        output.WriteLine($"{inputs} inputs in {watch.Elapsed.TotalSeconds:F1} s, {accepted} accepted");
        Assert.True(inputs > 500, $"only {inputs} inputs ran");
        Assert.InRange(accepted, 1, inputs - 1);
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        byte[] input = (byte[])seed.Clone();
        int edits = 1 + random.Next(4);
        for (int e = 0; e < edits; e++)
        {
            int at = random.Next(input.Length);
            switch (random.Next(6))
            {
                case 0:
                    input[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    input[at] = (byte)random.Next(256);
                    break;
                case 2:
                    // A header field of the first packet: flags, pages_alloc, normal_pages, next_packet_size, zero_pages, or
                    // an offset (slot 2 is a zero page's in the QEMU 9.0+ seeds).
                    int[] fields = [8, 12, 16, 20, 32, 320, 328, 336];
                    int field = 1 + fields[random.Next(fields.Length)];
                    if (field + 4 <= input.Length)
                    {
                        input[field + random.Next(4)] = (byte)random.Next(256);
                    }

                    break;
                case 3:
                    Array.Resize(ref input, Math.Max(1, at));
                    break;
                case 4:
                    input[0] = (byte)random.Next(4);
                    break;
                default:
                    int length = Math.Min(64, input.Length - at);
                    random.NextBytes(input.AsSpan(at, length));
                    break;
            }
        }

        return input;
    }
}
