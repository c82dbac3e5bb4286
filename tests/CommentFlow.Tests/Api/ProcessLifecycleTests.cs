using System.Collections.Concurrent;
using System.Net.Http.Json;
using CommentFlow.Tests.Fakes;
using Microsoft.Data.Sqlite;

namespace CommentFlow.Tests.Api;

public sealed class ProcessLifecycleTests
{
    private static object Ticket(int i) => new { ticket_key = $"K-{i}", summary = $"Crash test ticket {i}", description = "The portal returns error 500", issue_type = "Incident" };

    private static async Task<(long Samples, long Totals, string Integrity)> InspectAsync(string dataDir)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "commentflow.db")};Pooling=False");
        await connection.OpenAsync();
        async Task<object?> Scalar(string sql)
        {
            await using var c = connection.CreateCommand();
            c.CommandText = sql;
            return await c.ExecuteScalarAsync();
        }
        var integrity = (string)(await Scalar("PRAGMA integrity_check"))!;
        return ((long)(await Scalar("SELECT COUNT(*) FROM samples"))!, (long)(await Scalar("SELECT samples FROM stats_totals"))!, integrity);
    }

    [Fact]
    public async Task Kill9_DuringBurst_StoreIntactAndEveryCommittedSampleKept()
    {
        var dataDir = TempDir.Create();
        using var server = await ServerProcess.StartAsync(dataDir, "Engine=rules", "Capture:BatchSize=50");
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var load = Task.Run(async () =>
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, 1_000_000), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = stop.Token }, async (i, ct) =>
            {
                try
                {
                    await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions", Ticket(i), ct);
                    Interlocked.Increment(ref sent);
                }
                catch (Exception) when (ct.IsCancellationRequested || server.HasExited)
                {
                }
            });
        });

        // Read the writer's committed count under load, then kill without warning.
        long committed = 0;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (committed < 500 && DateTime.UtcNow < deadline)
        {
            committed = (await server.StatsAsync())["capture"]!["written"]!.GetValue<long>();
            await Task.Delay(50);
        }
        server.Kill();
        await stop.CancelAsync();
        await load.ContinueWith(_ => { }, TaskScheduler.Default);

        Assert.True(committed >= 500, $"only {committed} committed before the deadline");
        var (samples, totals, integrity) = await InspectAsync(dataDir);
        Assert.Equal("ok", integrity);
        Assert.True(samples >= committed, $"{samples} stored < {committed} committed before the kill");
        Assert.Equal(samples, totals); // aggregates are written in the same transaction: never half a batch

        // And it reopens cleanly.
        await using var reopened = await TestServer.StartAsync(dataDir);
        Assert.Equal(samples, (await reopened.GetJsonAsync("/api/ml/comments/ml-stats"))["stats"]!["total_samples"]!.GetValue<long>());
    }

    [Fact]
    public async Task Sigterm_AfterAnswers_DrainsEverySampleBeforeExit()
    {
        var dataDir = TempDir.Create();
        using var server = await ServerProcess.StartAsync(dataDir, "Engine=rules", "Capture:BatchSize=20");
        var answered = new ConcurrentBag<int>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 2_000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var response = await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions", Ticket(i), ct);
            response.EnsureSuccessStatusCode();
            answered.Add(i);
        });

        var took = await server.TerminateAsync(TimeSpan.FromSeconds(40));
        Assert.Equal(0, server.ExitCode);
        Assert.True(took < TimeSpan.FromSeconds(35), $"exit took {took}");
        var (samples, totals, integrity) = await InspectAsync(dataDir);
        Assert.Equal("ok", integrity);
        Assert.Equal(answered.Count, samples);
        Assert.Equal(samples, totals);
    }
}
