using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Engine;

/// <summary>
/// The one place that finds Engine's native libraries: the system's zlib (<c>libz.so.1</c>) and the libzstd that the ZstdNet
/// package bundles. It installs the <see cref="NativeLibrary.SetDllImportResolver"/> for Engine's assembly, and its
/// <see cref="SelfCheck"/> reads both versions at start-up so a missing or wrong library is caught at once, with a message
/// that names the file it looked for and the fix, not later as a crash or as corrupt pages.
/// </summary>
public static class NativeLibraries
{
    /// <summary>The library name Engine's zlib imports use (resolved per platform by <see cref="Resolve"/>).</summary>
    internal const string ZlibLibraryName = "libz.so.1";

    /// <summary>The library name ZstdNet's imports use; Engine's few libzstd imports use the same, so both bind one file.</summary>
    internal const string ZstdLibraryName = "libzstd";

    /// <summary>The oldest libzstd Engine accepts: 1.4.0 (stable <c>ZSTD_compress2</c>-era API, negative levels, frame inspection).</summary>
    public const uint MinZstdVersionNumber = 10400;

    /// <summary>The zlib major version whose <c>z_stream</c> layout Engine's interop follows.</summary>
    public const int ZlibMajorVersion = 1;

    private static readonly object s_loadLock = new();
    private static int s_resolverInstalled;
    private static nint s_zlibHandle;
    private static string? s_zlibPath;
    private static nint s_zstdHandle;
    private static string? s_zstdPath;

    /// <summary>
    /// Loads both native libraries and reads their versions: libzstd's <c>ZSTD_versionNumber()</c> and
    /// <c>ZSTD_versionString()</c>, zlib's <c>zlibVersion()</c>. Throws <see cref="EngineException"/> with
    /// <see cref="EngineErrorKind.Native"/> when a library cannot load (its message names the files looked for and the fix)
    /// or when its version is not one Engine works with (zlib 1.x, libzstd 1.4 or newer).
    /// </summary>
    public static NativeLibraryVersions SelfCheck()
    {
        EnsureZstd();
        EnsureZlib();

        uint zstdNumber = Interop.ZSTD_versionNumber();
        string zstdVersion;
        string zlibVersion;
        unsafe
        {
            zstdVersion = Marshal.PtrToStringUTF8((nint)Interop.ZSTD_versionString()) ?? string.Empty;
            zlibVersion = Marshal.PtrToStringUTF8((nint)Interop.zlibVersion()) ?? string.Empty;
        }

        CheckVersions(zstdNumber, zstdVersion, s_zstdPath!, zlibVersion, s_zlibPath!);
        return new NativeLibraryVersions(zstdVersion, zstdNumber, s_zstdPath!, zlibVersion, s_zlibPath!);
    }

    /// <summary>
    /// Throws <see cref="EngineException"/> (<see cref="EngineErrorKind.Native"/>) naming the file and the fix when a loaded
    /// library's version is not one Engine works with.
    /// </summary>
    internal static void CheckVersions(uint zstdNumber, string zstdVersion, string zstdPath, string zlibVersion, string zlibPath)
    {
        if (zstdNumber < MinZstdVersionNumber)
        {
            throw Native(
                $"libzstd {zstdVersion} ({zstdPath}) is too old: Engine needs libzstd 1.4.0 or newer. " +
                "Fix: use the libzstd that the ZstdNet package ships (runtimes/<rid>/native) instead of an older copy.");
        }

        if (!zlibVersion.StartsWith($"{ZlibMajorVersion}.", StringComparison.Ordinal))
        {
            throw Native(
                $"zlib {zlibVersion} ({zlibPath}) is not a zlib {ZlibMajorVersion}.x: Engine's z_stream layout follows zlib 1.x. " +
                $"Fix: {ZlibFix()}");
        }
    }

    /// <summary>Installs the import resolver for Engine's assembly once. Safe to call from any thread, any number of times.</summary>
    internal static void InstallResolver()
    {
        // Only the first caller installs it; SetDllImportResolver may be called once per assembly.
        if (Interlocked.CompareExchange(ref s_resolverInstalled, 1, 0) != 0)
        {
            return;
        }

        try
        {
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // The host installed its own resolver for Engine.Core before us: it has taken over finding the libraries.
        }
    }

    /// <summary>
    /// Loads zlib (once) or throws <see cref="EngineException"/> (<see cref="EngineErrorKind.Native"/>) that names the files
    /// it looked for and the fix.
    /// </summary>
    internal static void EnsureZlib() => EnsureLoaded(ref s_zlibHandle, ref s_zlibPath, LoadZlib);

    /// <summary>
    /// Loads ZstdNet's libzstd (once) and makes sure ZstdNet itself binds it; otherwise throws <see cref="EngineException"/>
    /// (<see cref="EngineErrorKind.Native"/>) that names the files it looked for and the fix.
    /// </summary>
    internal static void EnsureZstd() => EnsureLoaded(ref s_zstdHandle, ref s_zstdPath, LoadZstd);

    /// <summary>
    /// Runs <paramref name="load"/> once, under the lock, and publishes the library it loaded: its path in
    /// <paramref name="loadedPath"/>, then its handle in <paramref name="loaded"/> (double-checked: once loaded, a call costs
    /// one volatile read).
    /// </summary>
    private static void EnsureLoaded(ref nint loaded, ref string? loadedPath, LoadLibrary load)
    {
        InstallResolver();
        if (Volatile.Read(ref loaded) != 0)
        {
            return;
        }

        lock (s_loadLock)
        {
            if (loaded != 0)
            {
                return;
            }

            nint handle = load(out string path);
            loadedPath = path;

            // Publish the handle after the path, so a reader that sees the handle also sees the path.
            Volatile.Write(ref loaded, handle);
        }
    }

    private static nint LoadZlib(out string path)
    {
        string[] candidates = ZlibCandidates();
        if (!TryLoadFirst(candidates, out nint handle, out string? found))
        {
            throw LoadFailure("zlib", candidates, ZlibFix(), LoaderError(candidates[0]));
        }

        path = found;
        return handle;
    }

    private static nint LoadZstd(out string path)
    {
        string[] candidates = ZstdCandidates();
        if (TryLoadFirst(candidates, out nint handle, out string? found))
        {
            path = found;
        }
        else
        {
            // Not in the output folder: let the runtime probe as it does for ZstdNet's own imports (deps.json paths).
            if (!NativeLibrary.TryLoad(ZstdLibraryName, typeof(ZstdNet.Compressor).Assembly, null, out handle))
            {
                throw LoadFailure("libzstd", [.. candidates, $"'{ZstdLibraryName}' on ZstdNet's search path"], ZstdFix(), LoaderError(candidates[0]));
            }

            path = ZstdLibraryName;
        }

        try
        {
            // ZstdNet binds its imports itself (DllImport "libzstd"): touch one so a failure surfaces here, with the fix.
            _ = ZstdNet.CompressionOptions.MaxCompressionLevel;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException)
        {
            throw Native($"ZstdNet could not bind libzstd although Engine loaded {path}: {e.Message} Fix: {ZstdFix()}", e);
        }

        return handle;
    }

    private delegate nint LoadLibrary(out string path);

    /// <summary>Tries each file in order; the first that loads wins.</summary>
    internal static bool TryLoadFirst(IReadOnlyList<string> candidates, out nint handle, [NotNullWhen(true)] out string? path)
    {
        foreach (string candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out handle))
            {
                path = candidate;
                return true;
            }
        }

        handle = 0;
        path = null;
        return false;
    }

    /// <summary>
    /// The exception for a library that would not load: what it looked for, and how to fix it; <paramref name="loaderError"/>
    /// (the runtime loader's own report, when there is one) is kept as the inner exception.
    /// </summary>
    internal static EngineException LoadFailure(string library, IReadOnlyList<string> lookedFor, string fix, Exception? loaderError = null)
        => Native($"Engine could not load {library}: looked for {string.Join(", ", lookedFor)}. Fix: {fix}", loaderError);

    /// <summary>A failure of a native library: the kind a host catches to tell it apart from a bad stream or peer.</summary>
    internal static EngineException Native(string message, Exception? inner = null)
        => new(EngineErrorKind.Native, message, null, inner);

    /// <summary>
    /// The runtime loader's report for <paramref name="file"/> (the operating system's reason: not found, wrong architecture,
    /// missing dependency), or null when it loads after all. Only on the failure path.
    /// </summary>
    internal static Exception? LoaderError(string file)
    {
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(file));
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            return e;
        }
    }

    /// <summary>
    /// The handle of a library Engine loads itself (in <paramref name="loaded"/> once <paramref name="ensure"/> has loaded
    /// it), or 0 when it cannot be loaded: the runtime then probes and reports. Engine's own entry points call Ensure* first
    /// and throw its error, which names the fix.
    /// </summary>
    private static nint ResolveLoaded(ref nint loaded, Action ensure)
    {
        if (Volatile.Read(ref loaded) == 0)
        {
            try
            {
                ensure();
            }
            catch (EngineException e) when (e.Kind == EngineErrorKind.Native)
            {
                return 0;
            }
        }

        return loaded;
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        // Returning 0 hands the name back to the runtime's default probing.
        switch (libraryName)
        {
            case ZlibLibraryName:
                return ResolveLoaded(ref s_zlibHandle, EnsureZlib);
            case ZstdLibraryName:
                return ResolveLoaded(ref s_zstdHandle, EnsureZstd);
            case "libc":
                // glibc's soname; "libc.so" may be a linker script the loader cannot open.
                return OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libc.so.6", out nint libc) ? libc : 0;
            default:
                return 0;
        }
    }

    private static string[] ZlibCandidates()
    {
        if (OperatingSystem.IsWindows())
        {
            return ["zlib1.dll", "zlib.dll"];
        }

        if (OperatingSystem.IsMacOS())
        {
            return ["libz.1.dylib", "libz.dylib"];
        }

        return ["libz.so.1", "libz.so"];
    }

    private static string ZlibFix()
    {
        if (OperatingSystem.IsWindows())
        {
            return "put zlib1.dll (zlib 1.x, 64-bit) next to the application or on PATH.";
        }

        if (OperatingSystem.IsMacOS())
        {
            return "macOS ships libz.1.dylib in the system; reinstall the Command Line Tools if it is missing.";
        }

        return "install the zlib runtime: apt-get install zlib1g (Debian, Ubuntu), dnf install zlib (Fedora, RHEL), apk add zlib (Alpine).";
    }

    private static string[] ZstdCandidates()
    {
        string file = ZstdFileName();
        return
        [
            Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeIdentifier(), "native", file),
            Path.Combine(AppContext.BaseDirectory, file),
        ];
    }

    private static string ZstdFix()
        => $"the ZstdNet package's runtimes/{RuntimeIdentifier()}/native/{ZstdFileName()} is missing from the output folder " +
           $"({AppContext.BaseDirectory}): reference the ZstdNet package (1.5.7) from the project that builds the application, " +
           "restore, and build or publish again for a runtime ZstdNet ships (linux-x64, linux-arm64, osx-x64, osx-arm64, win-x64, win-x86, win-arm64).";

    private static string ZstdFileName()
    {
        if (OperatingSystem.IsWindows())
        {
            return "libzstd.dll";
        }

        return OperatingSystem.IsMacOS() ? "libzstd.dylib" : "libzstd.so";
    }

    private static string RuntimeIdentifier()
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.X86 => "x86",
            Architecture.Arm64 => "arm64",
            Architecture other => other.ToString().ToLowerInvariant(),
        };
        return $"{os}-{arch}";
    }
}
