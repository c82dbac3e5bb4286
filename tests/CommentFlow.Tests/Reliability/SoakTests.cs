using System.Net.Http.Json;
using CommentFlow.Tests.Fakes;
using Xunit.Abstractions;

namespace CommentFlow.Tests.Reliability;

/// <summary>
/// 10,000 requests on the schedule of 500/s against the real server: no error, every answer captured once. Nothing here
/// is timed: on a slow machine the requests queue up and the test takes longer. The real-time figures (the rate kept,
/// latency, resident memory over 60 s, against a trivial handler) are the bench's <c>soak</c> scenario.
/// </summary>
public sealed class SoakTests(ITestOutputHelper output)
{
    private const int RatePerSecond = 500;
    private const int Requests = 10_000;

    [Fact]
    public async Task Serve_10000RequestsAt500PerSecond_NoErrorEveryAnswerCapturedOnce()
    {
        using var server = await ServerProcess.StartAsync(TempDir.Create(), "Engine=rules", "Cache:MaxEntries=2000");
        var inFlight = new List<Task>();
        var errors = 0;
        var sent = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (sent < Requests && await timer.WaitForNextTickAsync())
        {
            // Catch up with the schedule, so a late tick does not lower the rate.
            var due = Math.Min(Requests, (int)(clock.Elapsed.TotalSeconds * RatePerSecond)) - sent;
            for (var k = 0; k < due; k++)
            {
                inFlight.Add(SendAsync(server, sent++, () => Interlocked.Increment(ref errors)));
            }
        }
        await Task.WhenAll(inFlight);

        // Every answer captured: 80 % new tickets written, the repeats answered from the cache or refused by the store's
        // dedup (a repeat that arrives before its first answer is cached is enqueued again).
        var capture = await CapturedAsync(server);
        output.WriteLine($"sent {sent} in {clock.Elapsed.TotalSeconds:F1} s, errors {errors}; capture {capture.ToJsonString()}");
        Assert.Equal(0, errors);
        Assert.Equal(0, capture["dropped"]!.GetValue<long>() + capture["lost"]!.GetValue<long>() + capture["failed_writes"]!.GetValue<long>());
        Assert.Equal(capture["enqueued"]!.GetValue<long>(), capture["written"]!.GetValue<long>() + capture["duplicates"]!.GetValue<long>());
        Assert.Equal(Requests * 4 / 5, capture["written"]!.GetValue<long>());
        Assert.Equal(Requests * 4 / 5, (await server.StatsAsync())["stats"]!["total_samples"]!.GetValue<long>());
    }

    /// <summary>Capture's counters once the writer has stored everything enqueued (it is idle: nothing more arrives).</summary>
    private static async Task<System.Text.Json.Nodes.JsonNode> CapturedAsync(ServerProcess server)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var capture = (await server.StatsAsync())["capture"]!;
            if (capture["written"]!.GetValue<long>() + capture["duplicates"]!.GetValue<long>() + capture["lost"]!.GetValue<long>() >= capture["enqueued"]!.GetValue<long>())
            {
                return capture;
            }
            Assert.True(DateTime.UtcNow < deadline, $"capture still writing after 60 s: {capture.ToJsonString()}");
            await Task.Delay(100);
        }
    }

    private static async Task SendAsync(ServerProcess server, int i, Action onError)
    {
        // One request in five repeats an earlier ticket (the shared workload's duplicate rate).
        var ticket = i % 5 == 4 ? i - 4 : i;
        try
        {
            using var response = await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions",
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
    }
}
