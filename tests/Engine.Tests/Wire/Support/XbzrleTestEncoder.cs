namespace Engine.Tests.Wire.Support;

/// <summary>A straightforward XBZRLE encoder for tests, written from the format description (runs of equal and changed bytes).</summary>
internal static class XbzrleTestEncoder
{
    public static byte[] Encode(ReadOnlySpan<byte> oldPage, ReadOnlySpan<byte> newPage)
    {
        var output = new List<byte>();
        int i = 0;
        while (i < newPage.Length)
        {
            int zeroRun = 0;
            while (i + zeroRun < newPage.Length && oldPage[i + zeroRun] == newPage[i + zeroRun])
            {
                zeroRun++;
            }

            if (i + zeroRun == newPage.Length)
            {
                break; // a trailing unchanged run is left out
            }

            int changed = 0;
            while (i + zeroRun + changed < newPage.Length && oldPage[i + zeroRun + changed] != newPage[i + zeroRun + changed])
            {
                changed++;
            }

            Uleb(output, zeroRun);
            Uleb(output, changed);
            for (int k = 0; k < changed; k++)
            {
                output.Add(newPage[i + zeroRun + k]);
            }

            i += zeroRun + changed;
        }

        return output.ToArray();
    }

    private static void Uleb(List<byte> output, int value)
    {
        if (value < 0x80)
        {
            output.Add((byte)value);
        }
        else
        {
            output.Add((byte)((value & 0x7F) | 0x80));
            output.Add((byte)(value >> 7));
        }
    }
}
