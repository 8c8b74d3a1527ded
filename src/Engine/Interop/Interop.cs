namespace Engine;

/// <summary>
/// Every P/Invoke of Engine, grouped by library in partial files (<c>Interop.Zlib.cs</c>, <c>Interop.Zstd.cs</c>), C names
/// kept, blittable signatures only. It lives in the <c>Engine</c> namespace on purpose: a namespace <c>Engine.Interop</c>
/// would hide this class from every other <c>Engine.*</c> namespace.
/// </summary>
internal static partial class Interop
{
    // Install the resolver before the first P/Invoke of this class binds, so "libz.so.1" and "libzstd" load the files
    // NativeLibraries picks (the codec constructors also call NativeLibraries.Ensure*, which does the same and names the fix).
    static Interop() => NativeLibraries.InstallResolver();
}
