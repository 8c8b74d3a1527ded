namespace Engine.Fuzz;

/// <summary>
/// One fuzz target: code that parses untrusted bytes. <see cref="Run"/> returns how the input was handled; any exception
/// that escapes it is a finding (AFL records the input as a crash).
/// </summary>
internal interface IFuzzTarget
{
    string Name { get; }

    FuzzOutcome Run(ReadOnlyMemory<byte> input);
}
