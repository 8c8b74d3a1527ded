using System.Runtime.CompilerServices;
using Engine.Memory;
using Engine.Migration;

namespace Engine.Synthetic;

/// <summary>What a synthetic guest has beyond a <see cref="MigrationGuest"/>: its content model, regions and writers.</summary>
internal sealed class SyntheticGuestState(SyntheticContent content, GuestRegion[] regions)
{
    private static readonly ConditionalWeakTable<MigrationGuest, SyntheticGuestState> s_states = new();

    public SyntheticContent Content { get; } = content;

    public GuestRegion[] Regions { get; } = regions;

    public GuestWriters? Writers { get; set; }

    public static void Attach(MigrationGuest guest, SyntheticGuestState state) => s_states.Add(guest, state);

    public static SyntheticGuestState? Of(MigrationGuest guest) => s_states.TryGetValue(guest, out SyntheticGuestState? state) ? state : null;
}

/// <summary>The synthetic guest's parts, on any <see cref="MigrationGuest"/> (empty for a guest that is not synthetic).</summary>
public static class SyntheticGuestExtensions
{
    extension(MigrationGuest guest)
    {
        /// <summary>A synthetic guest (<see cref="SyntheticGuest.Create(long, GuestWriterOptions?, ulong, string, double)"/>).</summary>
        public static MigrationGuest CreateSynthetic(long size, GuestWriterOptions? writers = null, ulong seed = 1, string blockName = "pc.ram", double zeroFraction = SyntheticContent.MeasuredZeroFraction)
            => SyntheticGuest.Create(size, writers, seed, blockName, zeroFraction);

        /// <summary>A synthetic guest of several blocks, each a name and a size in bytes (<see cref="SyntheticGuest.Create(IReadOnlyList{ValueTuple{string, long}}, GuestWriterOptions?, ulong, double)"/>).</summary>
        public static MigrationGuest CreateSynthetic(IReadOnlyList<(string Name, long Size)> blocks, GuestWriterOptions? writers = null, ulong seed = 1, double zeroFraction = SyntheticContent.MeasuredZeroFraction)
            => SyntheticGuest.Create(blocks, writers, seed, zeroFraction);

        /// <summary>The writer threads, if the guest has any.</summary>
        public GuestWriters? Writers => SyntheticGuestState.Of(guest)?.Writers;

        /// <summary>The content model the guest was filled with (image guests: the one their writers use).</summary>
        public SyntheticContent? Content => SyntheticGuestState.Of(guest)?.Content;

        /// <summary>The regions (block memory and dirty log), in block order; empty for a guest that is not synthetic.</summary>
        public IReadOnlyList<GuestRegion> Regions => SyntheticGuestState.Of(guest)?.Regions ?? [];

        /// <summary>Starts the writers (no-op for a still guest).</summary>
        public void StartWriters() => SyntheticGuestState.Of(guest)?.Writers?.Start();
    }
}
