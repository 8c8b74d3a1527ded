namespace Engine.Tools;

/// <summary>A count of records and their bytes on the wire (headers included).</summary>
public sealed class RecordStats
{
    /// <summary>Records.</summary>
    public long Count { get; set; }

    /// <summary>Bytes, headers included.</summary>
    public long Bytes { get; set; }

    internal void Add(int bytes)
    {
        Count++;
        Bytes += bytes;
    }
}
