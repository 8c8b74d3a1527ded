using Engine.Codecs;
using Engine.Memory;

namespace Engine.Bench.Pages;

/// <summary>
/// The pages every codec benchmark runs over: the built-in page mix, in page-aligned native memory that the C loops
/// and the C# paths read through the same pointer.
/// </summary>
internal sealed unsafe class PageSet : IDisposable
{
    /// <summary>Pages per benchmark invocation: 1 MiB of guest memory, so a batch is far longer than one call's overhead.</summary>
    public const int MixPages = 256;

    /// <summary>The mix's seed: fixed, so every run and both sides compress the same bytes.</summary>
    public const ulong MixSeed = 20240607;

    private readonly NativeBuffer _buffer;

    private PageSet(int count)
    {
        Count = count;
        _buffer = new NativeBuffer((long)count * PageSizes.PageSize);
    }

    public int Count { get; }

    public byte* Pointer => _buffer.Pointer;

    /// <summary>The built-in page mix (<see cref="PageMix.CreateMix"/>: zero, text, binary, sparse and random pages).</summary>
    public static PageSet CreateMix(int count = MixPages, ulong seed = MixSeed)
    {
        PageSet set = new(count);
        PageMix.CreateMix(count, seed).CopyTo(set._buffer.Slice(0, count * PageSizes.PageSize));
        return set;
    }

    /// <summary><paramref name="count"/> pages of one kind, page i filled from seed + i.</summary>
    public static PageSet CreateKind(PageKind kind, int count = MixPages, ulong seed = MixSeed)
    {
        PageSet set = new(count);
        for (int i = 0; i < count; i++)
        {
            PageMix.Fill(kind, set._buffer.Slice((long)i * PageSizes.PageSize, PageSizes.PageSize), seed + (ulong)i);
        }

        return set;
    }

    /// <summary><paramref name="count"/> zero pages.</summary>
    public static PageSet CreateZero(int count) => new(count);

    public ReadOnlySpan<byte> Page(int index) => _buffer.Slice((long)index * PageSizes.PageSize, PageSizes.PageSize);

    public void Dispose() => _buffer.Dispose();
}
