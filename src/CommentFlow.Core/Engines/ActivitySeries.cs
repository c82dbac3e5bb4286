namespace CommentFlow.Engines;

/// <summary>
/// What the dashboard plots over time and the store does not keep: answers by engine per minute, recent latencies by
/// engine (for percentiles), and shadow comparisons per minute. In memory since the process started, bounded: the last
/// <see cref="Minutes"/> minutes and the last <see cref="LatencyWindow"/> answers of each engine. A restart starts empty.
/// </summary>
internal sealed class ActivitySeries(TimeProvider time)
{
    public const int Minutes = 24 * 60;
    public const int LatencyWindow = 1_000;

    private readonly Lock _lock = new();
    // Invariant: buckets are in ascending minute order, at most Minutes of them; all fields are guarded by _lock.
    private readonly LinkedList<Bucket> _buckets = new();
    private readonly Dictionary<string, Queue<double>> _latencies = new(StringComparer.Ordinal);

    public void Answered(string engine, TimeSpan latency)
    {
        lock (_lock)
        {
            var bucket = Current();
            bucket.Answers[engine] = bucket.Answers.GetValueOrDefault(engine) + 1;
            if (!_latencies.TryGetValue(engine, out var recent))
            {
                _latencies[engine] = recent = new Queue<double>();
            }
            if (recent.Count == LatencyWindow)
            {
                recent.Dequeue();
            }
            recent.Enqueue(latency.TotalMilliseconds);
        }
    }

    public void Compared(bool typeAgreed)
    {
        lock (_lock)
        {
            var bucket = Current();
            bucket.ShadowCompared++;
            bucket.ShadowAgreed += typeAgreed ? 1 : 0;
        }
    }

    public ActivitySnapshot Snapshot()
    {
        lock (_lock)
        {
            return new ActivitySnapshot(
                _buckets.Select(b => new ActivityMinute(b.Minute, new Dictionary<string, long>(b.Answers), b.ShadowCompared,
                    b.ShadowCompared == 0 ? null : Math.Round((double)b.ShadowAgreed / b.ShadowCompared, 4))).ToList(),
                _latencies.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => LatencyPercentiles.Of([.. kv.Value])));
        }
    }

    private Bucket Current()
    {
        var now = time.GetUtcNow();
        var minute = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero);
        if (_buckets.Last is { } last && last.Value.Minute == minute)
        {
            return last.Value;
        }
        var bucket = new Bucket(minute);
        _buckets.AddLast(bucket);
        while (_buckets.Count > Minutes || _buckets.First!.Value.Minute <= minute.AddMinutes(-Minutes))
        {
            _buckets.RemoveFirst();
        }
        return bucket;
    }

    private sealed class Bucket(DateTimeOffset minute)
    {
        public DateTimeOffset Minute { get; } = minute;
        public Dictionary<string, long> Answers { get; } = new(StringComparer.Ordinal);
        public long ShadowCompared { get; set; }
        public long ShadowAgreed { get; set; }
    }
}

internal sealed record ActivitySnapshot(IReadOnlyList<ActivityMinute> Minutes, IReadOnlyDictionary<string, LatencyPercentiles> Latency);

/// <param name="ShadowTypeAgreement">Share of that minute's shadow comparisons where the types agreed; null when there were none.</param>
internal sealed record ActivityMinute(DateTimeOffset Minute, IReadOnlyDictionary<string, long> Answers, long ShadowCompared, double? ShadowTypeAgreement);

/// <summary>Nearest-rank percentiles, in milliseconds, of an engine's last answers.</summary>
internal sealed record LatencyPercentiles(int Count, double P50, double P90, double P99, double Max)
{
    public static LatencyPercentiles Of(double[] values)
    {
        Array.Sort(values);
        double At(double p) => values.Length == 0 ? 0 : Math.Round(values[Math.Max(0, (int)Math.Ceiling(p * values.Length) - 1)], 3);
        return new LatencyPercentiles(values.Length, At(0.5), At(0.9), At(0.99), values.Length == 0 ? 0 : Math.Round(values[^1], 3));
    }
}
