using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;

namespace CommentFlow.Bench;

/// <summary>
/// A steady 500 requests/s for 60 s (one in five repeats an earlier ticket) against <c>commentflow serve</c> with the
/// rules engine, and the same schedule against the trivial handler of the HTTP scenario as the reference: the rate
/// kept, the latency, every answer captured, and resident memory at 60 points. Memory counts as flat when the
/// median of the last quarter is within 10 % of the median of the quarter before: a collection that grows or trims the
/// heap moves one sample by ~20 MB either way, a leak moves them all (keeping each sample would add ~2 MB/s).
/// </summary>
internal static class SoakScenario
{
    private const int RatePerSecond = 500;

    public static async Task<List<ResultRow>> RunAsync(BenchEnvironment env, Dictionary<string, object> details)
    {
        var duration = TimeSpan.FromSeconds(env.Quick ? 4 : 60);
        Soak trivial;
        using (var server = await HttpScenario.Server.StartTrivialAsync(env))
        {
            trivial = await RunAsync(server, duration);
        }
        Soak service;
        Dictionary<string, long> capture;
        // A cache of 2,000 answers is full within ~5 s at 400 new tickets/s, so the quarters compared see the steady
        // state rather than the default 10,000 entries still filling.
        using (var server = await HttpScenario.Server.StartServiceAsync(env, env.NewDir("soak"), ["--CommentFlow:Engine=rules", "--CommentFlow:Cache:MaxEntries=2000"]))
        {
            service = await RunAsync(server, duration);
            capture = (await server.SnapshotAsync()).Capture;
        }
        foreach (var (name, soak) in new[] { ("trivial handler", trivial), ("rules engine", service) })
        {
            Console.WriteLine($"soak {name}: {soak.Sent} sent in {soak.Seconds:F1} s, {soak.Errors} errors, p50 {soak.P50Ms:F2} ms, p99 {soak.P99Ms:F2} ms; " +
                "RSS (s:MB) " + string.Join(' ', soak.Rss.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Seconds:F0}:{p.Kilobytes / 1024.0:F1}"))));
        }
        Console.WriteLine($"soak capture: {System.Text.Json.JsonSerializer.Serialize(capture)}");
        details["soak"] = new { rate_per_second = RatePerSecond, seconds = duration.TotalSeconds, trivial, service, capture };

        var expected = (long)(duration.TotalSeconds * RatePerSecond);
        var everyAnswerCaptured = capture["dropped"] + capture["lost"] + capture["failed_writes"] == 0
            && capture["written"] + capture["duplicates"] == capture["enqueued"] && capture["written"] == expected * 4 / 5;
        return
        [
            new ResultRow("soak", "500 requests/s: achieved rate", "requests/s", service.Sent / service.Seconds, "trivial handler, same schedule", trivial.Sent / trivial.Seconds,
                "≥ 490/s, no error, every answer captured", service.Sent / service.Seconds >= 490 && service.Errors == 0 && everyAnswerCaptured),
            new ResultRow("soak", "500 requests/s: p99", "ms", service.P99Ms, "trivial handler, same schedule", trivial.P99Ms, "report", null, HigherIsBetter: false),
            // A growth near zero makes a ratio meaningless: the reference's figure is in its text.
            new ResultRow("soak", "RSS median, last quarter vs the one before", "percent", service.Growth * 100,
                string.Create(CultureInfo.InvariantCulture, $"trivial handler, same schedule: {trivial.Growth * 100:+0.0;-0.0} %"), null, "< 10 % (flat)", service.Growth < 0.10, HigherIsBetter: false),
        ];
    }

    internal sealed record Soak(int Sent, long Errors, double Seconds, double P50Ms, double P99Ms, List<(double Seconds, long Kilobytes)> Rss)
    {
        public double Growth
        {
            get
            {
                var end = Rss[^1].Seconds;
                var before = Median(Rss.Where(p => p.Seconds >= end / 2 && p.Seconds < end * 3 / 4));
                return (Median(Rss.Where(p => p.Seconds >= end * 3 / 4)) - before) / before;
            }
        }

        private static double Median(IEnumerable<(double Seconds, long Kilobytes)> points)
        {
            var sorted = points.Select(p => p.Kilobytes).Order().ToList();
            return sorted[sorted.Count / 2];
        }
    }

    private static async Task<Soak> RunAsync(HttpScenario.Server server, TimeSpan duration)
    {
        using var client = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(30) };
        var inFlight = new List<Task>();
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        long errors = 0;
        var sent = 0;
        var total = (int)(duration.TotalSeconds * RatePerSecond);
        var rss = new List<(double Seconds, long Kilobytes)>();
        var clock = Stopwatch.StartNew();
        var nextSample = TimeSpan.Zero;
        var sampleEvery = duration / 60; // 60 points on the curve, whatever the duration
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (sent < total && await timer.WaitForNextTickAsync())
        {
            // Catch up with the schedule, so a late tick does not lower the rate.
            var due = Math.Min(total, (int)(clock.Elapsed.TotalSeconds * RatePerSecond)) - sent;
            for (var k = 0; k < due; k++)
            {
                inFlight.Add(SendAsync(client, server.Path, sent++, latencies, () => Interlocked.Increment(ref errors)));
            }
            if (clock.Elapsed >= nextSample)
            {
                rss.Add((clock.Elapsed.TotalSeconds, server.ResidentKilobytes()));
                nextSample += sampleEvery;
            }
            if (inFlight.Count > 5_000)
            {
                inFlight.RemoveAll(t => t.IsCompleted);
            }
        }
        await Task.WhenAll(inFlight);
        var seconds = clock.Elapsed.TotalSeconds;
        rss.Add((seconds, server.ResidentKilobytes()));
        var sorted = latencies.Order().ToArray();
        return new Soak(sent, errors, seconds, sorted[sorted.Length / 2], sorted[(int)(sorted.Length * 0.99)], rss);
    }

    private static async Task SendAsync(HttpClient client, string path, int i, System.Collections.Concurrent.ConcurrentBag<double> latencies, Action onError)
    {
        // One request in five repeats an earlier ticket (the shared workload's duplicate rate).
        var ticket = i % 5 == 4 ? i - 4 : i;
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await client.PostAsJsonAsync(path,
                new { ticket_key = $"SOAK-{ticket}", summary = $"Soak ticket {ticket}: mailbox full", description = $"User {ticket % 997} cannot receive mail since the migration", issue_type = "Incident", all_comments = new[] { "Checking the quota" } });
            if (!response.IsSuccessStatusCode)
            {
                onError();
            }
        }
        catch (HttpRequestException)
        {
            onError();
        }
        latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }
}
