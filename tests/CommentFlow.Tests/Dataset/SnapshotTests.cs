using System.IO.Compression;
using System.Security.Cryptography;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.Tests.Fakes;

namespace CommentFlow.Tests.Dataset;

public sealed class SnapshotTests
{
    private readonly FakeClock _clock = new(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));

    private static TrainingSample Sample(string summary, string engine, params Suggestion[] suggestions)
    {
        var context = Some.Context(summary: summary, comments: ["Revisando", "¿Tiene el código de error?"]) with { Language = "es", Queue = "Soporte" };
        return TrainingSample.From(context, context.Hash(), suggestions, engine == "rules" ? "rules-v1" : "llama3.2", engine, 10,
            new DateTimeOffset(2026, 3, 1, 9, 30, 15, TimeSpan.FromHours(1)));
    }

    /// <summary>Two Ollama samples whose cleaning changes what is kept, one history reply, one rules sample that cleaning drops.</summary>
    private static TrainingSample[] Samples() =>
    [
        Sample("Error 404 en la página principal", "ollama", new("¿Puede enviar la URL exacta?", "diagnostic", 0.9), new("¡Puede enviar la URL exacta!", "diagnostic", 0.8),
            new("Reviso los logs del servidor web.", "action", 0.5), new("Reinicio el balanceador de carga.", "Action", 0.85)),
        Sample("VPN se desconecta", "ollama", new("Cerramos el ticket, ya funciona.", "resolution", 0.75), new("ok", "action", 0.95)),
        Sample("Printer jams on floor 3", "history", new Suggestion("Cleared the tray and restarted the spooler.", "", 1.0)),
        Sample("Sistema lento", "rules", new Suggestion("¿Desde cuándo ocurre el problema?", "diagnostic", 0.5)),
    ];

    private static async Task<(SnapshotStore Snapshots, global::CommentFlow.Storage.SqliteTrainingStore Store)> StoreWithAsync(IReadOnlyList<TrainingSample> samples)
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync(samples, null, CancellationToken.None);
        return (new SnapshotStore(Path.Combine(dataDir, "snapshots")), store);
    }

    private static async Task<List<CleanedSample>> ReadAsync(SnapshotStore snapshots, string id)
    {
        var list = new List<CleanedSample>();
        await foreach (var s in snapshots.ReadAsync(id, CancellationToken.None))
        {
            list.Add(s);
        }
        return list;
    }

    [Fact]
    public async Task Take_SameDataInAnotherStoreAndOrder_SameIdAndReused()
    {
        var samples = Samples();
        var (snapshots, store) = await StoreWithAsync(samples);
        var (first, reused) = await snapshots.TakeAsync(store, new CleaningOptions(), _clock, CancellationToken.None);
        Assert.False(reused);
        Assert.Matches("^[0-9a-f]{16}$", first.Id);

        _clock.Advance(TimeSpan.FromHours(1));
        var (again, reusedAgain) = await snapshots.TakeAsync(store, new CleaningOptions(), _clock, CancellationToken.None);
        Assert.True(reusedAgain);
        Assert.Equal(first, again with { ByType = first.ByType, Cleaning = first.Cleaning }); // the first one's manifest, created_at included
        Assert.Single(snapshots.List());

        // The id names the data, not the store or the order it was written in.
        var (otherSnapshots, otherStore) = await StoreWithAsync(samples.Reverse().ToArray());
        Assert.Equal(first.Id, (await otherSnapshots.TakeAsync(otherStore, new CleaningOptions(), _clock, CancellationToken.None)).Manifest.Id);
    }

    [Fact]
    public async Task Take_SampleAddedOrCleaningChanged_NewId()
    {
        var (snapshots, store) = await StoreWithAsync(Samples());
        var before = (await snapshots.TakeAsync(store, new CleaningOptions(), _clock, CancellationToken.None)).Manifest;

        // A different cleaning keeps different suggestions: different data, different id.
        var looser = (await snapshots.TakeAsync(store, new CleaningOptions { MinConfidence = 0 }, _clock, CancellationToken.None)).Manifest;
        Assert.NotEqual(before.Id, looser.Id);
        Assert.Equal(0, looser.Cleaning.MinConfidence);

        await store.WriteAsync([Sample("Factura con importe incorrecto", "history", new Suggestion("Corregimos la factura y enviamos un abono.", "", 1.0))], null, CancellationToken.None);
        var after = (await snapshots.TakeAsync(store, new CleaningOptions(), _clock, CancellationToken.None)).Manifest;
        Assert.NotEqual(before.Id, after.Id);
        Assert.Equal(before.Samples + 1, after.Samples);
        Assert.Equal(3, snapshots.List().Count);
        Assert.Equal(before.Samples, (await ReadAsync(snapshots, before.Id)).Count); // the old snapshot is untouched
    }

    [Fact]
    public async Task Read_FrozenFile_RoundTripsExactlyWhatTheCleanerKept()
    {
        var samples = Samples();
        var (snapshots, store) = await StoreWithAsync(samples);
        var manifest = (await snapshots.TakeAsync(store, new CleaningOptions(), _clock, CancellationToken.None)).Manifest;
        var read = await ReadAsync(snapshots, manifest.Id);

        var cleaner = new DatasetCleaner(new CleaningOptions());
        var expected = samples.Select(s => (Sample: s, Kept: cleaner.Clean(s))).Where(e => e.Kept.Count > 0).OrderBy(e => e.Sample.ContextHash, StringComparer.Ordinal).ToList();
        Assert.Equal(3, expected.Count); // the rules sample is cleaned away
        Assert.Equal(expected.Select(e => e.Sample.ContextHash), read.Select(r => r.ContextHash));
        foreach (var (e, r) in expected.Zip(read))
        {
            Assert.Equal(e.Kept, r.Suggestions); // records: text, type (as stored: "Action" stays "Action"), confidence
            Assert.Equal(e.Sample.CreatedAt, r.CreatedAt);
            Assert.Equal(e.Sample.Engine, r.Engine);
            Assert.Equal(e.Sample.Model, r.Model);
            Assert.Equal(e.Sample.Context.Comments, r.Context.Comments);
            Assert.Equal(e.Sample.Context with { Comments = r.Context.Comments }, r.Context); // every other field, language and queue included
            Assert.Equal(e.Sample.ContextHash, r.Context.Hash());
        }

        Assert.Equal(3, manifest.Samples);
        Assert.Equal(4, manifest.Comments); // the URL question, the balancer restart, the closing, the history reply
        Assert.Equal(new Dictionary<string, int> { ["action"] = 1, ["diagnostic"] = 1, ["resolution"] = 1, [SnapshotManifest.Untyped] = 1 }, manifest.ByType);
        Assert.Equal(new FileInfo(snapshots.DataPath(manifest.Id)).Length, manifest.Bytes);

        // The id is the SHA-256 of the uncompressed file, so anyone can check it with gunzip and sha256sum.
        await using var gzip = new GZipStream(File.OpenRead(snapshots.DataPath(manifest.Id)), CompressionMode.Decompress);
        Assert.StartsWith(manifest.Id, Convert.ToHexStringLower(await SHA256.HashDataAsync(gzip)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_FileChanged_ThrowsInsteadOfTrainingOnOtherData()
    {
        var (snapshots, store) = await StoreWithAsync(Samples());
        var id = (await snapshots.TakeAsync(store, new CleaningOptions(), _clock, CancellationToken.None)).Manifest.Id;
        var path = snapshots.DataPath(id);
        string text;
        await using (var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress))
        using (var reader = new StreamReader(gzip))
        {
            text = await reader.ReadToEndAsync();
        }
        await using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Optimal))
        await using (var writer = new StreamWriter(gzip))
        {
            await writer.WriteAsync(text.Replace("0.9", "0.91", StringComparison.Ordinal));
        }

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(snapshots, id));
        Assert.Contains(id, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Take_EmptyStore_EmptySnapshotWithAnId()
    {
        var (snapshots, store) = await StoreWithAsync([]);
        var manifest = (await snapshots.TakeAsync(store, new CleaningOptions(), _clock, CancellationToken.None)).Manifest;
        Assert.Equal(0, manifest.Samples);
        Assert.Empty(await ReadAsync(snapshots, manifest.Id));
        Assert.Null(snapshots.Find("0123456789abcdef"));
        Assert.Null(snapshots.Find("../commentflow"));
    }
}
