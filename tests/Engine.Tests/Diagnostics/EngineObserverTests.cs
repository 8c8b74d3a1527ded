using System.Diagnostics.Metrics;
using Engine.Codecs;
using Engine.Diagnostics;
using Engine.Pipeline;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Diagnostics;

/// <summary>
/// Pipeline does not know the meter: engines tell <see cref="EngineObserver"/>, which the library's module initializer
/// points at the meter. An engine a host drives alone, with no migration in the process, is still counted.
/// </summary>
public sealed class EngineObserverTests : EngineTestBase
{
    [Fact]
    public void TheMeterObservesEveryEngineFromTheLibrarysLoad()
    {
        Assert.IsType<EngineMeterObserver>(EngineObserver.Current);
    }

    [Fact]
    public void AnEngineDrivenAloneCountsItsWorkers()
    {
        Hang.Guard(60, () =>
        {
            long workers = -1;
            using var listener = new MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == EngineMetrics.MeterName && instrument.Name == "engine.compression.workers")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<int>((_, value, _, _) => workers = value);
            listener.Start();

            using (var engine = new CompressionEngine(new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 3 }))
            {
                listener.RecordObservableInstruments();
                Assert.True(workers >= 3, $"engine.compression.workers read {workers} while an engine with 3 workers runs");
            }
        });
    }
}
