using System.Runtime.InteropServices;

namespace Engine.Threading;

/// <summary>The flag a <see cref="ThreadParker"/>'s owner raises while it blocks, alone on its cache line pair.</summary>
/// <remarks>
/// Design: every producer that publishes to the owner reads <see cref="Parked"/> once per item, while the owner writes it
/// only when it parks. Keeping it away from fields that are written often means those reads hit a shared, clean line.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 2 * CacheLine.PaddingSize)]
internal struct ParkState
{
    /// <summary>1 while the owner is blocked (or about to block) on its event; 0 otherwise.</summary>
    [FieldOffset(CacheLine.PaddingSize)]
    public int Parked;
}
