using CommentFlow.OwnModel;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CommentFlow.Tests.Fakes;
using CommentFlow.Tests.Storage;
using CommentFlow.Training;
using Xunit.Abstractions;

namespace CommentFlow.Tests.Training;

/// <summary>Several instances on one PostgreSQL database and one models folder (<c>ModelsDir</c>) serve the same active version.</summary>
public sealed class SharedModelsTests(ITestOutputHelper output)
{
    private static ModelManifest Manifest(string version) => new()
    {
        Version = version, CreatedAt = DateTimeOffset.UnixEpoch, DataFingerprint = new string('0', 32), Samples = 1, RetrievalItems = 1,
        Neighbours = 1, Temperature = 1, CalibrationBounds = [], CalibrationValues = [], CrossValidatedRougeL = 0,
    };

    [Fact]
    public async Task TwoInstances_Postgres_SharedModelsFolder_PromoteAndRollbackThroughOneReachTheOther()
    {
        var modelsDir = Path.Combine(TempDir.Create(), "models");
        var registry = new ModelRegistry(modelsDir);
        var store = await Stores.OpenAsync(TempDir.Create());
        await store.WriteAsync(OwnModelTests.History("A"), null, CancellationToken.None);
        var a = await OwnModelTests.TrainAsync(store, registry);
        var storeB = await Stores.OpenAsync(TempDir.Create());
        await storeB.WriteAsync(OwnModelTests.History("B"), null, CancellationToken.None);
        var b = await OwnModelTests.TrainAsync(storeB, registry); // registered beside A, not active
        Assert.Equal(a.Version, registry.Read().Active);

        var connectionString = await TestPostgres.CreateDatabaseAsync();
        // Local:ReloadSeconds left at its default (2): the figure measured is the one operators get.
        string[] settings = ["Engine=local", "Cache:TtlSeconds=0", "Storage:Provider=postgres", $"Storage:ConnectionString={connectionString}", $"ModelsDir={modelsDir}"];
        using var first = await ServerProcess.StartAsync(TempDir.Create(), settings);
        using var second = await ServerProcess.StartAsync(TempDir.Create(), settings);

        async Task<string?> ServingAsync(ServerProcess server) =>
            (await server.Client.GetFromJsonAsync<JsonObject>("/api/ml/comments/models"))!["serving"]?.GetValue<string>();
        async Task<TimeSpan> UntilServedAsync(ServerProcess server, string version)
        {
            var clock = Stopwatch.StartNew();
            while (await ServingAsync(server) != version)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"{version} not served within 60 s"); // a hang, not a slow poll
                await Task.Delay(50);
            }
            return clock.Elapsed;
        }
        await UntilServedAsync(first, a.Version);
        await UntilServedAsync(second, a.Version);

        using (var promoted = await first.Client.PostAsync($"/api/ml/comments/models/{b.Version}/promote", null))
        {
            Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
            Assert.Equal(b.Version, JsonNode.Parse(await promoted.Content.ReadAsStringAsync())!["active"]!.GetValue<string>());
        }
        var promote = await UntilServedAsync(second, b.Version);
        await UntilServedAsync(first, b.Version);
        var answer = JsonNode.Parse(await (await second.Client.PostAsync("/api/ml/comments/suggestions",
            JsonContent("""{"summary":"The printer on floor 3 jams and prints blank pages","description":"printer"}"""))).Content.ReadAsStringAsync())!;
        Assert.Equal($"own-{b.Version}", answer["model"]!.GetValue<string>());
        Assert.EndsWith("(B).", answer["suggestions"]![0]!["text"]!.GetValue<string>(), StringComparison.Ordinal);

        using (var rolledBack = await first.Client.PostAsync("/api/ml/comments/models/rollback", null))
        {
            Assert.Equal(HttpStatusCode.OK, rolledBack.StatusCode);
        }
        var rollback = await UntilServedAsync(second, a.Version);
        using (var nothingLeft = await first.Client.PostAsync("/api/ml/comments/models/rollback", null))
        {
            Assert.Equal(HttpStatusCode.Conflict, nothingLeft.StatusCode);
        }
        using (var unknown = await second.Client.PostAsync("/api/ml/comments/models/no-such-version/promote", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        // Reported, not asserted: B's poll every 2 s decides it, and a loaded machine delays a poll, not the outcome.
        output.WriteLine($"promote through A served by B after {promote.TotalMilliseconds:F0} ms; rollback after {rollback.TotalMilliseconds:F0} ms (Local:ReloadSeconds=2)");
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    /// <summary>Without the lock file, two read-modify-writes that overlap lose one of the two versions.</summary>
    [Fact]
    public async Task Registry_ConcurrentWritersOnSeveralThreads_LoseNoUpdate()
    {
        var dir = TempDir.Create();
        const int Writers = 8, Each = 25;
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var registry = new ModelRegistry(dir); // one object per writer, as separate processes have
            for (var i = 0; i < Each; i++)
            {
                await registry.RegisterAsync(Manifest($"w{w}-{i}"), activate: i % 5 == 0);
            }
        })));

        var state = new ModelRegistry(dir).Read();
        Assert.Equal(Writers * Each, state.Versions.Count);
        Assert.Equal(Writers * Each, state.Versions.Select(v => v.Version).Distinct().Count());
        // Every activation was recorded: the active one and each it replaced.
        Assert.Equal(Writers * (Each / 5), state.Previous.Count + 1);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    /// <summary>Separate <c>commentflow models promote</c> processes on one folder: each promote is kept in the history.</summary>
    [Fact]
    public async Task Registry_PromotesFromSeveralProcessesAtOnce_EveryOneRecorded()
    {
        var dir = TempDir.Create();
        const int Processes = 6;
        var registry = new ModelRegistry(dir);
        for (var i = 0; i < Processes; i++)
        {
            await registry.RegisterAsync(Manifest($"v{i}"), activate: false);
        }

        var runs = Enumerable.Range(0, Processes).Select(async i =>
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in (string[])["exec", Path.Combine(AppContext.BaseDirectory, "commentflow.dll"), "models", "promote", $"v{i}", $"--CommentFlow:ModelsDir={dir}"])
            {
                info.ArgumentList.Add(arg);
            }
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, Output: await stdout + await stderr);
        }).ToList();
        foreach (var run in await Task.WhenAll(runs))
        {
            Assert.True(run.ExitCode == 0, run.Output);
        }

        var state = registry.Read();
        // Each promote moved the active one before it into the history: none was lost to a concurrent writer.
        Assert.Equal(Processes - 1, state.Previous.Count);
        Assert.Equal(Enumerable.Range(0, Processes).Select(i => $"v{i}").Order(), state.Previous.Append(state.Active!).Order());
    }

    [Fact]
    public async Task Train_IntoTheModelsFolder_NoHalfWrittenVersionOrStagingFolderLeft()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync(OwnModelTests.History("A"), null, CancellationToken.None);
        var registry = new ModelRegistry(Path.Combine(dataDir, "ml_models"));

        var (one, two) = (await OwnModelTests.TrainAsync(store, registry), await OwnModelTests.TrainAsync(store, registry));

        Assert.NotEqual(one.Version, two.Version);
        Assert.Equal(new[] { one.Version, two.Version }, Directory.GetDirectories(registry.ModelsDir).Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal));
        Assert.All(registry.Read().Versions, v => Assert.True(File.Exists(Path.Combine(registry.PathOf(v.Version), ModelFiles.Manifest))));
    }
}
