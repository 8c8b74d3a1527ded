namespace Engine;

/// <summary>What kind of failure an <see cref="EngineException"/> reports.</summary>
public enum EngineErrorKind
{
    /// <summary>Anything not named below (an engine bug among them).</summary>
    Other = 0,

    /// <summary>A migration stream that is malformed, truncated or not what was expected; <see cref="EngineException.StreamOffset"/> says where.</summary>
    Stream,

    /// <summary>A page that could not be compressed or decompressed; the message names its block and offset.</summary>
    Page,

    /// <summary>The migration failed as a whole: the connection, the peer, a worker or the guest's writers.</summary>
    Migration,

    /// <summary>The peer refused the connection or failed authentication (TLS, authorization, limits).</summary>
    Security,

    /// <summary>
    /// A native library (libzstd, zlib) could not be loaded, failed its self-check (a version Engine does not work with) or
    /// failed a call a working copy never fails; the message names the library file and the fix.
    /// </summary>
    Native,
}
