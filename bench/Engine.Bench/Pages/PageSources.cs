namespace Engine.Bench.Pages;

/// <summary>Where the benchmark's page contents come from.</summary>
internal static class PageSources
{
    /// <summary>Fills <paramref name="count"/> pages with the built-in page mix.</summary>
    public static void FillMix(Span<byte> pages, int count, int seed)
    {
        // Provisional until Engine.Memory.PageMix lands on main: a crude stand-in so the harness can be built and run.
        Random random = new(seed);
        for (int i = 0; i < count; i++)
        {
            Span<byte> page = pages.Slice(i * 4096, 4096);
            switch (i % 5)
            {
                case 0:
                    page.Clear();
                    break;
                case 1:
                    for (int j = 0; j < page.Length; j++)
                    {
                        page[j] = (byte)"the quick brown fox jumps over the lazy dog "[(j + random.Next(3)) % 44];
                    }

                    break;
                case 2:
                    for (int j = 0; j < page.Length; j += 4)
                    {
                        BitConverter.TryWriteBytes(page[j..], random.Next(256) * 16);
                    }

                    break;
                case 3:
                    page.Clear();
                    for (int j = 0; j < 64; j++)
                    {
                        page[random.Next(page.Length)] = (byte)random.Next(256);
                    }

                    break;
                default:
                    random.NextBytes(page);
                    break;
            }
        }
    }
}
