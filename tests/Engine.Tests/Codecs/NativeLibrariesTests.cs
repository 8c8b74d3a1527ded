using System.Runtime.InteropServices;
using Engine.Codecs;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Codecs;

public sealed class NativeLibrariesTests
{
    [Fact]
    public void SelfCheckReadsBothVersions()
    {
        NativeLibraryVersions versions = NativeLibraries.SelfCheck();

        Assert.InRange(versions.ZstdNumber, NativeLibraries.MinZstdVersionNumber, 99_99_99u);
        uint number = versions.ZstdNumber;
        Assert.Equal($"{number / 10000}.{number / 100 % 100}.{number % 100}", versions.Zstd);
        Assert.StartsWith("1.", versions.Zlib, StringComparison.Ordinal);
        Assert.Contains("libzstd", versions.ZstdPath, StringComparison.Ordinal);
        Assert.Contains(versions.Zstd, versions.ToString(), StringComparison.Ordinal);
        Assert.Contains(versions.Zlib, versions.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void TheLibzstdLoadedIsTheOneZstdNetBundles()
    {
        // ZstdNet 1.5.7 ships libzstd 1.5.7; the system's libzstd1 (if any) is older. Same file for ZstdNet and for Engine.
        NativeLibraryVersions versions = NativeLibraries.SelfCheck();
        Assert.Equal("1.5.7", versions.Zstd);
        Assert.Equal(CompressionSettings.ZstdMaxLevel, ZstdNet.CompressionOptions.MaxCompressionLevel);
    }

    [Fact]
    public void AMissingLibraryNamesTheFileAndTheFix()
    {
        string[] candidates = ["/nonexistent/libz-engine-test.so.1", "libz-engine-test.so"];
        Assert.False(NativeLibraries.TryLoadFirst(candidates, out nint handle, out string? path));
        Assert.Equal(0, handle);
        Assert.Null(path);

        var loader = new DllNotFoundException("the loader's own reason");
        EngineException e = NativeLibraries.LoadFailure("zlib", candidates, "apt-get install zlib1g", loader);
        Assert.Equal(EngineErrorKind.Native, e.Kind);
        Assert.Null(e.StreamOffset);
        Assert.Same(loader, e.InnerException);
        Assert.Contains("/nonexistent/libz-engine-test.so.1", e.Message, StringComparison.Ordinal);
        Assert.Contains("libz-engine-test.so", e.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install zlib1g", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALibraryOfAVersionEngineDoesNotWorkWithIsANativeEngineException()
    {
        // Regression: the version checks threw NotSupportedException, so a host catching EngineException missed them and
        // EngineErrorKind.Native was never thrown.
        EngineException zstd = Assert.Throws<EngineException>(
            () => NativeLibraries.CheckVersions(10308, "1.3.8", "/opt/old/libzstd.so", "1.3.1", "libz.so.1"));
        Assert.Equal(EngineErrorKind.Native, zstd.Kind);
        Assert.Contains("/opt/old/libzstd.so", zstd.Message, StringComparison.Ordinal);
        Assert.Contains("1.4.0 or newer", zstd.Message, StringComparison.Ordinal);
        Assert.Contains("Fix:", zstd.Message, StringComparison.Ordinal);

        EngineException zlib = Assert.Throws<EngineException>(
            () => NativeLibraries.CheckVersions(10507, "1.5.7", "libzstd.so", "2.0.0", "/opt/new/libz.so.2"));
        Assert.Equal(EngineErrorKind.Native, zlib.Kind);
        Assert.Contains("/opt/new/libz.so.2", zlib.Message, StringComparison.Ordinal);
        Assert.Contains("Fix:", zlib.Message, StringComparison.Ordinal);

        NativeLibraries.CheckVersions(10507, "1.5.7", "libzstd.so", "1.3.1", "libz.so.1");
    }

    [Fact]
    public void AMissingLibraryReachesTheHostAsANativeEngineExceptionWithTheLoadersReason()
    {
        // What EnsureZlib/EnsureZstd throw when no candidate loads: the kind a host catches, the runtime loader's report inside.
        string[] candidates = ["/nonexistent/libzstd-engine-test.so"];
        Assert.False(NativeLibraries.TryLoadFirst(candidates, out _, out _));
        EngineException e = NativeLibraries.LoadFailure("libzstd", candidates, "restore ZstdNet", NativeLibraries.LoaderError(candidates[0]));
        Assert.Equal(EngineErrorKind.Native, e.Kind);
        Assert.IsType<DllNotFoundException>(e.InnerException);
        Assert.StartsWith("Engine could not load libzstd: looked for /nonexistent/libzstd-engine-test.so. Fix: restore ZstdNet", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheLibrariesBoundsAreThePageSizesConstants()
    {
        NativeLibraries.SelfCheck();
        Assert.Equal((ulong)PageSizes.ZlibBound, Interop.compressBound(new CULong(PageSizes.PageSize)).Value);
        Assert.Equal((nuint)PageSizes.ZstdBound, Interop.ZSTD_compressBound(PageSizes.PageSize));
        Assert.Equal(PageSizes.ZstdBound, ZstdNet.Compressor.GetCompressBound(PageSizes.PageSize));
    }

    [Fact]
    public unsafe void ZStreamHasZlibsLayout()
    {
        // Engine targets 64-bit Linux (LP64: pointers and uLong 8 bytes); zlib's own sizeof(z_stream) there is 112.
        Assert.True(Environment.Is64BitProcess && !OperatingSystem.IsWindows(), "this layout check is for LP64 platforms");
        Assert.Equal(112, sizeof(Interop.ZStream));
        (string Field, int Offset)[] layout =
        [
            ("next_in", 0), ("avail_in", 8), ("total_in", 16), ("next_out", 24), ("avail_out", 32), ("total_out", 40),
            ("msg", 48), ("state", 56), ("zalloc", 64), ("zfree", 72), ("opaque", 80), ("data_type", 88), ("adler", 96),
            ("reserved", 104),
        ];
        foreach ((string field, int offset) in layout)
        {
            Assert.Equal(offset, (int)Marshal.OffsetOf<Interop.ZStream>(field));
        }
    }
}
