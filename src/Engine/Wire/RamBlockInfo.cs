namespace Engine.Wire;

/// <summary>One RAM block as the RAM section's block list announces it: its id string and used length in bytes.</summary>
/// <param name="Name">The block's id string, e.g. <c>pc.ram</c> or <c>/rom@etc/acpi/tables</c>.</param>
/// <param name="Length">The block's used length in bytes, a multiple of the page size.</param>
internal readonly record struct RamBlockInfo(string Name, long Length);
