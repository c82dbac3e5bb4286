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

        await Task.Delay(TimeSpan.FromSeconds(3));
        var beforeOutage = Capture(await server.StatsAsync());
        Assert.True(beforeOutage.Written > 0, "nothing written before the outage");

        await cluster.StopAsync();
        var outage = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(5));
        // Mid-outage: readiness says the store is gone and the writer failing; suggestions are still answered (the senders count them).
        using (var ready = await server.Client.GetAsync("/health/ready"))
        {
            var body = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
            Assert.Equal("unhealthy", body["checks"]!["store"]!["status"]!.GetValue<string>());
            Assert.Equal("degraded", body["checks"]!["capture"]!["status"]!.GetValue<string>());
        }
        // Stats need the store: a 503 problem that says so, not a 500. The service health still has the capture counters.
        using (var stats = await server.Client.GetAsync("/api/ml/comments/ml-stats"))
        {
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, stats.StatusCode);
            Assert.Equal("application/problem+json", stats.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(stats.Headers.RetryAfter);
        }
        Assert.NotNull((await CaptureNowAsync(server))["writer_error"]?.GetValue<string>());
        await Task.Delay(TimeSpan.FromSeconds(10) - outage.Elapsed);
        var atRecovery = Capture(await CaptureNowAsync(server));
        await cluster.StartAgainAsync();
        output.WriteLine($"outage {outage.Elapsed.TotalSeconds:F1} s; at recovery: {atRecovery}");

        await Task.Delay(TimeSpan.FromSeconds(3));
        await stop.CancelAsync();
        await Task.WhenAll(senders);

        // Drained: every enqueued sample written (all tickets are new, so no duplicates).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var end = Capture(await server.StatsAsync());
        while (end.Written != end.Enqueued && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            end = Capture(await server.StatsAsync());
        }
        output.WriteLine($"sent {sent}, answered {answered}, failed {failed}; end: {end}");

        Assert.Equal(0, failed);
        Assert.Equal(answered, end.Enqueued + end.Dropped);
        Assert.True(end.Dropped > 0, "the 10 s outage should overflow a queue of 500");
        Assert.Equal(Capacity, atRecovery.Depth); // full when the database came back
        Assert.Equal(end.Enqueued, end.Written);
        Assert.Equal(0, end.Duplicates + end.Lost);
        // Retried with back-off (100 ms doubling to 5 s): a handful of attempts over 10 s, not a busy loop.
        Assert.InRange(end.FailedWrites, 3, 30);
        var (samples, totals, _) = await backend.InspectAsync();
        Assert.Equal(end.Written, samples);
        Assert.Equal(samples, totals);
        Assert.Null((await server.StatsAsync())["capture"]!["writer_error"]?.GetValue<string>());
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
