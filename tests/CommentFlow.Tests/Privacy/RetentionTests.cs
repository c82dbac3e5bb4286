using System.Text.Json.Nodes;
using CommentFlow.Dataset;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using CommentFlow.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CommentFlow.Tests.Privacy;

public sealed class RetentionTests
{
    private static readonly DateTimeOffset Now = new(2027, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Server_RetentionDays30_DeletesOnlyOlderSamplesAtStartThenEveryInterval()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        var byAge = new[] { 400, 45, 31, 29.5, 1 }.ToDictionary(days => days, days => Some.Sample(
            Some.Context(issueType: days > 30 ? "Incident" : "Bug"), suggestions: (int)days % 4, at: Now.AddDays(-days)));
        await store.WriteAsync([.. byAge.Values], null, CancellationToken.None);
        await StoreEvidence.InsertFeedbackAsync(dataDir, byAge[45].ContextHash, byAge[45].Context.TicketKey, at: Now.AddDays(-44));
        await StoreEvidence.InsertFeedbackAsync(dataDir, byAge[1].ContextHash, byAge[1].Context.TicketKey, at: Now.AddHours(-20));

        var clock = new FakeTimeProvider(Now);
        await using var server = await TestServer.StartAsync(dataDir, b => b.Services.AddSingleton<TimeProvider>(clock),
            "Engine=rules", "Retention:Days=30", "Retention:IntervalMinutes=60");

        // The run at start: the three samples past 30 days go, with the feedback on one of them.
        var retention = await WaitForRetentionAsync(server, deletedTotal: 3);
        Assert.Equal(30, retention["days"]!.GetValue<int>());
        Assert.Equal(Now, retention["last_run"]!.GetValue<DateTimeOffset>());
        Assert.Equal(1, retention["feedback_deleted_total"]!.GetValue<long>());
        Assert.Equal(new[] { byAge[29.5].ContextHash, byAge[1].ContextHash }.Order(), (await Stores.ReadAllAsync(dataDir)).Select(s => s.ContextHash).Order());
        Assert.Equal(1, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM feedback"));
        await StoreEvidence.AssertStatsMatchRowsAsync(dataDir);

        // A day later on the fake clock the next runs come due; the 29.5-day sample is now past the limit.
        clock.Advance(TimeSpan.FromDays(1));
        retention = await WaitForRetentionAsync(server, deletedTotal: 4);
        Assert.Equal(Now.AddDays(1), retention["last_run"]!.GetValue<DateTimeOffset>());
        Assert.Equal([byAge[1].ContextHash], (await Stores.ReadAllAsync(dataDir)).Select(s => s.ContextHash));
        await StoreEvidence.AssertStatsMatchRowsAsync(dataDir);
    }

    [Fact]
    public async Task RetentionService_DefaultOptions_OffNothingDeleted()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync([Some.Sample(at: Now.AddYears(-10))], null, CancellationToken.None);
        var options = Options.Create(new RetentionOptions());
        var status = new RetentionStatus(options);
        using var service = new RetentionService(store, new SnapshotStore(Path.Combine(dataDir, "snapshots")), options, status, new FakeTimeProvider(Now),
            NullLogger<RetentionService>.Instance);

        await service.StartAsync(CancellationToken.None);
        // Off means the job ends at once; when on, it would keep running until stopped and this would time out.
        await service.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, options.Value.Days);
        Assert.Null(status.Snapshot().LastRun);
        Assert.Equal(1, (await store.GetStatsAsync(CancellationToken.None)).TotalSamples);
    }

    [Fact]
    public async Task RetentionService_SnapshotHoldingAnOldSample_DeletedWithIt()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        var snapshots = new SnapshotStore(Path.Combine(dataDir, "snapshots"));
        var cleaning = new CleaningOptions { DropRulesEngine = false, MinConfidence = 0 };
        await store.WriteAsync([Some.Sample(at: Now.AddDays(-2))], null, CancellationToken.None);
        var (recent, _) = await snapshots.TakeAsync(store, cleaning, TimeProvider.System, CancellationToken.None);
        await store.WriteAsync([Some.Sample(at: Now.AddDays(-90))], null, CancellationToken.None);
        var (withOld, _) = await snapshots.TakeAsync(store, cleaning, TimeProvider.System, CancellationToken.None);
        Assert.NotEqual(recent.Id, withOld.Id);

        var options = Options.Create(new RetentionOptions { Days = 30 });
        var status = new RetentionStatus(options);
        using var service = new RetentionService(store, snapshots, options, status, new FakeTimeProvider(Now), NullLogger<RetentionService>.Instance);
        await service.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (status.Snapshot().LastRun is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        await service.StopAsync(CancellationToken.None);

        Assert.Equal(1, status.Snapshot().DeletedTotal);
        Assert.Null(snapshots.Find(withOld.Id));
        Assert.NotNull(snapshots.Find(recent.Id));
    }

    [Fact]
    public async Task Server_RetentionOff_MlStatsSaysSoAndKeepsOldSamples()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync([Some.Sample(at: Now.AddYears(-10))], null, CancellationToken.None);
        await using var server = await TestServer.StartAsync(dataDir, "Engine=rules");

        var retention = (await server.GetJsonAsync("/api/ml/comments/ml-stats"))["retention"]!;
        Assert.Equal(0, retention["days"]!.GetValue<int>());
        Assert.Null(retention["last_run"]);
        Assert.Equal(0, retention["deleted_total"]!.GetValue<long>());
        await server.StopAsync(); // every hosted service has stopped: nothing can delete later
        Assert.Equal(1, (await store.GetStatsAsync(CancellationToken.None)).TotalSamples);
    }

    private static async Task<JsonNode> WaitForRetentionAsync(TestServer server, long deletedTotal)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var retention = (await server.GetJsonAsync("/api/ml/comments/ml-stats"))["retention"]!;
            if (retention["deleted_total"]!.GetValue<long>() >= deletedTotal)
            {
                Assert.Equal(deletedTotal, retention["deleted_total"]!.GetValue<long>());
                return retention;
            }
            await Task.Delay(20);
        }
        Assert.Fail($"retention never reached {deletedTotal} deleted samples");
        return null!;
    }
}
