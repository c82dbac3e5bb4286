using CommentFlow.OwnModel;
using CommentFlow.Cli;
using CommentFlow.Storage;
using CommentFlow.Tests.Legacy;
using Microsoft.Extensions.Logging.Abstractions;

namespace CommentFlow.Tests.Cli;

[Collection(CliCollection.Name)]
public sealed class CliTests
{
    private static Task<int> RunAsync(params string[] args) => CommentFlow.Cli.CommandLine.Build().Parse(args).InvokeAsync();

    [Fact]
    public async Task Suggest_WithoutOllama_AnswersFromRulesAndCapturesTheSample()
    {
        var dataDir = TempDir.Create();
        var code = await RunAsync("suggest", "--summary", "Error en login", "--description", "Usuarios no pueden acceder", "--comment", "Revisando logs",
            "--issue-type", "Incident", "--json", $"--CommentFlow:DataDir={dataDir}", "--CommentFlow:Ollama:Url=http://127.0.0.1:9");
        Assert.Equal(0, code);

        var store = await Stores.OpenAsync(dataDir);
        var stats = await store.GetStatsAsync(CancellationToken.None);
        Assert.Equal(1, stats.TotalSamples);
        Assert.Equal(1, stats.ByIssueType["Incident"]);
        Assert.Equal(1, stats.ByEngine["rules"]);
        await foreach (var s in store.ReadAllAsync(CancellationToken.None))
        {
            Assert.Equal("50e02266fd1c3b79fcb987fae3d94add", s.ContextHash);
        }
    }

    [Fact]
    public async Task Suggest_NeitherSummaryNorDescription_Refused()
    {
        Assert.NotEqual(0, await RunAsync("suggest", "--CommentFlow:DataDir=" + TempDir.Create()));
    }

    [Fact]
    public async Task StatsAndExport_OnAStore_SucceedAndWriteTheDataset()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync([Some.Sample(suggestions: 2), Some.Sample(suggestions: 3)], null, CancellationToken.None);

        Assert.Equal(0, await RunAsync("stats", $"--CommentFlow:DataDir={dataDir}"));
        var output = Path.Combine(dataDir, "out", "dataset.json");
        Assert.Equal(0, await RunAsync("export", "--out", output, $"--CommentFlow:DataDir={dataDir}"));
        var rows = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(output))!.AsArray();
        Assert.Equal(5, rows.Count);
        Assert.Equal(0, await RunAsync("export", $"--CommentFlow:DataDir={dataDir}"));
        Assert.True(File.Exists(Path.Combine(dataDir, "ml_models", "training_dataset.json")));
    }

    [Fact]
    public async Task DatasetSnapshotAndTrain_GateForceAndSnapshot_ExitCodesAndRecordedSnapshot()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync([.. Enumerable.Range(0, 40).Select(i => Some.Sample(Some.Context(summary: $"Printer {i} jams on floor {i % 4}"), suggestions: 3, engine: "ollama"))],
            null, CancellationToken.None);
        var data = $"--CommentFlow:DataDir={dataDir}";

        Assert.Equal(0, await RunAsync("dataset", "snapshot", "--json", data));
        Assert.Equal(0, await RunAsync("dataset", "snapshot", data)); // unchanged data: the same snapshot
        var snapshots = new CommentFlow.Dataset.SnapshotStore(Path.Combine(dataDir, "snapshots"));
        var snapshot = Assert.Single(snapshots.List());
        Assert.Equal(0, await RunAsync("dataset", "snapshots", data));
        Assert.Equal(0, await RunAsync("dataset", "snapshots", "--json", data));

        Assert.Equal(1, await RunAsync("train", data)); // 40 samples < 200
        Assert.Equal(1, await RunAsync("train", "--snapshot", "0123456789abcdef", data));
        Assert.Equal(0, await RunAsync("train", "--snapshot", snapshot.Id, "--force", data));
        Assert.Equal(0, await RunAsync("train", data, "--CommentFlow:Training:MinSamples=20", "--CommentFlow:Training:MinSamplesPerClass=10"));
        Assert.Equal(0, await RunAsync("models", "list", data));

        var versions = new ModelRegistry(Path.Combine(dataDir, "ml_models")).Read().Versions;
        Assert.Equal(2, versions.Count);
        Assert.All(versions, v => Assert.Equal(snapshot.Id, v.SnapshotId));
        Assert.Equal([true, false], versions.Select(v => v.GateOverridden));
    }
}
