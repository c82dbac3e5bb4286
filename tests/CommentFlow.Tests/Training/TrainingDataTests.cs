using CommentFlow.OwnModel;
using System.Text.Json;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.Storage;
using CommentFlow.Tests.Fakes;
using CommentFlow.Training;

namespace CommentFlow.Tests.Training;

/// <summary>Training from snapshots (traceable, repeatable) and the minimum-data gate, with the default thresholds.</summary>
public sealed class TrainingDataTests
{
    private readonly FakeClock _clock = new(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));

    private static readonly (string Summary, string Type, string Answer)[] Topics =
    [
        ("Cannot log in, password rejected", SuggestionTypes.Diagnostic, "Which account is it and what message do you see?"),
        ("Server disk full on the database host", SuggestionTypes.Action, "Freed space on the data volume and rotated the logs."),
        ("Thanks, the report works again", SuggestionTypes.Resolution, "Glad it works again, closing the ticket."),
    ];

    /// <summary>Ollama-answered tickets, <paramref name="counts"/> of each type in <see cref="Topics"/> order.</summary>
    private static List<TrainingSample> Typed(string tag, params int[] counts) =>
        [.. counts.SelectMany((n, t) => Enumerable.Range(0, n).Select(i =>
        {
            var (summary, type, answer) = Topics[t];
            var context = new TicketContext { Summary = $"{summary} #{tag}{i}", Description = $"ticket {tag} {i} of {type}", Language = "en" };
            return TrainingSample.From(context, context.Hash(), [new Suggestion(answer, type, 0.9)], "llama3.2", "ollama", 900, DateTimeOffset.UnixEpoch);
        }))];

    /// <summary>Imported history: untyped agents' replies, no class for the gate.</summary>
    private static List<TrainingSample> History(string tag, int count) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var (summary, _, answer) = Topics[i % Topics.Length];
            var context = new TicketContext { Summary = $"{summary} #{tag}{i}", Description = $"history {tag} {i}", Language = "en" };
            return TrainingSample.From(context, context.Hash(), [new Suggestion(answer, "", 1.0)], "history", "history", 0, DateTimeOffset.UnixEpoch);
        })];

    private sealed record Setup(ITrainingStore Store, SnapshotStore Snapshots, ModelRegistry Registry);

    private static async Task<Setup> StoreWithAsync(IReadOnlyList<TrainingSample> samples)
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync(samples, null, CancellationToken.None);
        return new Setup(store, new SnapshotStore(Path.Combine(dataDir, "snapshots")), new ModelRegistry(Path.Combine(dataDir, "ml_models")));
    }

    private Task<TrainingResult> TrainAsync(Setup setup, TrainingRequest request, TrainingOptions? options = null)
    {
        _clock.Advance(TimeSpan.FromMinutes(1)); // a new version name each run
        return ModelTrainer.TrainAsync(setup.Store, setup.Snapshots, request, options ?? new TrainingOptions(), new CleaningOptions(), setup.Registry, _clock, null, CancellationToken.None);
    }

    [Fact]
    public async Task Train_FewerSamplesThanMinSamples_RefusedNamingTheCountsAndForce()
    {
        var setup = await StoreWithAsync(History("h", 150));
        var result = await TrainAsync(setup, new TrainingRequest());

        Assert.True(result.Refused);
        Assert.Contains("150 samples", result.Gate.Message, StringComparison.Ordinal);
        Assert.Contains("Training:MinSamples (200)", result.Gate.Message, StringComparison.Ordinal);
        Assert.Contains("--force", result.Gate.Message, StringComparison.Ordinal);
        Assert.Empty(setup.Registry.Read().Versions);

        var forced = await TrainAsync(setup, new TrainingRequest(Force: true));
        Assert.False(forced.Refused);
        Assert.True(forced.Model!.GateOverridden);
        Assert.Equal(150, forced.Model.Samples);
        Assert.Equal(forced.Model.Version, setup.Registry.Read().Active);
    }

    [Fact]
    public async Task Train_AClassBelowMinSamplesPerClass_RefusedNamingTheClass_ForceLeavesItOutOfTheClassifier()
    {
        var setup = await StoreWithAsync(Typed("t", 120, 100, 12));
        var result = await TrainAsync(setup, new TrainingRequest());

        Assert.True(result.Refused);
        Assert.Single(result.Gate.Shortfalls); // 232 samples are enough
        Assert.Contains("class 'resolution' has 12 comments", result.Gate.Message, StringComparison.Ordinal);
        Assert.Contains("Training:MinSamplesPerClass (20)", result.Gate.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("'action'", result.Gate.Message, StringComparison.Ordinal);

        var forced = await TrainAsync(setup, new TrainingRequest(Force: true));
        Assert.True(forced.Model!.GateOverridden);
        Assert.Equal([SuggestionTypes.Action, SuggestionTypes.Diagnostic], forced.Model.TypeLabels);
    }

    [Fact]
    public async Task Train_EnoughData_PassesTheGateAndRecordsTheSnapshot()
    {
        var setup = await StoreWithAsync([.. Typed("t", 30, 30, 30), .. History("h", 120)]);
        var result = await TrainAsync(setup, new TrainingRequest());

        Assert.True(result.Gate.Passed, result.Gate.Message);
        var model = result.Model!;
        Assert.False(model.GateOverridden);
        Assert.Equal(210, model.Samples);
        Assert.Equal(result.Snapshot.Id, model.SnapshotId);
        Assert.Equal(210, result.Snapshot.Samples);
        Assert.Equal(model.SnapshotId, setup.Registry.Read().Versions.Single().SnapshotId);
        Assert.NotNull(setup.Snapshots.Find(model.SnapshotId!));
    }

    [Fact]
    public async Task Train_EmptyStoreEvenForced_Refused()
    {
        var setup = await StoreWithAsync([]);
        var result = await TrainAsync(setup, new TrainingRequest(Force: true));
        Assert.True(result.Refused);
        Assert.False(result.Gate.CanForce);
        Assert.Contains("import-tickets", result.Gate.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Train_SameSnapshotTwice_IdenticalArtefacts()
    {
        var setup = await StoreWithAsync([.. Typed("t", 40, 40, 40), .. History("h", 90)]);
        var a = (await TrainAsync(setup, new TrainingRequest())).Model!;
        var b = (await TrainAsync(setup, new TrainingRequest(SnapshotId: a.SnapshotId))).Model!;

        Assert.NotEqual(a.Version, b.Version);
        Assert.Equal(a.SnapshotId, b.SnapshotId);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(setup.Registry.PathOf(a.Version), ModelFiles.Items)),
            await File.ReadAllBytesAsync(Path.Combine(setup.Registry.PathOf(b.Version), ModelFiles.Items)));
        Assert.Equal(ManifestJson(a), ManifestJson(b with { Version = a.Version, CreatedAt = a.CreatedAt }));
        Assert.NotEmpty(a.TypeLabels); // the classifier's score is part of what is compared

        // Training again from the unchanged store reuses the snapshot rather than freezing a copy.
        var c = (await TrainAsync(setup, new TrainingRequest())).Model!;
        Assert.Equal(a.SnapshotId, c.SnapshotId);
        Assert.Single(setup.Snapshots.List());
    }

    [Fact]
    public async Task Train_SnapshotThenMoreSamples_StillTrainsTheOldData()
    {
        var setup = await StoreWithAsync([.. Typed("t", 30, 30, 30), .. History("h", 120)]);
        var (old, _) = await setup.Snapshots.TakeAsync(setup.Store, new CleaningOptions(), _clock, CancellationToken.None);
        await setup.Store.WriteAsync([.. Typed("new", 25, 25, 25)], null, CancellationToken.None);

        var fromOld = (await TrainAsync(setup, new TrainingRequest(SnapshotId: old.Id))).Model!;
        Assert.Equal(old.Id, fromOld.SnapshotId);
        Assert.Equal(210, fromOld.Samples);

        var fromStore = (await TrainAsync(setup, new TrainingRequest())).Model!;
        Assert.NotEqual(old.Id, fromStore.SnapshotId);
        Assert.Equal(285, fromStore.Samples);
        Assert.NotEqual(fromOld.DataFingerprint, fromStore.DataFingerprint);
    }

    [Fact]
    public async Task Train_UnknownSnapshot_Throws()
    {
        var setup = await StoreWithAsync([]);
        await Assert.ThrowsAsync<InvalidOperationException>(() => TrainAsync(setup, new TrainingRequest(SnapshotId: "0123456789abcdef")));
    }

    private static string ManifestJson(ModelManifest manifest) => JsonSerializer.Serialize(manifest, RegistryJsonContext.Default.ModelManifest);
}
