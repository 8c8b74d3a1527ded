// A host that embeds Engine: it owns its guest's memory, keeps its own dirty log, dirties pages from its own thread while
// the migration runs, and migrates over loopback TCP and into a file, with zstd and with zlib. Exit code 0 when every
// destination holds exactly the host's memory.
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Engine;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;

const long GuestSize = 64L << 20;
int failures = 0;
foreach (CompressMethod method in new[] { CompressMethod.Zstd, CompressMethod.Zlib })
{
    failures += Run(method, overTcp: true);
    failures += Run(method, overTcp: false);
}

Console.WriteLine(failures == 0 ? "sample: all migrations exact" : $"sample: {failures} migration(s) differ");
return failures == 0 ? 0 : 1;

static unsafe int Run(CompressMethod method, bool overTcp)
{
    // The host's guest RAM: its own allocation, half zero, the rest text-like and counters.
    byte* ram = (byte*)NativeMemory.AlignedAlloc((nuint)GuestSize, 4096);
    try
    {
        var memory = new Span<byte>(ram, (int)GuestSize);
        memory.Clear();
        for (long page = 0; page < GuestSize / 4096; page += 2)
        {
            var bytes = memory.Slice((int)(page * 4096), 4096);
            for (int i = 0; i < 4096; i += 64)
            {
                "guest page text, logs and counters 0123456789"u8.CopyTo(bytes[i..]);
                BitConverter.TryWriteBytes(bytes[(i + 48)..], page * 1000 + i);
            }
        }

        // Engine sees the host's memory through a non-owning block, and the host's writes through its dirty log.
        RamBlock block = RamBlock.Wrap("pc.ram", ram, GuestSize);
        var dirtyLog = new DirtyPageLog(MigrationGuestMemory(block, out GuestMemory guestMemory));
        using var vcpu = new HostVcpu(ram, GuestSize, dirtyLog);
        using MigrationGuest guest = MigrationGuest.FromMemory(guestMemory, dirtyLog, vcpu);
        var parameters = new MigrationParameters
        {
            Compression = CompressionSettings.Create(method, level: 1),   // validated here
            CompressThreads = 2,
            MaxBandwidth = 256L << 20,
        };

        vcpu.Start();
        MigrationResult result;
        GuestMemory? restored = null;
        if (overTcp)
        {
            // The destination: another host would run this; here it is a thread of the same process.
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            Task<DestinationResult> destination = Task.Run(() =>
            {
                using TcpClient client = listener.AcceptTcpClient();
                return new DestinationMigration(new DestinationOptions { Parameters = parameters }).Run(client.GetStream());
            });
            using var connection = new TcpClient();
            connection.Connect(IPAddress.Loopback, port);
            result = new SourceMigration(guest, parameters).Run(connection.GetStream());
            restored = destination.GetAwaiter().GetResult().Memory;
        }
        else
        {
            string path = Path.Combine(Path.GetTempPath(), $"engine-sample-{Environment.ProcessId}-{method}.mig");
            try
            {
                using (FileStream file = File.Create(path))
                {
                    result = new SourceMigration(guest, parameters).Run(file);
                }

                using FileStream input = File.OpenRead(path);
                restored = new DestinationMigration(new DestinationOptions { Parameters = parameters }).Run(input).Memory;
            }
            finally
            {
                File.Delete(path);
            }
        }

        // The migration paused the vCPU for the last pass and left it paused: the host's memory is what was sent.
        using (restored)
        {
            bool same = restored.Blocks[0].GetSpan(0, (int)GuestSize).SequenceEqual(new ReadOnlySpan<byte>(ram, (int)GuestSize));
            Console.WriteLine($"{CompressionSettings.NameOf(method)} {(overTcp ? "tcp " : "file")}: {result.Info.TransferredBytes / 1024} kB sent, "
                + $"{vcpu.Writes} pages written by the host during the migration, destination {(same ? "identical" : "DIFFERENT")}");
            return same ? 0 : 1;
        }
    }
    catch (EngineException e)
    {
        // The library's one error root: the kind, and for streams the byte offset.
        Console.WriteLine($"{CompressionSettings.NameOf(method)}: failed ({e.Kind}{(e.StreamOffset is long o ? $" at byte {o}" : "")}): {e.Message}");
        return 1;
    }
    finally
    {
        NativeMemory.AlignedFree(ram);
    }
}

static GuestMemory MigrationGuestMemory(RamBlock block, out GuestMemory memory)
{
    memory = new GuestMemory();
    memory.AddBlock(block);
    return memory;
}

/// <summary>The host's vCPU: a thread that keeps writing guest pages, marking each in the dirty log after the write.</summary>
internal sealed unsafe class HostVcpu(byte* ram, long size, DirtyPageLog log) : IGuestControl, IDisposable
{
    private readonly object _gate = new();
    private Thread? _thread;
    private bool _pause;
    private bool _paused;
    private bool _stop;
    private long _writes;

    public long Writes => Interlocked.Read(ref _writes);

    public Exception? Failure { get; private set; }

    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "host-vcpu" };
        _thread.Start();
    }

    public void Pause()
    {
        lock (_gate)
        {
            _pause = true;
            while (!_paused && _thread is { IsAlive: true })
            {
                Monitor.Wait(_gate, 100);
            }
        }
    }

    public void Resume()
    {
        lock (_gate)
        {
            _pause = false;
            Monitor.PulseAll(_gate);
        }
    }

    public void Throttle(double fraction)
    {
        // This vCPU writes slowly enough that the migration converges without throttling.
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stop = true;
            Monitor.PulseAll(_gate);
        }

        _thread?.Join();
    }

    private void Run()
    {
        try
        {
            var rnd = new Random(7);
            long pages = size / 4096;
            while (true)
            {
                lock (_gate)
                {
                    while (_pause && !_stop)
                    {
                        _paused = true;
                        Monitor.PulseAll(_gate);
                        Monitor.Wait(_gate);
                    }

                    _paused = false;
                    if (_stop)
                    {
                        return;
                    }
                }

                long page = rnd.NextInt64(pages);
                *(long*)(ram + (page * 4096) + (rnd.Next(512) * 8)) = rnd.NextInt64();
                log.MarkDirty(0, page * 4096);   // after the write: a write is never lost
                Interlocked.Increment(ref _writes);
                if ((_writes & 15) == 0)
                {
                    Thread.Sleep(1);
                }
            }
        }
        catch (Exception e)
        {
            Failure = e;
        }
    }
}
