using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using CommentFlow.Storage;
using CommentFlow.Tests.Fakes;

namespace CommentFlow.Tests.Reliability;

/// <summary>A server process killed without warning or stopped by a signal, on both backends: nothing acknowledged is lost.</summary>
public sealed partial class CrashAndStopTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public static TheoryData<string> Backends => [ServerBackend.Sqlite, ServerBackend.Postgres];

    private static object Ticket(int i) => new { ticket_key = $"K-{i}", summary = $"Crash test ticket {i}", description = "The portal returns error 500", issue_type = "Incident" };

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Kill9_DuringBurst_StoreIntactAndEveryCommittedSampleKept(string backendName)
    {
        var backend = await ServerBackend.CreateAsync(backendName);
        using var server = await ServerProcess.StartAsync(backend.DataDir, ["Engine=rules", "Capture:BatchSize=50", .. backend.Settings]);
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var load = Task.Run(async () =>
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, 1_000_000), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = stop.Token }, async (i, ct) =>
            {
                try
                {
                    using var response = await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions", Ticket(i), ct);
                    if (response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref sent);
                    }
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
        var (samples, totals, integrity) = await backend.InspectAsync();
        output.WriteLine($"{backendName}: {sent} answered before the kill, {committed} committed per the writer's counter, {samples} stored after, integrity {integrity}");
        Assert.Equal("ok", integrity);
        Assert.True(samples >= committed, $"{samples} stored < {committed} committed before the kill");
        Assert.Equal(samples, totals); // aggregates are written in the same transaction: never half a batch

        // And it reopens cleanly.
        await using var reopened = await TestServer.StartAsync(backend.DataDir, backend.Settings);
        Assert.Equal(samples, (await reopened.GetJsonAsync("/api/ml/comments/ml-stats"))["stats"]!["total_samples"]!.GetValue<long>());
    }

    /// <summary>
    /// Killed while the archiving job packs samples into blocks (SQLite): every sample is in exactly one place, rows or
    /// archive, none lost and none twice, the stats unchanged; the next start archives the rest.
    /// </summary>
    [Fact]
    public async Task Kill9_WhileArchiving_EverySampleOnceStatsUnchanged()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        var old = new DateTimeOffset(2026, 9, 1, 0, 0, 0, TimeSpan.Zero);
        var samples = Enumerable.Range(0, 4_000).Select(i => Some.Sample(Some.Context(summary: $"Archive crash ticket {i}"), at: old.AddMinutes(i))).ToList();
        await store.WriteAsync(samples, null, CancellationToken.None);
        var stats = StoreCopy.StatsLines(await store.GetStatsAsync(CancellationToken.None));
        string[] settings = ["Engine=rules", "Storage:ArchiveBlock=250"];

        long archived;
        using (var server = await ServerProcess.StartAsync(dataDir, settings))
        {
            // The first block committed, the next ones being packed (zstd 19, ~0.3 s a block here): kill.
            archived = 0;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (archived == 0 && DateTime.UtcNow < deadline)
            {
                archived = (await server.StatsAsync())["stats"]!["archived_samples"]!.GetValue<long>();
            }
            server.Kill();
        }

        Assert.True(archived > 0, "nothing was archived before the deadline");
        var (rows, totals, integrity) = await ServerBackend.OnSqlite(dataDir).InspectAsync();
        Assert.Equal("ok", integrity);
        Assert.Equal(samples.Count, totals);
        var reopened = await Stores.OpenAsync(dataDir);
        var inArchive = (await reopened.GetStatsAsync(CancellationToken.None)).ArchivedSamples;
        output.WriteLine($"killed with {archived} archived per the stats, then {inArchive} archived and {rows} rows");
        Assert.Equal(samples.Count, rows + inArchive);
        Assert.Equal(samples.Select(s => s.ContextHash), (await Stores.ReadAllAsync(dataDir)).Select(s => s.ContextHash));
        Assert.Equal(stats, StoreCopy.StatsLines(await reopened.GetStatsAsync(CancellationToken.None)));
        Assert.Equal(0, inArchive % 250);

        // The next start goes on where the kill stopped it.
        using (var server = await ServerProcess.StartAsync(dataDir, settings))
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while ((await server.StatsAsync())["stats"]!["archived_samples"]!.GetValue<long>() < 3_750 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
            Assert.Equal(3_750, (await server.StatsAsync())["stats"]!["archived_samples"]!.GetValue<long>());
        }
    }

    [Fact]
    public async Task Sigterm_AfterAnswers_DrainsEverySampleBeforeExit()
    {
        var backend = await ServerBackend.CreateAsync(ServerBackend.Sqlite);
        using var server = await ServerProcess.StartAsync(backend.DataDir, "Engine=rules", "Capture:BatchSize=20");
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
        var (samples, totals, integrity) = await backend.InspectAsync();
        Assert.Equal("ok", integrity);
        Assert.Equal(answered.Count, samples);
        Assert.Equal(samples, totals);
    }

    /// <summary>
    /// The writer is held back (the test holds the store's write lock) until the queue is full and overflowing, then the
    /// lock goes and SIGTERM follows at once: every queued sample is written before the process exits, within the drain
    /// timeout, and what overflowed is exactly what was counted as dropped.
    /// </summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Sigterm_WithAFullQueue_EveryQueuedSampleWrittenWithinTheDrainTimeout(string backendName)
    {
        const int Capacity = 3_000;
        const int DrainSeconds = 20;
        var backend = await ServerBackend.CreateAsync(backendName);
        using var server = await ServerProcess.StartAsync(backend.DataDir,
            ["Engine=rules", $"Capture:QueueCapacity={Capacity}", "Capture:BatchSize=500", $"Capture:DrainTimeoutSeconds={DrainSeconds}", "Cache:TtlSeconds=0", .. backend.Settings]);
        // One sample first, so the store's tables exist before the test locks them.
        (await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions", Ticket(-1))).EnsureSuccessStatusCode();
        await WaitAsync(server, s => s["capture"]!["written"]!.GetValue<long>() == 1);

        var block = await backend.BlockWritersAsync();
        var answered = 0;
        var next = 0;
        while ((await server.StatsAsync())["capture"]!["dropped"]!.GetValue<long>() < 200)
        {
            await Parallel.ForEachAsync(Enumerable.Range(next, 500), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            {
                using var response = await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions", Ticket(i), ct);
                response.EnsureSuccessStatusCode();
                Interlocked.Increment(ref answered);
            });
            next += 500;
            Assert.True(next < 20_000, "the queue never filled");
        }
        var before = await server.StatsAsync();
        var capture = before["capture"]!;
        var enqueued = capture["enqueued"]!.GetValue<long>();
        var dropped = capture["dropped"]!.GetValue<long>();
        // Full: the queue holds its capacity (the writer may hold one more batch it could not write yet).
        Assert.True(capture["queue_depth"]!.GetValue<int>() >= Capacity - 500, capture.ToJsonString());
        Assert.Equal(answered + 1, enqueued + dropped);

        await block.DisposeAsync();
        var took = await server.TerminateAsync(TimeSpan.FromSeconds(DrainSeconds + 15));
        output.WriteLine($"{backendName}: {answered + 1} answered, {enqueued} queued, {dropped} dropped (queue full); exit after SIGTERM in {took.TotalSeconds:F1} s");

        Assert.Equal(0, server.ExitCode);
        Assert.True(took < TimeSpan.FromSeconds(DrainSeconds), $"exit took {took}");
        var (samples, totals, integrity) = await backend.InspectAsync();
        Assert.Equal("ok", integrity);
        Assert.Equal(enqueued, samples); // zero loss: every sample that was queued is stored
        Assert.Equal(samples, totals);
        var summary = server.Output.Select(l => CaptureStopped().Match(l)).Single(m => m.Success);
        Assert.Equal(enqueued.ToString(System.Globalization.CultureInfo.InvariantCulture), summary.Groups["written"].Value);
        Assert.Equal(("0", "0"), (summary.Groups["quarantined"].Value, summary.Groups["lost"].Value));
    }

    /// <summary>The store stays locked through the stop: the process still exits within the drain timeout and says exactly how many it lost.</summary>
    [Fact]
    public async Task Sigterm_StoreBlockedThroughTheStop_ExitsWithinTheDrainTimeoutCountingTheLost()
    {
        const int DrainSeconds = 3;
        var backend = await ServerBackend.CreateAsync(ServerBackend.Postgres);
        using var server = await ServerProcess.StartAsync(backend.DataDir,
            ["Engine=rules", "Capture:BatchSize=100", $"Capture:DrainTimeoutSeconds={DrainSeconds}", .. backend.Settings]);
        (await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions", Ticket(-1))).EnsureSuccessStatusCode();
        await WaitAsync(server, s => s["capture"]!["written"]!.GetValue<long>() == 1);

        await using var block = await backend.BlockWritersAsync();
        await Parallel.ForEachAsync(Enumerable.Range(0, 1_000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            using var response = await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions", Ticket(i), ct);
            response.EnsureSuccessStatusCode();
        });
        var took = await server.TerminateAsync(TimeSpan.FromSeconds(30));

        output.WriteLine($"store blocked: exit after SIGTERM in {took.TotalSeconds:F1} s (drain timeout {DrainSeconds} s)");
        Assert.True(took < TimeSpan.FromSeconds(DrainSeconds + 5), $"exit took {took}");
        var summary = server.Output.Select(l => CaptureStopped().Match(l)).Single(m => m.Success);
        Assert.Equal("1", summary.Groups["written"].Value);
        Assert.Equal("1000", summary.Groups["lost"].Value); // nothing silently gone: all 1,000 reported lost
        await block.DisposeAsync();
        Assert.Equal(1, (await backend.InspectAsync()).Samples);
    }

    private static async Task WaitAsync(ServerProcess server, Func<System.Text.Json.Nodes.JsonObject, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition(await server.StatsAsync()))
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 30 s");
            await Task.Delay(50);
        }
    }

    [GeneratedRegex(@"Capture stopped: (?<written>\d+) written, (?<duplicates>\d+) duplicates, (?<quarantined>\d+) quarantined, (?<lost>\d+) lost")]
    private static partial Regex CaptureStopped();
}
