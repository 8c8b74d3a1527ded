using System.Globalization;
using System.Runtime.CompilerServices;

namespace Engine.Memory;

/// <summary>
/// One RAM block of guest memory (QEMU's <c>RAMBlock</c>): a name and a page-aligned run of native memory whose size is
/// a whole number of 4 KiB pages. The block either owns its memory (<see cref="RamBlock(string, long)"/>, or a mapped
/// image) or points at memory its host owns (<see cref="Wrap"/>).
/// </summary>
/// <remarks>
/// Any number of threads may read and write pages concurrently (a guest does); the engines copy a page before they
/// compress it. <see cref="Dispose"/> must not race with any other use: dispose the engines that were handed pages of
/// this block first.
/// </remarks>
public sealed unsafe class RamBlock : IDisposable
{
    /// <summary>The longest name, in bytes: the wire format writes the length in one byte.</summary>
    public const int MaxNameLength = 255;

    private readonly PageMemoryHandle? _memory;
    private readonly byte* _base;
    private readonly bool _allocatedZeroed;
    private WrittenPages? _written;
    private HugeRegions? _regions;
    private int _disposed;

    /// <summary>Allocates a zeroed block of <paramref name="size"/> bytes named <paramref name="name"/>.</summary>
    /// <param name="name">1 to 255 printable ASCII characters (QEMU's <c>idstr</c>, for example <c>pc.ram</c>).</param>
    /// <param name="size">A positive multiple of 4096.</param>
    public RamBlock(string name, long size)
        : this(name, size, hugePages: true)
    {
    }

    /// <summary>As <see cref="RamBlock(string, long)"/>; <paramref name="hugePages"/> false for memory that needs no 2 MiB pages (see <see cref="PageMemoryHandle.AllocateZeroed"/>).</summary>
    internal RamBlock(string name, long size, bool hugePages)
        : this(name, size, hugePages, validate: true)
    {
    }

    private RamBlock(string name, long size, bool hugePages, bool validate)
    {
        if (validate)
        {
            ValidateName(name);
            ValidateSize(size);
        }

        _memory = PageMemoryHandle.AllocateZeroed((nuint)((size + PageSizes.PageSize - 1) & ~(long)(PageSizes.PageSize - 1)), hugePages);
        _base = _memory.Pointer;
        _allocatedZeroed = true;
        Name = name;
        Size = size;
    }

    private RamBlock(string name, long size, byte* memory, PageMemoryHandle? owner)
    {
        _memory = owner;
        _base = memory;
        Name = name;
        Size = size;
    }

    /// <summary>
    /// A zeroed block that receives pages (a destination's, <see cref="GuestMemory.AddReceivingBlock"/>): in 2 MiB pages
    /// populated by region on first write (<see cref="PopulateByRegion"/>), with a bit per written page
    /// (<see cref="TrackWrites"/>).
    /// </summary>
    internal static RamBlock AllocateReceiving(string name, long size) => Receiving(new RamBlock(name, size, hugePages: true));

    /// <summary>
    /// As <see cref="AllocateReceiving"/>, for one of <c>extract</c>'s images: the name and size are the stream's as read (a
    /// stream's block need not be a valid <see cref="RamBlock(string, long)"/> name; the size is positive, its memory
    /// rounded up to whole pages).
    /// </summary>
    internal static RamBlock AllocateImage(string name, long size)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        return Receiving(new RamBlock(name, size, hugePages: true, validate: false));
    }

    private static RamBlock Receiving(RamBlock block)
    {
        block.TrackWrites();
        block.PopulateByRegion();
        return block;
    }

    /// <summary>
    /// A block over <paramref name="size"/> bytes of memory the caller owns, at <paramref name="memory"/> (a VMM's guest
    /// RAM). The block never frees it; the caller keeps it valid until the block, and every engine or migration that was
    /// handed the block, has been disposed.
    /// </summary>
    /// <param name="name">1 to 255 printable ASCII characters (QEMU's <c>idstr</c>).</param>
    /// <param name="memory">The first byte; 4096-byte alignment is not required but is faster.</param>
    /// <param name="size">A positive multiple of 4096.</param>
    /// <exception cref="ArgumentException">The name, pointer or size is not accepted.</exception>
    public static RamBlock Wrap(string name, byte* memory, long size)
    {
        ValidateName(name);
        ValidateSize(size);
        if (memory == null)
        {
            throw new ArgumentNullException(nameof(memory), "a RAM block needs memory");
        }

        return new RamBlock(name, size, memory, owner: null);
    }

    /// <summary>
    /// A block holding the raw memory image <paramref name="path"/> (a partial last page reads as zeros), mapped
    /// copy-on-write where the platform allows: writes to the block never reach the file.
    /// </summary>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    /// <exception cref="InvalidDataException">The file is empty.</exception>
    public static RamBlock MapImage(string name, string path)
    {
        ValidateName(name);
        using Microsoft.Win32.SafeHandles.SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = RandomAccess.GetLength(file);
        if (length == 0)
        {
            throw new InvalidDataException($"{path} is empty: no guest memory to migrate");
        }

        long size = (length + PageSizes.PageSize - 1) & ~(long)(PageSizes.PageSize - 1);
        PageMemoryHandle memory = PageMemoryHandle.MapImage(file, length, (nuint)size);
        return new RamBlock(name, size, memory.Pointer, memory);
    }

    /// <summary>A block over memory that <paramref name="owner"/> holds (freed with the block), or none (null owner).</summary>
    internal static RamBlock Over(string name, long size, byte* memory, PageMemoryHandle? owner) => new(name, size, memory, owner);

    /// <summary>True when the block frees its memory on <see cref="Dispose"/>; false for a <see cref="Wrap"/>ped block.</summary>
    public bool OwnsMemory => _memory is not null;

    /// <summary>The block's name (QEMU's <c>idstr</c>).</summary>
    public string Name { get; }

    /// <summary>The size in bytes (QEMU's <c>used_length</c>), a multiple of 4096.</summary>
    public long Size { get; }

    /// <summary>The number of 4 KiB pages.</summary>
    public long PageCount => Size >> PageSizes.PageShift;

    /// <summary>
    /// The destination's bit per written page (<see cref="TrackWrites"/>), or null: a block whose writers keep no such
    /// record (a source, a wrapped VMM's memory, an image), where a zero page is told by reading it.
    /// </summary>
    internal WrittenPages? Written => _written;

    /// <summary>
    /// Starts keeping a bit per written page (<see cref="Written"/>): a destination's fresh block, before any page is written,
    /// so that its writers (<see cref="MarkWritten(long)"/>, <see cref="MakeZero"/>) never read memory that was never written.
    /// Only for a block allocated here (zero until written); idempotent.
    /// </summary>
    /// <exception cref="InvalidOperationException">The block's memory was mapped or wrapped: its untouched pages need not be zero.</exception>
    internal void TrackWrites()
    {
        if (!_allocatedZeroed)
        {
            throw new InvalidOperationException($"RAM block '{Name}' was not allocated zeroed: its written pages cannot be tracked");
        }

        _written ??= new WrittenPages(PageCount);
    }

    /// <summary>
    /// With <see cref="TrackWrites"/> on, marks the page at <paramref name="offset"/> (a checked page offset) written, and
    /// with <see cref="PopulateByRegion"/> on, first makes sure its 2 MiB region is populated; else nothing. Called before
    /// the page is written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void MarkWritten(long offset)
    {
        _regions?.Prepare(offset);
        _written?.Mark(offset >> PageSizes.PageShift);
    }

    /// <summary>As <see cref="MarkWritten(long)"/> for the <paramref name="pages"/> pages from the page offset <paramref name="offset"/>.</summary>
    internal void MarkWritten(long offset, long pages)
    {
        _regions?.Prepare(offset, pages << PageSizes.PageShift);
        _written?.Mark(offset >> PageSizes.PageShift, pages);
    }

    /// <summary>The 2 MiB regions populated on first write (<see cref="PopulateByRegion"/>), or null.</summary>
    internal HugeRegions? Regions => _regions;

    /// <summary>
    /// Populates each 2 MiB region of the block once, in one call, before the first page in it is written
    /// (<see cref="HugeRegions"/>): for a destination's block allocated in 2 MiB pages, whose writers all call
    /// <see cref="MarkWritten(long)"/> before writing. Only for a block allocated here, 2 MiB aligned; nothing on a
    /// block shorter than 2 MiB or off Linux. Idempotent; before any page is written.
    /// </summary>
    internal void PopulateByRegion()
    {
        if (!_allocatedZeroed)
        {
            throw new InvalidOperationException($"RAM block '{Name}' was not allocated here: its regions cannot be populated on first write");
        }

        if (OperatingSystem.IsLinux() && Size >= 1L << HugeRegions.RegionShift && ((nuint)_base & ((1u << HugeRegions.RegionShift) - 1)) == 0)
        {
            _regions ??= new HugeRegions(_base, Size);
        }
    }

    /// <summary>
    /// Makes the page at <paramref name="offset"/> all zero (a zero page): with <see cref="TrackWrites"/> on, only a page
    /// marked written is touched (and unmarked); otherwise the page is read, and written only if it is not zero already.
    /// </summary>
    internal void MakeZero(long offset)
    {
        var page = new Span<byte>(GetPagePointer(offset), PageSizes.PageSize);
        if (_written is null ? !ZeroPage.IsZero(page) : _written.TryClear(offset >> PageSizes.PageShift))
        {
            page.Clear();
        }
    }

    /// <summary>True once <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The 4096 bytes of the page at <paramref name="offset"/> (page aligned, inside the block).</summary>
    public Span<byte> GetPage(long offset) => new(GetPagePointer(offset), PageSizes.PageSize);

    /// <summary><paramref name="length"/> bytes from <paramref name="offset"/>; both must lie inside the block.</summary>
    public Span<byte> GetSpan(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if ((ulong)offset > (ulong)Size || (ulong)length > (ulong)(Size - offset))
        {
            throw new ArgumentOutOfRangeException(
                nameof(offset), offset, string.Create(CultureInfo.InvariantCulture, $"bytes {offset}..{offset + length} lie outside RAM block '{Name}' of {Size} bytes"));
        }

        return new Span<byte>(_base + offset, length);
    }

    /// <summary>True when <paramref name="offset"/> is the offset of a page of this block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsPageOffset(long offset) => (ulong)offset < (ulong)Size && (offset & (PageSizes.PageSize - 1)) == 0;

    /// <summary>The first byte of the page at <paramref name="offset"/>, bounds-checked. Valid until the block is disposed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte* GetPagePointer(long offset)
    {
        if (!IsPageOffset(offset) || IsDisposed)
        {
            ThrowBadPage(offset);
        }

        return _base + offset;
    }

    /// <summary>Frees the memory. Spans and pointers handed out before are invalid afterwards.</summary>
    public void Dispose()
    {
        // Mark first: a wrapped block has no handle whose state says it is gone.
        Volatile.Write(ref _disposed, 1);
        _memory?.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name} ({Size} bytes)");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBadPage(long offset)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        throw new ArgumentOutOfRangeException(
            nameof(offset), offset, string.Create(CultureInfo.InvariantCulture, $"0x{offset:x} is not the offset of a page of RAM block '{Name}' ({Size} bytes, pages of {PageSizes.PageSize})"));
    }

    private static void ValidateSize(long size)
    {
        if (size <= 0 || (size & (PageSizes.PageSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(size), size, string.Create(CultureInfo.InvariantCulture, $"a RAM block's size must be a positive multiple of {PageSizes.PageSize} bytes"));
        }
    }

    private static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > MaxNameLength)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"a RAM block's name must be 1 to {MaxNameLength} bytes; '{name}' has {name.Length}"), nameof(name));
        }

        foreach (char c in name)
        {
            // Printable ASCII only: the name goes on the wire as bytes, and QEMU compares it as a C string.
            if (c is < ' ' or > '~')
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"a RAM block's name must be printable ASCII; '{name}' holds U+{(int)c:X4}"), nameof(name));
            }
        }
    }
}
