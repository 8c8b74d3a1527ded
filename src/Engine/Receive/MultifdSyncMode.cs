namespace Engine.Receive;

/// <summary>Where a multifd stream puts its barrier (one SYNC packet per channel), as told by the stream itself.</summary>
internal enum MultifdSyncMode
{
    /// <summary>Not known yet: neither an EOS nor a MULTIFD_FLUSH record has been read.</summary>
    Unknown = 0,

    /// <summary>QEMU 7.2, machine types up to 8.0, Engine's own source: a barrier at every EOS.</summary>
    PerSection,

    /// <summary>
    /// QEMU 8.1 and later on their own machine types: the RAM_SAVE_FLAG_MULTIFD_FLUSH record (0x200) is the barrier, EOS is
    /// not; told by a 0x200 before the first EOS (the setup section always has one).
    /// </summary>
    PerRound,
}
