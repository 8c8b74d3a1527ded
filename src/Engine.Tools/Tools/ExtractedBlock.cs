namespace Engine.Tools;

/// <summary>One RAM block written as a raw image by <see cref="RamExtractor"/>.</summary>
/// <param name="Name">The block's id string.</param>
/// <param name="Length">The block's used length: the image's size.</param>
/// <param name="Path">The image file.</param>
public sealed record ExtractedBlock(string Name, long Length, string Path);
