using System.Diagnostics;
using CommentFlow.Training;

namespace CommentFlow.Bench;

/// <summary>
/// The own model at scale: N indexed comments built from the shared tickets (each real ticket repeated with a few of its
/// words swapped, so texts stay realistic and distinct), then single queries of held-out tickets, one at a time.
/// Reports build time, managed memory per indexed comment, and query latency percentiles.
/// </summary>
internal static class LocalModelScenario
{
    public static object Run(string dataDir, int samples, int queries)
    {
        var quickRecall = queries < 1_000;
        var tickets = Directory.GetFiles(dataDir, "*.csv").SelectMany(f => LabelledTickets.Read(f, "type").Tickets).ToList();
        var random = new Random(42);
        var held = tickets.OrderBy(_ => random.Next()).Take(Math.Min(queries, tickets.Count / 5)).ToList();
        var pool = tickets.Except(held).ToList();
        var vocabulary = pool.SelectMany(t => TextMetrics.Tokens(t.Text)).Distinct().ToArray();

        var items = new List<RetrievalItem>(samples);
        for (var i = 0; i < samples; i++)
        {
            var t = pool[i % pool.Count];
            var text = i < pool.Count ? t.Text : $"{t.Text} {vocabulary[random.Next(vocabulary.Length)]} {vocabulary[random.Next(vocabulary.Length)]} {i}";
            items.Add(new RetrievalItem(text, t.Answer, "", t.Language));
        }

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var clock = Stopwatch.StartNew();
        var index = RetrievalIndex.Build(items);
        var buildSeconds = clock.Elapsed.TotalSeconds;
        items.Clear();
        items.TrimExcess();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var after = GC.GetTotalMemory(forceFullCollection: true);

        var settings = new RetrievalSettings(40, 0.2);
        foreach (var q in held.Take(20))
        {
            index.Query(q.Text, q.Language, settings); // warm-up: JIT, caches
        }
        var latencies = new List<double>(held.Count);
        foreach (var q in held)
        {
            var start = Stopwatch.GetTimestamp();
            index.Query(q.Text, q.Language, settings);
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        // Recall@1 of the pruned search against an exact scan of every ticket of the language, on a subset.
        var checkedQueries = held.Take(quickRecall ? 50 : 200).ToList();
        var recall = checkedQueries.Count(q =>
        {
            var fast = index.Nearest(q.Text, q.Language, 1);
            var exact = index.NearestExhaustive(q.Text, q.Language, 1);
            // The same comment counts: the synthetic tickets come in near-copies that share their answer.
            return fast.Count > 0 && exact.Count > 0 && index.AnswerOf(fast[0].Doc) == index.AnswerOf(exact[0].Doc);
        }) / (double)Math.Max(1, checkedQueries.Count);
        latencies.Sort();
        double P(double p) => latencies[(int)Math.Min(latencies.Count - 1, Math.Round(p * (latencies.Count - 1)))];

        var result = new
        {
            samples,
            queries = latencies.Count,
            build_seconds = Math.Round(buildSeconds, 2),
            bytes_per_sample = (after - before) / samples,
            p50_ms = Math.Round(P(0.5), 3),
            p99_ms = Math.Round(P(0.99), 3),
            p999_ms = Math.Round(P(0.999), 3),
            max_ms = Math.Round(latencies[^1], 3),
            recall_at_1 = Math.Round(recall, 3),
        };
        Console.WriteLine($"local model, {samples:N0} comments: build {result.build_seconds} s, {result.bytes_per_sample:N0} B/comment, query p50 {result.p50_ms} ms, p99 {result.p99_ms} ms, p99.9 {result.p999_ms} ms (target: p99 < 5 ms, ≤ 6 KB/comment); recall@1 vs an exact scan {result.recall_at_1:0.000}");
        GC.KeepAlive(index);
        return result;
    }
}
