using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using CommentFlow.Cli;
using CommentFlow.Export;
using CommentFlow.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace CommentFlow.Tests.Storage;

/// <summary>
/// A store file written by an earlier version (schema 4, commit fc8de35: 130 tickets imported by <c>import-tickets</c>
/// from every 7th row of tickets-en-de.csv, two suggestions captured by its server, one with an e-mail and a phone, three
/// feedback rows) opens with today's code, migrates, and reads, exports and erases as it did. The expected stats are
/// what <c>commentflow stats --json</c> printed with that version; the expected export, the SHA-256 of its
/// <c>commentflow export --format jsonl</c>.
/// </summary>
public sealed class OldStoreTests
{
    private const string ExportSha256 = "125e66bec39c23a561d612471acbfa6b16efcb2a97b2438c2d789559a4ef9122";
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<SqliteTrainingStore> OpenCopyAsync()
    {
        var dir = TempDir.Create();
        await using (var packed = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Storage", "Fixtures", "store-schema4.db.gz")))
        await using (var gzip = new GZipStream(packed, CompressionMode.Decompress))
        await using (var file = File.Create(Path.Combine(dir, SqliteTrainingStore.FileName)))
        {
            await gzip.CopyToAsync(file);
        }
        var store = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(dir), new StorageOptions(), TimeProvider.System,
            NullLogger<SqliteTrainingStore>.Instance);
        await store.MigrateAsync(None);
        return store;
    }

    [Fact]
    public async Task Schema4File_Migrated_StatsAndExportAsTheEarlierVersionGaveThem()
    {
        var store = await OpenCopyAsync();

        var expected = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Storage", "Fixtures", "store-schema4.stats.json")))!;
        var stats = JsonNode.Parse(JsonSerializer.Serialize(await store.GetStatsAsync(None), CliJson.Options))!.AsObject();
        // Added since that version: nothing of the file is archived.
        Assert.Equal(0, stats["archived_samples"]!.GetValue<long>());
        stats.Remove("archived_samples");
        Assert.Equal(expected.ToJsonString(), stats.ToJsonString());

        using var export = new MemoryStream();
        await SampleExporters.WriteJsonLinesAsync(export, store.ReadAllAsync(None), null, None);
        Assert.Equal(ExportSha256, Convert.ToHexStringLower(SHA256.HashData(export.ToArray())));
    }

    [Fact]
    public async Task Schema4File_Migrated_ErasesATicketWithItsFeedbackAndTheStatsFollow()
    {
        var store = await OpenCopyAsync();

        var erased = await store.ForgetTicketAsync("OLD-1", None);

        Assert.Equal((1, 2), (erased.Samples, erased.Feedback)); // the VPN ticket and its accepted and edited feedback
        var stats = await store.GetStatsAsync(None);
        Assert.Equal(131, stats.TotalSamples);
        Assert.Equal(1, stats.Feedback.Total); // the printer ticket's dismissal
        Assert.Equal(130, stats.ByEngine["history"]);
        Assert.Equal(1, stats.ByEngine["rules"]);
        var left = new List<CommentFlow.Domain.TrainingSample>();
        await foreach (var s in store.ReadAllAsync(None))
        {
            left.Add(s);
        }
        Assert.Equal(131, left.Count);
        Assert.DoesNotContain(left, s => s.Context.TicketKey == "OLD-1");
    }
}
