namespace Engine.Fuzz;

/// <summary>The targets by name.</summary>
internal static class FuzzTargets
{
    public static IFuzzTarget Create(string name) => name switch
    {
        "reader" => new ReaderTarget(),
        "decoder" => new DecoderTarget(),
        "multifd" => new MultifdTarget(),
        _ => throw new ArgumentException($"unknown fuzz target '{name}'; known: reader, decoder, multifd", nameof(name)),
    };
}
