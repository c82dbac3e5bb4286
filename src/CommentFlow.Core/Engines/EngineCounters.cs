using System.Collections.Concurrent;

namespace CommentFlow.Engines;

/// <summary>Answers by engine (with their latency) and fallbacks by engine and reason, since start.</summary>
internal sealed class EngineCounters(ActivitySeries activity)
{
    private readonly ConcurrentDictionary<string, Counter> _answers = new();
    private readonly ConcurrentDictionary<string, Counter> _fallbacks = new();
    private long _cached;

    private Action<string, TimeSpan>? _latencyObserver;

    public void Answered(string engine, TimeSpan latency)
    {
        _answers.GetOrAdd(engine, _ => new Counter()).Add(latency);
        activity.Answered(engine, latency);
        _latencyObserver?.Invoke(engine, latency);
    }

    /// <summary>Sees every answer's latency as it happens: a latency histogram needs the observations, not the totals kept here.</summary>
    public void ObserveLatency(Action<string, TimeSpan> observer) => _latencyObserver += observer;

    public void FellBack(string from, string reason) => _fallbacks.GetOrAdd($"{from}:{reason}", _ => new Counter()).Add(TimeSpan.Zero);

    public void Cached() => Interlocked.Increment(ref _cached);

    public EngineCountersSnapshot Snapshot() => new(
        _answers.ToDictionary(kv => kv.Key, kv => kv.Value.Snapshot()),
        _fallbacks.ToDictionary(kv => kv.Key, kv => kv.Value.Count),
        Interlocked.Read(ref _cached));

    private sealed class Counter
    {
        private long _count;
        private long _ticks;
        private long _maxTicks;

        public long Count => Interlocked.Read(ref _count);

        public void Add(TimeSpan latency)
        {
            Interlocked.Increment(ref _count);
            Interlocked.Add(ref _ticks, latency.Ticks);
            long max;
            while (latency.Ticks > (max = Interlocked.Read(ref _maxTicks)) && Interlocked.CompareExchange(ref _maxTicks, latency.Ticks, max) != max)
            {
            }
        }

        public EngineStat Snapshot()
        {
            var count = Count;
            return new EngineStat(count, count == 0 ? 0 : Math.Round(TimeSpan.FromTicks(Interlocked.Read(ref _ticks) / count).TotalMilliseconds, 3),
                Math.Round(TimeSpan.FromTicks(Interlocked.Read(ref _maxTicks)).TotalMilliseconds, 3));
        }
    }
}

internal sealed record EngineStat(long Requests, double MeanLatencyMs, double MaxLatencyMs);

/// <summary>Fallbacks are keyed <c>engine:reason</c>, e.g. <c>ollama:timeout</c>.</summary>
internal sealed record EngineCountersSnapshot(IReadOnlyDictionary<string, EngineStat> Answers, IReadOnlyDictionary<string, long> Fallbacks, long CacheHits);
