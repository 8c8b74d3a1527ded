using System.Buffers.Binary;
using System.Text;
using Engine.Memory;

namespace Engine.Synthetic;

/// <summary>
/// Deterministic built-in page content for comparing methods and levels and for benchmarks: the same kind, page and seed give
/// the same bytes on every machine. Each kind is built to compress about as real guest memory of that kind does (text about
/// 3x with zlib level 1, ELF-like binary about 2x, sparse pages very well, random pages not at all), so ratios and speeds
/// measured on a mix mean something.
/// </summary>
public static class PageMix
{
    /// <summary>The kinds <see cref="Fill"/> makes.</summary>
    public static IReadOnlyList<PageKind> Kinds { get; } = [PageKind.Zero, PageKind.Text, PageKind.Binary, PageKind.Sparse, PageKind.Random];

    /// <summary>
    /// The order of kinds <see cref="CreateMix"/> cycles through: a guest that has run a while, with a quarter of its pages
    /// zero, much code and data, some text and sparse heap, and a little incompressible data.
    /// </summary>
    private static readonly PageKind[] s_rotation =
    [
        PageKind.Binary, PageKind.Zero, PageKind.Text, PageKind.Binary,
        PageKind.Sparse, PageKind.Zero, PageKind.Binary, PageKind.Text,
        PageKind.Random, PageKind.Binary, PageKind.Zero, PageKind.Sparse,
        PageKind.Text, PageKind.Binary, PageKind.Zero, PageKind.Random,
    ];

    private static readonly string[] s_words =
    [
        "the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "with", "on", "be", "by", "this", "are", "or",
        "from", "at", "an", "not", "was", "which", "can", "all", "if", "has", "when", "will", "each", "page", "memory", "guest",
        "host", "migration", "thread", "stream", "block", "device", "request", "queue", "buffer", "timer", "socket", "client",
        "server", "session", "config", "value", "error", "state", "start", "stop", "ready", "update", "write", "read", "file",
        "process", "kernel", "module", "driver", "network", "packet", "address", "interface", "service", "handler", "event",
        "worker", "cache", "index", "table", "record", "field", "option", "default", "version", "status", "result", "number",
        "during", "after", "before", "between", "without", "because", "while", "should", "would", "could", "first", "other",
        "system", "dirty", "bitmap", "compressed", "transfer", "bandwidth", "downtime", "pending", "complete", "failed",
        "retry", "timeout", "connection", "allocated", "released", "mapped", "region", "offset", "length", "checksum",
    ];

    private static readonly string[] s_levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR", "NOTICE"];

    private static readonly string[] s_services = ["kernel", "systemd", "sshd", "nginx", "postgres", "qemu-kvm", "cron", "dockerd"];

    private static readonly string[] s_symbols =
    [
        "__libc_start_main", "memcpy", "memset", "malloc", "free", "pthread_mutex_lock", "pthread_mutex_unlock", "strlen",
        "__stack_chk_fail", "_ZNSt6vectorIiSaIiEE9push_backEOi", "_ZN4core3fmt9Formatter3pad17h", "g_hash_table_insert",
        "deflate", "inflate", "ZSTD_compress2", "epoll_wait", "clock_gettime", "GLIBC_2.2.5", "GLIBC_2.34", ".text", ".data",
        ".bss", ".rodata", ".eh_frame", ".dynsym", ".dynstr", ".rela.plt", ".init_array", "_ITM_deregisterTMCloneTable",
    ];

    /// <summary>The kind of the page at <paramref name="index"/> in a <see cref="CreateMix"/> mix.</summary>
    public static PageKind KindAt(int index) => s_rotation[(uint)index % (uint)s_rotation.Length];

    /// <summary>
    /// <paramref name="pages"/> pages (4096 bytes each, back to back) of the rotation <see cref="KindAt"/> describes,
    /// page <c>i</c> filled with its own seed derived from <paramref name="seed"/> and <c>i</c>.
    /// </summary>
    public static byte[] CreateMix(int pages, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pages);
        byte[] memory = new byte[checked(pages * PageSizes.PageSize)];
        for (int i = 0; i < pages; i++)
        {
            Span<byte> page = memory.AsSpan(i * PageSizes.PageSize, PageSizes.PageSize);
            Fill(KindAt(i), page, Mix(seed + (ulong)i));
        }

        return memory;
    }

    /// <summary>Fills one page (exactly 4096 bytes) with content of <paramref name="kind"/>, deterministically from <paramref name="seed"/>.</summary>
    public static void Fill(PageKind kind, Span<byte> page, ulong seed)
    {
        if (page.Length != PageSizes.PageSize)
        {
            throw new ArgumentException($"A page is exactly {PageSizes.PageSize} bytes; this one is {page.Length} bytes.", nameof(page));
        }

        var random = new Random64(seed);
        switch (kind)
        {
            case PageKind.Zero:
                page.Clear();
                break;
            case PageKind.Text:
                FillText(ref random, page);
                break;
            case PageKind.Binary:
                FillBinary(ref random, page);
                break;
            case PageKind.Sparse:
                FillSparse(ref random, page);
                break;
            case PageKind.Random:
                FillRandom(ref random, page);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "PageMix makes zero, text, binary, sparse and random pages; heap and code pages are SyntheticContent's");
        }
    }

    private static void FillText(ref Random64 random, Span<byte> page)
    {
        var writer = new PageWriter(page);
        int style = random.Next(3);
        int second = random.Next(86400);
        int pid = 300 + random.Next(30000);

        // Logs repeat a handful of messages with different numbers; a page of log draws on a few of its own.
        const int Messages = 6;
        ulong messageSeed = random.NextUInt64();
        while (!writer.IsFull)
        {
            switch (style)
            {
                case 0:
                    second += random.Next(4);
                    writer.Append($"2024-03-{1 + (second / 86400 % 28):D2} {second / 3600 % 24:D2}:{second / 60 % 60:D2}:{second % 60:D2}.{random.Next(1000):D3} ");
                    int message = random.Next(Messages);
                    writer.Append($"{s_levels[message % s_levels.Length]} {s_services[message % s_services.Length]}[{pid + message}]: ");
                    var words = new Random64(messageSeed + (ulong)message);
                    AppendWords(ref words, ref writer, 4 + words.Next(9), capitalize: false);
                    writer.Append(random.Next(2) == 0 ? $" ({random.Next(5000)} ms)\n" : "\n");
                    break;
                case 1:
                    // Configuration: key = value.
                    writer.Append(Word(ref random));
                    writer.Append("_");
                    writer.Append(Word(ref random));
                    writer.Append(random.Next(3) == 0 ? $" = {random.Next(100000)}\n" : $" = \"{Word(ref random)}-{Word(ref random)}\"\n");
                    break;
                default:
                    // Prose: sentences in paragraphs.
                    AppendWords(ref random, ref writer, 6 + random.Next(14), capitalize: true);
                    writer.Append(random.Next(6) == 0 ? ".\n\n" : ". ");
                    break;
            }
        }
    }

    private static void AppendWords(ref Random64 random, ref PageWriter writer, int count, bool capitalize)
    {
        for (int i = 0; i < count; i++)
        {
            string word = Word(ref random);
            if (i == 0 && capitalize)
            {
                writer.Append(char.ToUpperInvariant(word[0]).ToString());
                writer.Append(word.AsSpan(1));
            }
            else
            {
                writer.Append(word);
            }

            if (i + 1 < count)
            {
                writer.Append(random.Next(12) == 0 ? ", " : " ");
            }
        }
    }

    private static string Word(ref Random64 random)
    {
        // Cubing a uniform number skews the choice to the front of the list, as word frequencies are skewed.
        double u = random.NextDouble();
        return s_words[(int)(u * u * u * s_words.Length)];
    }

    private static void FillBinary(ref Random64 random, Span<byte> page)
    {
        page.Clear();
        int position = 0;
        if (random.Next(4) == 0)
        {
            position = WriteElfHeaders(ref random, page);
        }

        ulong pointerBase = 0x0000_7F00_0000_0000UL | ((random.NextUInt64() & 0xFF_FFFF) << 16);
        while (position < page.Length)
        {
            int chunk = Math.Min(page.Length - position, 256 + random.Next(768));
            Span<byte> target = page.Slice(position, chunk);
            int roll = random.Next(100);
            if (roll < 62)
            {
                WriteCode(ref random, target);
            }
            else if (roll < 76)
            {
                WritePointers(ref random, target, pointerBase);
            }
            else if (roll < 88)
            {
                WriteSmallIntegers(ref random, target);
            }
            else
            {
                WriteSymbols(ref random, target);
            }

            position += chunk;
        }
    }

    private static int WriteElfHeaders(ref Random64 random, Span<byte> page)
    {
        const int ElfHeaderSize = 64;
        const int ProgramHeaderSize = 56;
        int programHeaders = 8 + random.Next(6);

        // e_ident: magic, 64-bit, little-endian, version 1, System V ABI.
        "\x7F"u8.CopyTo(page);
        "ELF"u8.CopyTo(page[1..]);
        page[4] = 2;
        page[5] = 1;
        page[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(page[16..], 3);          // e_type: ET_DYN
        BinaryPrimitives.WriteUInt16LittleEndian(page[18..], 0x3E);       // e_machine: x86-64
        BinaryPrimitives.WriteUInt32LittleEndian(page[20..], 1);          // e_version
        BinaryPrimitives.WriteUInt64LittleEndian(page[24..], 0x1000UL + (ulong)(random.Next(0x4000) & ~0xF)); // e_entry
        BinaryPrimitives.WriteUInt64LittleEndian(page[32..], ElfHeaderSize); // e_phoff
        BinaryPrimitives.WriteUInt64LittleEndian(page[40..], (ulong)(0x10000 + random.Next(0x40000))); // e_shoff
        BinaryPrimitives.WriteUInt16LittleEndian(page[52..], ElfHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(page[54..], ProgramHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(page[56..], (ushort)programHeaders);
        BinaryPrimitives.WriteUInt16LittleEndian(page[58..], 64);
        BinaryPrimitives.WriteUInt16LittleEndian(page[60..], (ushort)(26 + random.Next(8)));
        BinaryPrimitives.WriteUInt16LittleEndian(page[62..], (ushort)(25 + random.Next(8)));

        ulong offset = 0;
        for (int i = 0; i < programHeaders; i++)
        {
            Span<byte> header = page.Slice(ElfHeaderSize + (i * ProgramHeaderSize), ProgramHeaderSize);
            ulong size = (ulong)(0x200 + random.Next(0x8000));
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)(i < 2 ? 6 - (i * 3) : 1 + random.Next(4))); // p_type
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)(4 + random.Next(3)));                   // p_flags
            BinaryPrimitives.WriteUInt64LittleEndian(header[8..], offset);                                       // p_offset
            BinaryPrimitives.WriteUInt64LittleEndian(header[16..], offset);                                      // p_vaddr
            BinaryPrimitives.WriteUInt64LittleEndian(header[24..], offset);                                      // p_paddr
            BinaryPrimitives.WriteUInt64LittleEndian(header[32..], size);                                        // p_filesz
            BinaryPrimitives.WriteUInt64LittleEndian(header[40..], size);                                        // p_memsz
            BinaryPrimitives.WriteUInt64LittleEndian(header[48..], 0x1000);                                      // p_align
            offset += (size + 0xFFF) & ~0xFFFUL;
        }

        return ElfHeaderSize + (programHeaders * ProgramHeaderSize);
    }

    private static void WriteCode(ref Random64 random, Span<byte> target)
    {
        const int IdiomPercent = 20;
        const int IdiomMinLength = 6;
        const int IdiomMaxLength = 20;

        var writer = new PageWriter(target);
        while (!writer.IsFull)
        {
            // Prologue, a body of common instruction shapes, epilogue, then padding to 16 bytes as compilers align functions.
            writer.Append(random.Next(2) == 0 ? [0x55, 0x48, 0x89, 0xE5] : [0x41, 0x57, 0x41, 0x56, 0x53]);
            writer.Append([0x48, 0x83, 0xEC, (byte)(8 * (1 + random.Next(8)))]);
            int instructions = 6 + random.Next(30);
            for (int i = 0; i < instructions && !writer.IsFull; i++)
            {
                if (writer.Position > IdiomMaxLength && random.Next(100) < IdiomPercent)
                {
                    // Compilers emit the same idioms over and over: repeat a run of earlier code.
                    int length = IdiomMinLength + random.Next(IdiomMaxLength - IdiomMinLength);
                    int from = random.Next(writer.Position - length);
                    writer.AppendEarlier(from, length);
                }
                else
                {
                    WriteInstruction(ref random, ref writer);
                }
            }

            writer.Append(random.Next(2) == 0 ? [0xC9, 0xC3] : [0x5B, 0x41, 0x5E, 0x41, 0x5F, 0xC3]);
            while (!writer.IsFull && writer.Position % 16 != 0)
            {
                writer.Append([0xCC]);
            }
        }
    }

    private static void WriteInstruction(ref Random64 random, ref PageWriter writer)
    {
        int reg = Register(ref random);
        int other = Register(ref random);
        switch (random.Next(16))
        {
            case 0:
                writer.Append([0x48, 0x89, (byte)(0xC0 | (other << 3) | reg)]);                                  // mov r64, r64
                break;
            case 1:
                writer.Append([0x48, 0x89, (byte)(0x45 | (reg << 3)), (byte)(-8 * (1 + random.Next(6)))]);       // mov [rbp-d], r
                break;
            case 2:
                writer.Append([0x48, 0x8B, (byte)(0x45 | (reg << 3)), (byte)(-8 * (1 + random.Next(6)))]);       // mov r, [rbp-d]
                break;
            case 3:
                writer.Append([0xE8, (byte)(random.Next(16) << 4), (byte)(0xF0 + random.Next(16)), 0xFF, 0xFF]);    // call rel32 (PLT)
                break;
            case 4:
                writer.Append([0x48, 0x8D, (byte)(0x05 | (reg << 3)), (byte)random.Next(256), (byte)random.Next(32), 0x00, 0x00]); // lea r, [rip+d]
                break;
            case 5:
                writer.Append([(byte)(0xB8 + reg), (byte)random.Next(64), 0x00, 0x00, 0x00]);                   // mov r32, imm32
                break;
            case 6:
                writer.Append([0x83, (byte)(0xF8 | reg), (byte)random.Next(16)]);                                 // cmp r32, imm8
                break;
            case 7:
                writer.Append([(byte)(0x74 + random.Next(12)), (byte)(2 + random.Next(60))]);                    // jcc rel8
                break;
            case 8:
                writer.Append([0x31, (byte)(0xC0 | (reg << 3) | reg)]);                                           // xor r32, r32
                break;
            case 9:
                writer.Append([0x48, 0x85, (byte)(0xC0 | (reg << 3) | reg)]);                                     // test r64, r64
                break;
            case 10:
                writer.Append([0x0F, 0xB6, (byte)(0x40 | (reg << 3) | other), (byte)random.Next(64)]);            // movzx r32, byte [r+d]
                break;
            case 11:
                writer.Append([0x0F, (byte)(0x84 + random.Next(2)), (byte)random.Next(256), (byte)random.Next(4), 0x00, 0x00]); // jcc rel32
                break;
            case 12:
                writer.Append([0x48, 0xC7, 0x44, 0x24, (byte)(8 * random.Next(8)), (byte)random.Next(16), 0x00, 0x00, 0x00]);  // mov [rsp+d], imm
                break;
            case 13:
                writer.Append([0x48, 0x8B, (byte)(0x40 | (reg << 3) | other), (byte)(8 * random.Next(8))]);      // mov r, [r+d]
                break;
            case 14:
                writer.Append([(byte)(0x50 + reg)]);                                                              // push r
                break;
            default:
                writer.Append([0x48, 0x83, (byte)(0xC0 | reg), (byte)(1 + random.Next(32))]);                     // add r, imm8
                break;
        }
    }

    private static int Register(ref Random64 random)
    {
        // rax, rdi, rsi, rdx and rbx dominate compiled code.
        int roll = random.Next(10);
        return roll switch
        {
            < 3 => 0,
            < 5 => 7,
            < 7 => 6,
            < 8 => 2,
            < 9 => 3,
            _ => 1,
        };
    }

    private static void WritePointers(ref Random64 random, Span<byte> target, ulong pointerBase)
    {
        // Vtables, GOT entries, arrays of objects: mostly ascending pointers into one region, 8-byte aligned, some null.
        ulong next = pointerBase + ((ulong)random.Next(1 << 16) << 4);
        for (int i = 0; i + 8 <= target.Length; i += 8)
        {
            next += (ulong)(8 * (1 + random.Next(64)));
            ulong value = random.Next(6) == 0 ? 0 : random.Next(4) == 0 ? pointerBase + ((ulong)random.Next(1 << 20) << 3) : next;
            BinaryPrimitives.WriteUInt64LittleEndian(target[i..], value);
        }
    }

    private static void WriteSmallIntegers(ref Random64 random, Span<byte> target)
    {
        // Counters, flags, sizes, enum values: small 32-bit integers, mostly under 256.
        for (int i = 0; i + 4 <= target.Length; i += 4)
        {
            int roll = random.Next(10);
            uint value = roll < 3 ? 0 : roll < 8 ? (uint)random.Next(256) : (uint)random.Next(100000);
            BinaryPrimitives.WriteUInt32LittleEndian(target[i..], value);
        }
    }

    private static void WriteSymbols(ref Random64 random, Span<byte> target)
    {
        var writer = new PageWriter(target);
        while (!writer.IsFull)
        {
            writer.Append(s_symbols[random.Next(s_symbols.Length)]);
            writer.Append([0]);
        }
    }

    private static void FillSparse(ref Random64 random, Span<byte> page)
    {
        page.Clear();
        int values = 4 + random.Next(24);
        for (int i = 0; i < values; i++)
        {
            int offset = random.Next(page.Length / 8) * 8;
            ulong value = random.Next(3) switch
            {
                0 => (ulong)random.Next(1 << 16),
                1 => 0x0000_7F00_0000_0000UL | (random.NextUInt64() & 0xFF_FFFF_FFF8),
                _ => random.NextUInt64(),
            };
            BinaryPrimitives.WriteUInt64LittleEndian(page[offset..], value);
        }
    }

    private static void FillRandom(ref Random64 random, Span<byte> page)
    {
        for (int i = 0; i < page.Length; i += 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(page[i..], random.NextUInt64());
        }
    }

    private static ulong Mix(ulong value)
    {
        // SplitMix64's finalizer: neighbouring page indexes get unrelated seeds.
        value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9UL;
        value = (value ^ (value >> 27)) * 0x94D049BB133111EBUL;
        return value ^ (value >> 31);
    }

    /// <summary>SplitMix64: small, fast, and the same on every platform and runtime (unlike <see cref="System.Random"/>).</summary>
    private struct Random64(ulong seed)
    {
        private ulong _state = seed;

        public ulong NextUInt64()
        {
            _state += 0x9E3779B97F4A7C15UL;
            return Mix(_state);
        }

        public int Next(int exclusiveMax) => (int)((NextUInt64() >> 32) * (ulong)exclusiveMax >> 32);

        public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Appends bytes to a page until it is full; the last piece is cut at the page's end.</summary>
    private ref struct PageWriter(Span<byte> target)
    {
        private readonly Span<byte> _target = target;

        public int Position { get; private set; }

        public readonly bool IsFull => Position >= _target.Length;

        public void Append(scoped ReadOnlySpan<byte> bytes)
        {
            int count = Math.Min(bytes.Length, _target.Length - Position);
            bytes[..count].CopyTo(_target[Position..]);
            Position += count;
        }

        public void AppendEarlier(int from, int length)
        {
            int count = Math.Min(length, _target.Length - Position);
            _target.Slice(from, count).CopyTo(_target[Position..]);
            Position += count;
        }

        public void Append(scoped ReadOnlySpan<char> text)
        {
            Span<byte> encoded = stackalloc byte[256];
            while (!text.IsEmpty && !IsFull)
            {
                int chars = Math.Min(text.Length, encoded.Length);
                int bytes = Encoding.ASCII.GetBytes(text[..chars], encoded);
                Append(encoded[..bytes]);
                text = text[chars..];
            }
        }
    }
}
