namespace Engine.Synthetic;

/// <summary>How a synthetic guest's writer threads dirty memory.</summary>
public sealed record GuestWriterOptions
{
    /// <summary>Writer threads (the guest's busy vCPUs): 1 to 64; default 2.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Pages dirtied per second, all threads together, before throttling; 0 keeps the guest still. Default 20 000.</summary>
    public double PagesPerSecond { get; init; } = 20_000;

    /// <summary>Share of the pages that form the hot set: 0 (exclusive) to 1; default 0.1.</summary>
    public double HotFraction { get; init; } = 0.1;

    /// <summary>Share of the writes that land in the hot set: 0 to 1; default 0.9.</summary>
    public double HotWriteShare { get; init; } = 0.9;

    /// <summary>Seed of the writers' random choices.</summary>
    public ulong Seed { get; init; } = 7;

    /// <summary>Throws <see cref="EngineParameterException"/> for a value out of range.</summary>
    public void Validate()
    {
        if (Threads is < 1 or > 64)
        {
            throw new EngineParameterException("writer-threads", $"writer-threads {Threads} is out of range: accepted 1 to 64");
        }

        if (!(PagesPerSecond >= 0) || PagesPerSecond > 100_000_000)
        {
            throw new EngineParameterException("dirty-rate", $"dirty-rate {PagesPerSecond} pages/s is out of range: accepted 0 to 100000000");
        }

        if (!(HotFraction > 0 && HotFraction <= 1))
        {
            throw new EngineParameterException("hot-fraction", $"hot-fraction {HotFraction} is out of range: accepted above 0, up to 1");
        }

        if (!(HotWriteShare >= 0 && HotWriteShare <= 1))
        {
            throw new EngineParameterException("hot-write-share", $"hot-write-share {HotWriteShare} is out of range: accepted 0 to 1");
        }
    }
}
