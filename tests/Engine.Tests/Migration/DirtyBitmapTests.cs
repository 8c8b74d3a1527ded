using Engine.Memory;
using Xunit;

namespace Engine.Tests.Migration;

public sealed class DirtyBitmapTests
{
    [Fact]
    public void MarkedPagesAreDirtyAndSyncMovesThemIntoTheMigrationBitmap()
    {
        var log = new DirtyBitmap(200);
        var migration = new DirtyBitmap(200);
        log.MarkDirty(0);
        log.MarkDirty(63);
        log.MarkDirty(64);
        log.MarkDirty(199);
        log.MarkDirty(64); // twice: still one page

        Assert.Equal(4, log.SyncInto(migration));
        Assert.Equal(0, log.CountDirty());
        Assert.Equal(4, migration.DirtyCount);
        Assert.True(migration.IsDirty(199));
        Assert.False(migration.IsDirty(198));
    }

    [Fact]
    public void SyncCountsOnlyPagesNotAlreadyPending()
    {
        var log = new DirtyBitmap(128);
        var migration = new DirtyBitmap(128);
        log.MarkDirty(5);
        log.SyncInto(migration);
        log.MarkDirty(5);
        log.MarkDirty(6);

        Assert.Equal(1, log.SyncInto(migration));
        Assert.Equal(2, migration.DirtyCount);
    }

    [Fact]
    public void FindNextAndTestAndClearWalkTheDirtyPages()
    {
        var bitmap = new DirtyBitmap(300);
        var log = new DirtyBitmap(300);
        foreach (long p in new long[] { 3, 64, 65, 130, 299 })
        {
            log.MarkDirty(p);
        }

        log.SyncInto(bitmap);
        var found = new List<long>();
        for (long p = bitmap.FindNextDirty(0); p < bitmap.PageCount; p = bitmap.FindNextDirty(p + 1))
        {
            Assert.True(bitmap.TestAndClear(p));
            found.Add(p);
        }

        Assert.Equal(new long[] { 3, 64, 65, 130, 299 }, found);
        Assert.Equal(0, bitmap.DirtyCount);
        Assert.False(bitmap.TestAndClear(3));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(1000)]
    public void SetAllMarksExactlyThePages(long pages)
    {
        var bitmap = new DirtyBitmap(pages);
        bitmap.SetAll();
        Assert.Equal(pages, bitmap.DirtyCount);
        Assert.Equal(pages, bitmap.CountDirty());
        Assert.Equal(pages - 1, bitmap.FindNextDirty(pages - 1));
        Assert.Equal(pages, bitmap.FindNextDirty(pages));
    }

    [Fact]
    public void PagesOutsideTheBitmapAreRejected()
    {
        var bitmap = new DirtyBitmap(10);
        Assert.Throws<ArgumentOutOfRangeException>(() => bitmap.MarkDirty(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => bitmap.MarkDirty(-1));
        Assert.Throws<ArgumentException>(() => bitmap.SyncInto(new DirtyBitmap(11)));
    }

    [Fact(Timeout = 30_000)]
    public async Task ConcurrentWritersNeverLoseAWrite()
    {
        // "Memory" is one version number per page. Writers bump versions of their own pages and mark them; the migration
        // syncs, sends every dirty page (copies its version) and repeats. After the writers stop and a last sync, the
        // destination must hold the last version of every page: any mark lost between a write and a sync would leave a
        // stale version behind.
        const int Pages = 4096;
        const int Writers = 4;
        const int WritesPerWriter = 200_000;
        long[] memory = new long[Pages];
        long[] destination = new long[Pages];
        var log = new DirtyBitmap(Pages);
        var migration = new DirtyBitmap(Pages);
        int running = Writers;

        var threads = new Thread[Writers];
        for (int w = 0; w < Writers; w++)
        {
            int writer = w;
            threads[w] = new Thread(() =>
            {
                var rng = new SplitMix64((ulong)writer + 1);
                for (int i = 0; i < WritesPerWriter; i++)
                {
                    // Writer w owns pages p with p % Writers == w, so each page's last version is well defined.
                    long page = ((long)rng.NextInt(Pages / Writers) * Writers) + writer;
                    Volatile.Write(ref memory[page], memory[page] + 1);
                    log.MarkDirty(page);
                }

                Interlocked.Decrement(ref running);
            });
            threads[w].Start();
        }

        await Task.Run(() =>
        {
            long rounds = 0;
            while (Volatile.Read(ref running) > 0 || rounds == 0)
            {
                SendRound();
                rounds++;
            }

            SendRound(); // the last pass, with the "guest" stopped
        });

        foreach (Thread t in threads)
        {
            Assert.True(t.Join(TimeSpan.FromSeconds(10)));
        }

        Assert.Equal(memory, destination);
        Assert.Equal(Writers * (long)WritesPerWriter, memory.Sum());

        void SendRound()
        {
            log.SyncInto(migration);
            for (long p = migration.FindNextDirty(0); p < Pages; p = migration.FindNextDirty(p + 1))
            {
                migration.TestAndClear(p);
                destination[p] = Volatile.Read(ref memory[p]);
            }
        }
    }
}
