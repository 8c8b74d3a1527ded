using Engine.Multifd;

namespace Engine.Fuzz;

/// <summary>
/// The <c>multifd</c> target: a selector byte (the channel's multifd-compression) and multifd packets back to back, through
/// the receive channel's parser and decompression stream into canary-guarded guest memory
/// (<see cref="MultifdPacketProbe"/>). Any exception, or a write outside guest memory, is a finding.
/// </summary>
internal sealed class MultifdTarget : IFuzzTarget
{
    public string Name => "multifd";

    public FuzzOutcome Run(ReadOnlyMemory<byte> input) => MultifdPacketProbe.Run(input.Span) ? FuzzOutcome.Accepted : FuzzOutcome.Rejected;
}
