namespace Engine.Bench.Codecs;

/// <summary>Names the codec a benchmark method runs, so the compression-ratio column can compute its ratio.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class PageCodecAttribute(PageCodecKind kind) : Attribute
{
    public PageCodecKind Kind { get; } = kind;
}
