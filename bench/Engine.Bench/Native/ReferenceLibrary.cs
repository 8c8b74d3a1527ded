using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Engine.Bench.Native;

/// <summary>
/// Loads libenginebench (the C reference loops) and binds it to the libzstd the C# side already loaded, so the C rows run
/// the very same library file as the C# rows. Every benchmark calls <see cref="EnsureLoaded"/> in its global setup.
/// </summary>
internal static unsafe class ReferenceLibrary
{
    /// <summary>The file CMake builds (native/CMakeLists.txt).</summary>
    internal const string FileName = "libenginebench.so";

    private static readonly object s_lock = new();
    private static bool s_resolverSet;
    private static bool s_zstdBound;

    /// <summary>Installs the resolver for libenginebench and checks its ABI version; throws with the fix if it cannot load.</summary>
    internal static void EnsureLoaded()
    {
        lock (s_lock)
        {
            if (s_resolverSet)
            {
                return;
            }

            NativeLibrary.SetDllImportResolver(typeof(ReferenceLibrary).Assembly, Resolve);
            s_resolverSet = true;
            int abi = Interop.EngineBench.eb_abi_version();
            if (abi != Interop.EngineBench.AbiVersion)
            {
                throw new InvalidOperationException(
                    $"{FileName} has ABI version {abi}, this benchmark expects {Interop.EngineBench.AbiVersion}: it is stale. " +
                    "Rebuild it with `dotnet cake --target=Native`.");
            }
        }
    }

    /// <summary>
    /// Binds the C zstd loops to the libzstd mapped into this process. Call after the C# side has loaded libzstd (after it
    /// created a zstd context): the one libzstd in /proc/self/maps is then the one it uses, and dlopen of a library already
    /// loaded returns that same library.
    /// </summary>
    internal static void EnsureZstdBound()
    {
        EnsureLoaded();
        lock (s_lock)
        {
            if (s_zstdBound)
            {
                return;
            }

            string path = LoadedLibraries.FindSingle("libzstd");
            nint handle = NativeLibrary.Load(path);
            if (Interop.EngineBench.eb_zstd_bind(handle) != 0)
            {
                string missing = Marshal.PtrToStringUTF8((nint)Interop.EngineBench.eb_zstd_missing_symbol()) ?? "?";
                throw new InvalidOperationException($"{path} lacks {missing}: not a libzstd the benchmark can use.");
            }

            // The C loops must call the very code the C# side calls: same address of ZSTD_compressCCtx.
            nint ours = NativeLibrary.GetExport(handle, "ZSTD_compressCCtx");
            if (ours != (nint)Interop.EngineBench.eb_zstd_compress_function())
            {
                throw new InvalidOperationException($"the C loops bound a different ZSTD_compressCCtx than {path}'s.");
            }

            s_zstdBound = true;
        }
    }

    /// <summary>The file the C loops' libzstd was loaded from (for the report).</summary>
    internal static string ZstdPath()
    {
        EnsureZstdBound();
        return PathOf(Interop.EngineBench.eb_zstd_compress_function());
    }

    /// <summary>libzstd's version as "major.minor.release".</summary>
    internal static string ZstdVersion()
    {
        EnsureZstdBound();
        uint v = Interop.EngineBench.eb_zstd_version_number();
        return $"{v / 10000}.{v / 100 % 100}.{v % 100}";
    }

    /// <summary>zlibVersion() of the zlib the C loops are linked with.</summary>
    internal static string ZlibVersion()
    {
        EnsureLoaded();
        return Marshal.PtrToStringUTF8((nint)Interop.EngineBench.eb_zlib_version()) ?? "?";
    }

    /// <summary>"avx2" or "sse2": which variant of the C zero-page check runs here.</summary>
    internal static string ZeroCheckVariant()
    {
        EnsureLoaded();
        return Marshal.PtrToStringUTF8((nint)Interop.EngineBench.eb_zero_pages_variant()) ?? "?";
    }

    private static string PathOf(void* address)
    {
        byte* buf = stackalloc byte[1024];
        int n = Interop.EngineBench.eb_library_path_of(address, buf, 1024);
        return n < 0 ? "?" : Encoding.UTF8.GetString(buf, n);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName == Interop.Zstd.LibraryName)
        {
            // The interop experiments call libzstd directly: hand them the library ZstdNet's own P/Invokes resolve to.
            return NativeLibrary.Load(Interop.Zstd.LibraryName, typeof(ZstdNet.Compressor).Assembly, searchPath);
        }

        if (libraryName != Interop.EngineBench.LibraryName)
        {
            return 0;
        }

        foreach (string candidate in Candidates())
        {
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out nint handle))
            {
                return handle;
            }
        }

        throw new DllNotFoundException(
            $"{FileName} (the C reference loops) was not found: looked next to the benchmark ({AppContext.BaseDirectory}) " +
            $"and in native/build/ of every folder above it. Build it with `dotnet cake --target=Native` " +
            "(that is: cmake -S native -B native/build && cmake --build native/build), then run the benchmark again.");
    }

    private static IEnumerable<string> Candidates()
    {
        // Copied next to the benchmark by the project file when it existed at build time; BenchmarkDotNet's generated
        // projects run from a sub-folder of that output, so look upwards too, and finally in the repository's native/build.
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            yield return Path.Combine(dir.FullName, FileName);
            yield return Path.Combine(dir.FullName, "native", "build", FileName);
        }
    }
}
