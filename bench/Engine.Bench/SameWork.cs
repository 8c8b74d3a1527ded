namespace Engine.Bench;

/// <summary>Checks, before anything is timed, that the C row and the C# row of a comparison do the same work.</summary>
internal static class SameWork
{
    public static void Check(long c, long cSharp, string what)
    {
        if (c < 0)
        {
            throw new InvalidOperationException($"{what}: the C loop failed with {c}.");
        }

        if (c != cSharp)
        {
            throw new InvalidOperationException($"{what}: the C loop produced {c} bytes, the C# path {cSharp}: they did not do the same work.");
        }
    }
}
