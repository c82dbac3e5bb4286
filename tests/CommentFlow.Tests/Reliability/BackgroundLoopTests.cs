using System.Text.Json.Nodes;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Engines.Local;
using CommentFlow.OwnModel;
using CommentFlow.Tests.Fakes;
using CommentFlow.Tests.Training;
using CommentFlow.Training;
using CommentFlow.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CommentFlow.Tests.Reliability;

/// <summary>
/// A background loop that fails logs it and goes on: each test makes one loop throw on the real server, then checks that
/// the loop did its next piece of work (not only that the server still answers, which the host's backstop alone would give).
/// </summary>
public sealed class BackgroundLoopTests
{
    [Fact]
    public async Task Shadow_AComparisonThatThrows_IsCountedAndLogged_AndTheNextOneIsCompared()
    {
        var dataDir = await TrainedDataDirAsync();
        var log = new RecordingLoggerProvider();
        await using var server = await TestServer.StartAsync(dataDir, b => b.Logging.AddProvider(log));
        await OwnModelTests.WaitUntilAsync(async () => (await server.GetJsonAsync("/api/ml/comments/models"))["serving"] is not null);
        var shadow = server.Services.GetRequiredService<ShadowEvaluator>();
        var ticket = new TicketContext { Summary = "VPN drops every 5 minutes when working from home", Description = "vpn ticket", Language = "en" };

        // An answer that claims success with no suggestion: comparing it throws inside the loop.
        shadow.Offer(ticket, new EngineResult { Engine = EngineNames.Ollama, Model = "m" });
        shadow.Offer(ticket, new EngineResult { Engine = EngineNames.Ollama, Model = "m", Suggestions = [new Suggestion("Please reconnect the VPN client.", "action", 0.8)] });

        await OwnModelTests.WaitUntilAsync(() => Task.FromResult(shadow.Stats().Compared == 1));
        Assert.Equal(1, shadow.Stats().Failed);
        Assert.Contains(log.Entries, e => e.EventId.Id == 4201 && e.Level == LogLevel.Error);
        var models = await server.GetJsonAsync("/api/ml/comments/models");
        Assert.Equal(1, models["shadow"]!["failed"]!.GetValue<long>());
        var metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Contains("commentflow_shadow_failed_total 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelHost_AVersionThatThrowsOnLoad_KeepsThePreviousInService_AndLoadsItOnceRepaired()
    {
        var dataDir = await TrainedDataDirAsync();
        var registry = new ModelRegistry(Path.Combine(dataDir, "ml_models"));
        var first = registry.Read().Active!;
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync(OwnModelTests.History("B"), null, CancellationToken.None);
        var second = await OwnModelTests.TrainAsync(store, registry);

        // A manifest that parses but cannot be loaded: a negative item count makes the loader throw an
        // ArgumentOutOfRangeException, none of the I/O or format exceptions a loader is usually written to expect.
        var manifestPath = Path.Combine(registry.PathOf(second.Version), ModelFiles.Manifest);
        var good = await File.ReadAllTextAsync(manifestPath);
        var broken = JsonNode.Parse(good)!;
        broken["retrieval_items"] = -1;
        await File.WriteAllTextAsync(manifestPath, broken.ToJsonString());

        var log = new RecordingLoggerProvider();
        await using var server = await TestServer.StartAsync(dataDir, b => b.Logging.AddProvider(log), "Engine=local", "Local:ReloadSeconds=1");
        await OwnModelTests.WaitUntilAsync(async () => (await server.GetJsonAsync("/api/ml/comments/models"))["serving"]?.GetValue<string>() == first);

        await registry.PromoteAsync(second.Version);
        await OwnModelTests.WaitUntilAsync(() => Task.FromResult(log.Entries.Any(e => e.EventId.Id == 4002)));
        var answer = await server.SuggestAsync(new { summary = "VPN drops every 5 minutes when working from home", description = "vpn ticket" });
        Assert.Equal($"own-{first}", answer["model"]!.GetValue<string>());

        // The loop is still polling: once the version is repaired it is served.
        await File.WriteAllTextAsync(manifestPath, good);
        await OwnModelTests.WaitUntilAsync(async () => (await server.GetJsonAsync("/api/ml/comments/models"))["serving"]?.GetValue<string>() == second.Version);
    }

    [Fact]
    public async Task TrainingJob_RunningWhenTheServerStops_IsCancelled_AndAwaitedBeforeStopReturns()
    {
        var dataDir = TempDir.Create();
        var inner = await Stores.OpenAsync(dataDir);
        await inner.WriteAsync(OwnModelTests.History("A"), null, CancellationToken.None);
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The job is held while it reads its data; once the server begins to stop, it takes a while to wind down, as a
        // job in the middle of a fit does. Stop must wait for it rather than return with the job still running.
        var store = new GatedStore(inner)
        {
            BeforeRead = async cancellationToken =>
            {
                reading.TrySetResult();
                await stopping.Task;
                await Task.Delay(500, CancellationToken.None);
                cancellationToken.ThrowIfCancellationRequested();
            },
        };
        var server = await TestServer.StartAsync(dataDir, b => b.Services.AddSingleton<ITrainingStore>(store), "Training:MinSamples=50");
        server.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
        var job = server.Services.GetRequiredService<TrainingJobs>().Start(new TrainingRequest(Promote: true))!;
        await reading.Task;

        await server.StopAsync();

        Assert.True(job.Task!.IsCompleted, $"the job was still {job.State} when the server had stopped");
        Assert.Equal(TrainingJobState.Cancelled, job.State);
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Retention_ARunThatThrows_IsLogged_AndTheNextIntervalDeletes()
    {
        var dataDir = TempDir.Create();
        var inner = await Stores.OpenAsync(dataDir);
        var now = new DateTimeOffset(2027, 3, 1, 12, 0, 0, TimeSpan.Zero);
        await inner.WriteAsync([Some.Sample(at: now.AddDays(-45))], null, CancellationToken.None);
        var store = new GatedStore(inner) { FailingDeletes = 1 };
        var clock = new FakeTimeProvider(now);
        var log = new RecordingLoggerProvider();
        await using var server = await TestServer.StartAsync(dataDir, b =>
        {
            b.Services.AddSingleton<ITrainingStore>(store);
            b.Services.AddSingleton<TimeProvider>(clock);
            b.Logging.AddProvider(log);
        }, "Engine=rules", "Retention:Days=30", "Retention:IntervalMinutes=60");

        await OwnModelTests.WaitUntilAsync(() => Task.FromResult(log.Entries.Any(e => e.EventId.Id == 1202)));
        Assert.Equal(1, (await inner.GetStatsAsync(CancellationToken.None)).TotalSamples);

        clock.Advance(TimeSpan.FromMinutes(60));
        await OwnModelTests.WaitUntilAsync(async () =>
            (await server.GetJsonAsync("/api/ml/comments/ml-stats"))["retention"]!["deleted_total"]!.GetValue<long>() == 1);
        Assert.Equal(0, (await inner.GetStatsAsync(CancellationToken.None)).TotalSamples);
    }

    private static async Task<string> TrainedDataDirAsync()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync(OwnModelTests.History("A"), null, CancellationToken.None);
        await OwnModelTests.TrainAsync(store, new ModelRegistry(Path.Combine(dataDir, "ml_models")));
        return dataDir;
    }
}
