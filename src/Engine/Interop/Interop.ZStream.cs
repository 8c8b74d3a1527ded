using System.Runtime.InteropServices;

namespace Engine;

internal static partial class Interop
{
    /// <summary>
    /// zlib's <c>z_stream</c>, field for field as zlib.h declares it. <c>uLong</c> is <see cref="CULong"/> so the layout is
    /// right on LP64 (Linux, macOS: 8 bytes, sizeof 112) and LLP64 (Windows: 4 bytes). zlib keeps a pointer back to this
    /// struct in its internal state, so it lives in native memory (<see cref="ZlibStreamHandle"/>) and never moves.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct ZStream
    {
        public byte* next_in;
        public uint avail_in;
        public CULong total_in;

        public byte* next_out;
        public uint avail_out;
        public CULong total_out;

        public byte* msg;
        public void* state;

        public void* zalloc;
        public void* zfree;
        public void* opaque;

        public int data_type;
        public CULong adler;
        public CULong reserved;
    }
}
