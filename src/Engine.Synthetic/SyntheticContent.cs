using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Synthetic;

/// <summary>
/// A documented model of real guest RAM that generates page content, deterministically from a seed and the page number.
/// </summary>
/// <remarks>
/// <para>
/// The model is calibrated to the RAM of a real Debian guest (512 MiB, Linux 6.1, idle with a busy heap): 57 % of the pages
/// are zero; over the non-zero pages, zlib level 1 compressing each page on its own (as QEMU does) gives a ratio of 3.06
/// (level 6: 3.24), where the ratio is the non-zero bytes over the bytes sent for them and a page that does not shrink
/// counts 4096; 8.5 % of the non-zero pages do not shrink. The calibration test checks these figures over 4096 pages.
/// </para>
/// <para>The page kinds and their shares of all pages (the shares of the non-zero pages in brackets):</para>
/// <list type="table">
/// <item><term>zero, 57 %</term><description>never touched, freed, zeroed page cache.</description></item>
/// <item><term>random, 3.655 % (8.5 %)</term><description>compressed or encrypted data and entropy: incompressible.</description></item>
/// <item><term>text, 12.9 % (30 %)</term><description>lines of words from a 4096-word vocabulary with a Zipf-like
/// frequency in lines that repeat a few messages per page, with timestamps and numbers, like logs; about 3.9:1.</description></item>
/// <item><term>heap, 12.9 % (30 %)</term><description>arrays of 16- to 64-byte records: pointers into one heap region
/// (8-byte aligned, same high bytes), small counters, flags, zero padding, occasional short strings; about 3.8:1.</description></item>
/// <item><term>code, 5.59 % (13 %)</term><description>machine-code-like bytes: instruction templates chosen with a skew,
/// with fresh displacements and targets, returns and alignment padding; about 1.7:1.</description></item>
/// <item><term>sparse, 7.955 % (18.5 %)</term><description>mostly zero, with a few 8-byte entries (page-table entries,
/// list heads, bitmaps); compress more than 20 times.</description></item>
/// </list>
/// <para>
/// The kind of a page comes from a low-discrepancy sequence over the page number, so any few thousand consecutive pages
/// hold the mix closely; the bytes come from a generator seeded by the seed and the page number, so a page can be
/// regenerated (and a destination checked) without storing it. Writer threads (GuestWriters) then change
/// pages the way programs do, which keeps these statistics roughly stable while a guest runs.
/// </para>
/// </remarks>
public sealed class SyntheticContent
{
    /// <summary>Share of zero pages in the measured guest.</summary>
    public const double MeasuredZeroFraction = 0.57;

    /// <summary>Share of the non-zero pages that do not shrink under zlib-1, measured.</summary>
    public const double MeasuredIncompressibleFraction = 0.085;

    /// <summary>zlib-1 ratio over the non-zero pages, measured.</summary>
    public const double MeasuredZlib1Ratio = 3.06;

    /// <summary>zlib-6 ratio over the non-zero pages, measured.</summary>
    public const double MeasuredZlib6Ratio = 3.24;

    // Shares of the non-zero pages, by kind (cumulative thresholds below). Random is the measured incompressible share;
    // the rest were fitted so that zlib-1 and zlib-6 ratios land on the measured ones.
    private const double RandomShare = MeasuredIncompressibleFraction;
    private const double TextShare = 0.30;
    private const double HeapShare = 0.30;
    private const double CodeShare = 0.13;

    private const int PageSize = PageSizes.PageSize;
    private const int VocabularySize = 4096;
    private const int MaxWordLength = 12;
    private const int MessageWords = 4;
    private const int CodeTemplates = 256;
    private const int MaxCodeLength = 8;

    // The golden-ratio Weyl sequence: frac(offset + n * phi) is as evenly spread as any sequence can be.
    private const double GoldenFraction = 0.6180339887498949;

    private readonly ulong _seed;
    private readonly double _zeroFraction;
    private readonly double _weylOffset;
    private readonly byte[] _vocabulary;      // VocabularySize words, MaxWordLength bytes each, space-padded
    private readonly byte[] _wordLengths;
    private readonly ulong _heapBase;
    private readonly byte[] _codeTemplates;   // CodeTemplates instruction-like byte strings, MaxCodeLength bytes each
    private readonly byte[] _codeLengths;

    /// <summary>Creates the model with the measured zero share.</summary>
    public SyntheticContent(ulong seed)
        : this(seed, MeasuredZeroFraction)
    {
    }

    /// <summary>Creates the model with another share of zero pages (0 to 1); the non-zero pages keep their mix.</summary>
    public SyntheticContent(ulong seed, double zeroFraction)
    {
        if (!(zeroFraction >= 0 && zeroFraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(zeroFraction), zeroFraction, "the zero-page share must be between 0 and 1");
        }

        _seed = seed;
        _zeroFraction = zeroFraction;
        var rng = new SplitMix64(seed);
        _weylOffset = rng.NextDouble();
        _heapBase = 0x0000_5600_0000_0000UL | ((rng.Next() & 0xFF_FFFFUL) << 16);
        (_vocabulary, _wordLengths) = BuildVocabulary(ref rng);
        (_codeTemplates, _codeLengths) = BuildCodeTemplates(ref rng);
    }

    /// <summary>The share of zero pages this model generates.</summary>
    public double ZeroFraction => _zeroFraction;

    /// <summary>A pointer-like value into the model's heap region: 8-byte aligned, same high bytes as the heap pages'.</summary>
    public ulong HeapPointer(ref SplitMix64 rng) => _heapBase + ((rng.Next() & 0xF_FFFFUL) << 3);

    /// <summary>The kind of page <paramref name="pageNumber"/> (its number across all the guest's RAM).</summary>
    public PageKind KindOf(long pageNumber)
    {
        double u = _weylOffset + (pageNumber * GoldenFraction);
        u -= Math.Floor(u);
        if (u < _zeroFraction)
        {
            return PageKind.Zero;
        }

        // Rescale into the non-zero part; 1 - zeroFraction > 0 here because u < 1.
        double v = (u - _zeroFraction) / (1 - _zeroFraction);
        if (v < RandomShare)
        {
            return PageKind.Random;
        }

        v -= RandomShare;
        if (v < TextShare)
        {
            return PageKind.Text;
        }

        v -= TextShare;
        if (v < HeapShare)
        {
            return PageKind.Heap;
        }

        v -= HeapShare;
        return v < CodeShare ? PageKind.Code : PageKind.Sparse;
    }

    /// <summary>Fills <paramref name="page"/> (4096 bytes) with the content of page <paramref name="pageNumber"/>. Allocates nothing.</summary>
    public void Fill(Span<byte> page, long pageNumber)
    {
        if (page.Length != PageSize)
        {
            throw new ArgumentException($"a page is {PageSize} bytes, not {page.Length}", nameof(page));
        }

        var rng = new SplitMix64(SplitMix64.Mix(_seed, (ulong)pageNumber));
        switch (KindOf(pageNumber))
        {
            case PageKind.Zero:
                page.Clear();
                break;
            case PageKind.Random:
                FillRandom(page, ref rng);
                break;
            case PageKind.Text:
                FillText(page, ref rng);
                break;
            case PageKind.Heap:
                FillHeap(page, ref rng);
                break;
            case PageKind.Code:
                FillCode(page, ref rng);
                break;
            default:
                FillSparse(page, ref rng);
                break;
        }
    }

    /// <summary>Fills a whole region: page <c>i</c> of <paramref name="region"/> gets page number <paramref name="firstPage"/> + i.</summary>
    public void FillRegion(Span<byte> region, long firstPage)
    {
        if (region.Length % PageSize != 0)
        {
            throw new ArgumentException($"region is {region.Length} bytes, not a whole number of pages", nameof(region));
        }

        for (int i = 0; i < region.Length / PageSize; i++)
        {
            Fill(region.Slice(i * PageSize, PageSize), firstPage + i);
        }
    }

    /// <summary>Writes one word of the vocabulary (Zipf-like choice) at <paramref name="destination"/>; returns its length.</summary>
    public int WriteWord(Span<byte> destination, ref SplitMix64 rng)
    {
        int word = WordIndex(ref rng);
        int length = Math.Min(_wordLengths[word], destination.Length);
        _vocabulary.AsSpan(word * MaxWordLength, length).CopyTo(destination);
        return length;
    }

    private static void FillRandom(Span<byte> page, ref SplitMix64 rng)
    {
        for (int i = 0; i < PageSize; i += 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(page.Slice(i), rng.Next());
        }
    }

    private void FillText(Span<byte> page, ref SplitMix64 rng)
    {
        // Lines like a log or a configuration file: a page repeats a few messages (a service name and a fixed phrase), each
        // line with a timestamp-like field and a variable tail of words and numbers.
        Span<int> messages = stackalloc int[4 * MessageWords];
        for (int i = 0; i < messages.Length; i++)
        {
            messages[i] = WordIndex(ref rng);
        }

        int position = 0;
        int minute = rng.NextInt(60);
        while (position < PageSize)
        {
            int message = rng.NextInt(4);
            position += WriteLine(page.Slice(position), messages.Slice(message * MessageWords, MessageWords), ref minute, ref rng);
        }
    }

    private int WriteLine(Span<byte> line, ReadOnlySpan<int> message, ref int minute, ref SplitMix64 rng)
    {
        int n = 0;
        if ((rng.Next() & 3) != 0)
        {
            n += Append(line, n, "2024-11-05 12:"u8);
            minute = (minute + rng.NextInt(2)) % 60;
            n += Append(line, n, [(byte)('0' + (minute / 10)), (byte)('0' + (minute % 10)), (byte)' ']);
        }

        for (int w = 0; w < message.Length; w++)
        {
            n += AppendWord(line, n, message[w]);
            n += Append(line, n, w == 0 ? ": "u8 : " "u8);
        }

        int words = rng.NextInt(5);
        for (int w = 0; w < words && n < line.Length; w++)
        {
            int roll = rng.NextInt(8);
            if (roll == 0)
            {
                n += WriteNumber(line.Slice(n), ref rng);
            }
            else
            {
                n += AppendWord(line, n, WordIndex(ref rng));
            }

            n += Append(line, n, roll == 1 ? "="u8 : roll == 2 ? ", "u8 : " "u8);
        }

        n += Append(line, n, "\n"u8);
        return n;
    }

    private int AppendWord(Span<byte> destination, int at, int word)
        => Append(destination, at, _vocabulary.AsSpan(word * MaxWordLength, _wordLengths[word]));

    // Copies as much of text as fits; returns the bytes written.
    private static int Append(Span<byte> destination, int at, ReadOnlySpan<byte> text)
    {
        if (at >= destination.Length)
        {
            return 0;
        }

        int length = Math.Min(text.Length, destination.Length - at);
        text.Slice(0, length).CopyTo(destination.Slice(at));
        return length;
    }

    private void FillHeap(Span<byte> page, ref SplitMix64 rng)
    {
        // An array of records of one layout per page; each 8-byte field has a role chosen once for the page.
        int fields = 2 + rng.NextInt(7);
        Span<byte> roles = stackalloc byte[8];
        for (int f = 0; f < fields; f++)
        {
            roles[f] = (byte)rng.NextInt(6);
        }

        int recordSize = fields * 8;
        ulong counter = (ulong)rng.NextInt(100_000);
        for (int offset = 0; offset + 8 <= PageSize; offset += 8)
        {
            int field = (offset % recordSize) / 8;
            ulong value = roles[field] switch
            {
                0 => HeapPointer(ref rng),                               // pointer
                1 => counter++,                                         // index or id, increasing
                2 => (ulong)rng.NextInt(1000),                          // small integer
                3 => (ulong)(1u << rng.NextInt(4)) | 0x1_0000_0000UL,   // flags and a type tag
                4 => rng.NextInt(4) == 0 ? HeapPointer(ref rng) : 0,    // mostly-null pointer
                _ => 0,                                                 // padding, zeroed by calloc
            };
            BinaryPrimitives.WriteUInt64LittleEndian(page.Slice(offset), value);
        }

        // A few short strings inside the records (names, keys).
        int strings = rng.NextInt(4);
        for (int s = 0; s < strings; s++)
        {
            int at = rng.NextInt(PageSize - 64) & ~7;
            WriteWord(page.Slice(at, 16), ref rng);
        }
    }

    private void FillCode(Span<byte> page, ref SplitMix64 rng)
    {
        // A stream of instructions: templates chosen with a Zipf-like skew (a few idioms dominate real code), a third of
        // them with a fresh displacement byte or a fresh 32-bit target; functions end in a return and alignment padding.
        int position = 0;
        while (position < PageSize)
        {
            Span<byte> rest = page.Slice(position);
            if (rng.NextInt(32) == 0)
            {
                int n = 0;
                rest[n++] = 0xC3;
                while (n < rest.Length && ((position + n) & 15) != 0)
                {
                    rest[n++] = 0xCC;
                }

                position += n;
                continue;
            }

            int template = ZipfIndex(ref rng, CodeTemplates);
            int length = Math.Min(_codeLengths[template], rest.Length);
            _codeTemplates.AsSpan(template * MaxCodeLength, length).CopyTo(rest);
            int operand = rng.NextInt(8);
            if (operand == 0 && length >= 2)
            {
                rest[length - 1] = (byte)rng.Next();
            }
            else if (operand == 1 && length >= 5)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(rest.Slice(length - 4), (uint)rng.Next());
            }

            position += length;
        }
    }

    private void FillSparse(Span<byte> page, ref SplitMix64 rng)
    {
        page.Clear();
        int entries = 1 + rng.NextInt(48);
        for (int e = 0; e < entries; e++)
        {
            int slot = rng.NextInt(PageSize / 8);
            ulong value = (rng.Next() & 1) == 0 ? HeapPointer(ref rng) : ((rng.Next() & 0xF_FFFF_F000UL) | 0x67);
            BinaryPrimitives.WriteUInt64LittleEndian(page.Slice(slot * 8), value);
        }
    }

    private static int WriteNumber(Span<byte> destination, ref SplitMix64 rng)
    {
        ulong value = rng.Next() % 100_000;
        int n = 0;
        Span<byte> digits = stackalloc byte[8];
        do
        {
            digits[n++] = (byte)('0' + (int)(value % 10));
            value /= 10;
        }
        while (value != 0);

        int length = Math.Min(n, destination.Length);
        for (int i = 0; i < length; i++)
        {
            destination[i] = digits[n - 1 - i];
        }

        return length;
    }

    // A Zipf-like index in [0, count): floor(count * u^3) puts about half the draws on the first 12.5 % of indices.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ZipfIndex(ref SplitMix64 rng, int count)
    {
        double u = rng.NextDouble();
        return (int)(count * u * u * u);
    }

    // Steeper still, for words: floor(count * u^5).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int WordIndex(ref SplitMix64 rng)
    {
        double u = rng.NextDouble();
        double u2 = u * u;
        return (int)(VocabularySize * u2 * u2 * u);
    }

    private static (byte[] Templates, byte[] Lengths) BuildCodeTemplates(ref SplitMix64 rng)
    {
        // Instruction-like strings: optional prefix, an opcode from a skewed set, a ModRM-like byte, then 0, 1 or 4
        // operand bytes, small and zero-extended more often than not.
        byte[] templates = new byte[CodeTemplates * MaxCodeLength];
        byte[] lengths = new byte[CodeTemplates];
        for (int t = 0; t < CodeTemplates; t++)
        {
            Span<byte> code = templates.AsSpan(t * MaxCodeLength, MaxCodeLength);
            int n = 0;
            if ((rng.Next() & 1) == 0)
            {
                code[n++] = 0x48;
            }

            code[n++] = (byte)(0x80 + (ZipfIndex(ref rng, 48) * 2));
            code[n++] = (byte)(0xC0 | (rng.NextInt(8) << 3) | rng.NextInt(8));
            int operand = rng.NextInt(4);
            if (operand == 1)
            {
                code[n++] = (byte)(rng.NextInt(32) * 8);
            }
            else if (operand >= 2 && n + 4 <= MaxCodeLength)
            {
                code[n++] = (byte)rng.Next();
                code[n++] = (byte)rng.NextInt(16);
                code[n++] = 0;
                code[n++] = 0;
            }

            lengths[t] = (byte)n;
        }

        return (templates, lengths);
    }

    private static (byte[] Words, byte[] Lengths) BuildVocabulary(ref SplitMix64 rng)
    {
        // Pronounceable pseudo-words from consonant-vowel syllables; short words are the most frequent ones (low indices).
        ReadOnlySpan<byte> consonants = "bcdfghklmnprstvwz"u8;
        ReadOnlySpan<byte> vowels = "aeiou"u8;
        byte[] words = new byte[VocabularySize * MaxWordLength];
        byte[] lengths = new byte[VocabularySize];
        for (int w = 0; w < VocabularySize; w++)
        {
            int syllables = 1 + (w < 64 ? rng.NextInt(2) : w < 1024 ? 1 + rng.NextInt(2) : 2 + rng.NextInt(3));
            int length = 0;
            Span<byte> word = words.AsSpan(w * MaxWordLength, MaxWordLength);
            for (int s = 0; s < syllables && length + 2 <= MaxWordLength; s++)
            {
                word[length++] = consonants[rng.NextInt(consonants.Length)];
                word[length++] = vowels[rng.NextInt(vowels.Length)];
            }

            if (length < MaxWordLength && (rng.Next() & 1) == 0)
            {
                word[length++] = consonants[rng.NextInt(consonants.Length)];
            }

            lengths[w] = (byte)length;
        }

        return (words, lengths);
    }
}
