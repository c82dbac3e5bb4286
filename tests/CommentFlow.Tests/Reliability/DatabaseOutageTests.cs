using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CommentFlow.Tests.Fakes;
using CommentFlow.Tests.Storage;
using Xunit.Abstractions;

namespace CommentFlow.Tests.Reliability;

/// <summary>PostgreSQL goes away for 10 s while agents keep asking: they are answered, and the samples wait and are written after.</summary>
public sealed class DatabaseOutageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PostgresStopped10sUnderLoad_EveryRequestAnsweredQueuedSamplesWrittenAfterOnlyOverflowDropped()
    {
        // Small enough that the outage overflows it even on a slow machine: the queue and the writer's three batches of 50
        // in hand (being prepared, waiting, being retried) hold 650; ~100 requests/s would still send 1,000.
        const int Capacity = 500;
        await using var cluster = await PostgresCluster.StartAsync();
        var backend = ServerBackend.OnPostgres(cluster.ConnectionString);
        using var server = await ServerProcess.StartAsync(backend.DataDir,
            ["Engine=rules", $"Capture:QueueCapacity={Capacity}", "Capture:BatchSize=50", .. backend.Settings]);

        // About 400 requests/s, each a new ticket, from 8 paced senders, until told to stop.
        var answered = 0;
        var failed = 0;
        var sent = 0;
        using var stop = new CancellationTokenSource();
        var senders = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref sent);
                using var response = await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions",
                    new { ticket_key = $"OUT-{i}", summary = $"Outage ticket {i}", description = "VPN drops every few minutes", issue_type = "Incident" });
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref answered);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                }
                await Task.Delay(20);
            }
        })).ToArray();

        // Written before the outage: the writer works against this database.
        await UntilAsync(async () => Capture(await CaptureNowAsync(server)).Written > 0, "nothing written before the outage");

        await cluster.StopAsync();
        var outage = System.Diagnostics.Stopwatch.StartNew();
        // Mid-outage: readiness says the store is gone and the writer failing; suggestions are still answered (the senders count them).
        await UntilAsync(async () =>
        {
            using var ready = await server.Client.GetAsync("/health/ready");
            var body = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
            return body["checks"]!["store"]!["status"]!.GetValue<string>() == "unhealthy" && body["checks"]!["capture"]!["status"]!.GetValue<string>() == "degraded";
        }, "readiness never reported the store unhealthy and capture degraded");
        // Stats need the store: a 503 problem that says so, not a 500. The service health still has the capture counters.
        using (var stats = await server.Client.GetAsync("/api/ml/comments/ml-stats"))
        {
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, stats.StatusCode);
            Assert.Equal("application/problem+json", stats.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(stats.Headers.RetryAfter);
        }
        Assert.NotNull((await CaptureNowAsync(server))["writer_error"]?.GetValue<string>());
        // The queue overflows (drops are counted) and the writer retries: the states the rest of the test is about.
        await UntilAsync(async () => Capture(await CaptureNowAsync(server)) is { Dropped: > 0, FailedWrites: >= 3 },
            "the queue never overflowed, or the writer never retried, while the database was down");
        // The outage lasts 10 s in all, so the back-off reaches its 5 s cap; what is checked after was reached above.
        if (Outage - outage.Elapsed is { Ticks: > 0 } rest)
        {
            await Task.Delay(rest);
        }
        var atRecovery = Capture(await CaptureNowAsync(server));
        await cluster.StartAgainAsync();
        var outageLasted = outage.Elapsed;
        output.WriteLine($"outage {outageLasted.TotalSeconds:F1} s; at recovery: {atRecovery}");

        // The writer recovers and drains the backlog while the senders go on.
        await UntilAsync(async () => await CaptureNowAsync(server) is var c && c["writer_error"] is null && Capture(c).Written > atRecovery.Written + Capacity,
            "the writer did not recover after the database came back");
        await stop.CancelAsync();
        await Task.WhenAll(senders);

        // Drained: every enqueued sample written (all tickets are new, so no duplicates).
        CaptureCounts end = null!;
        await UntilAsync(async () => (end = Capture(await server.StatsAsync())).Written == end.Enqueued, "the queue was not drained", TimeSpan.FromSeconds(30));
        output.WriteLine($"sent {sent}, answered {answered}, failed {failed}; end: {end}");

        Assert.Equal(0, failed);
        Assert.Equal(answered, end.Enqueued + end.Dropped);
        Assert.True(end.Dropped > 0, "the 10 s outage should overflow a queue of 500");
        Assert.Equal(Capacity, atRecovery.Depth); // full when the database came back
        Assert.Equal(end.Enqueued, end.Written);
        Assert.Equal(0, end.Duplicates + end.Lost);
        // Retried with back-off (100 ms doubling to 5 s): a handful of attempts over the outage, not a busy loop.
        Assert.InRange(end.FailedWrites, 3, 10 + (int)outageLasted.TotalSeconds);
        var (samples, totals, _) = await backend.InspectAsync();
        Assert.Equal(end.Written, samples);
        Assert.Equal(samples, totals);
        Assert.Null((await server.StatsAsync())["capture"]!["writer_error"]?.GetValue<string>());
    }

    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    /// <summary>Polls until <paramref name="condition"/> holds, failing with <paramref name="failure"/> after <paramref name="limit"/> (15 s).</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition, string failure, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(15));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(50);
        }
    }

    private sealed record CaptureCounts(long Enqueued, long Written, long Duplicates, long Dropped, long Lost, long FailedWrites, int Depth);

    /// <summary>The capture counters from the service health, which answers whether the store does or not.</summary>
    private static async Task<JsonObject> CaptureNowAsync(ServerProcess server) =>
        (await server.Client.GetFromJsonAsync<JsonObject>("/api/ml/comments/health"))!["capture"]!.AsObject();

    private static CaptureCounts Capture(JsonObject stats)
    {
        var c = stats["capture"] ?? stats;
        return new CaptureCounts(c["enqueued"]!.GetValue<long>(), c["written"]!.GetValue<long>(), c["duplicates"]!.GetValue<long>(),
            c["dropped"]!.GetValue<long>(), c["lost"]!.GetValue<long>(), c["failed_writes"]!.GetValue<long>(), c["queue_depth"]!.GetValue<int>());
    }
}
