using CommentFlow.Domain;
using CommentFlow.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace CommentFlow.Tests.Storage;

public sealed class SqliteTrainingStoreTests
{
    private static async Task<(SqliteTrainingStore Store, string Path)> NewStoreAsync(int compressionThreshold = 100)
    {
        var dir = TempDir.Create();
        var store = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(dir),
            new StorageOptions { CompressionThreshold = compressionThreshold }, TimeProvider.System, NullLogger<SqliteTrainingStore>.Instance);
        await store.MigrateAsync(CancellationToken.None);
        return (store, System.IO.Path.Combine(dir, "commentflow.db"));
    }

    private static async Task<long> ScalarAsync(string dbPath, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task GetStats_EmptyStore_EveryFieldPresent()
    {
        var (store, _) = await NewStoreAsync();
        var stats = await store.GetStatsAsync(CancellationToken.None);
        Assert.Equal(0, stats.TotalSamples);
        Assert.Equal(0, stats.AvgSuggestionsPerSample);
        Assert.Empty(stats.ByIssueType);
        Assert.False(stats.Compressed);
        Assert.Equal(stats.Created, stats.LastModified);
    }

    [Fact]
    public async Task WriteAsync_DuplicateHashes_SkippedByConstraintAndCounted()
    {
        var (store, path) = await NewStoreAsync();
        var a = Some.Sample();
        var b = Some.Sample();
        var first = await store.WriteAsync([a, b, a], null, CancellationToken.None);
        var second = await store.WriteAsync([b with { Engine = "ollama" }], null, CancellationToken.None);

        Assert.Equal(new WriteResult(2, 1), first);
        Assert.Equal(new WriteResult(0, 1), second);
        Assert.Equal(2, await ScalarAsync(path, "SELECT COUNT(*) FROM samples"));
        var stats = await store.GetStatsAsync(CancellationToken.None);
        Assert.Equal(2, stats.TotalSamples);
        Assert.Equal(2, stats.ByEngine["rules"]);
        Assert.False(stats.ByEngine.ContainsKey("ollama"));
    }

    [Fact]
    public async Task GetStats_AfterWrites_MatchesCountsComputedFromSamples()
    {
        var (store, path) = await NewStoreAsync();
        var samples = Enumerable.Range(0, 40).Select(i => Some.Sample(
            Some.Context(issueType: i % 3 == 0 ? "Incident" : "Request", status: i % 2 == 0 ? "Open" : "Closed",
                comments: Enumerable.Range(0, i % 4).Select(c => $"c{c}").ToList()), suggestions: 1 + i % 3)).ToList();
        await store.WriteAsync(samples.Take(25).ToList(), null, CancellationToken.None);
        await store.WriteAsync(samples.Skip(20).ToList(), null, CancellationToken.None);

        var stats = await store.GetStatsAsync(CancellationToken.None);
        Assert.Equal(40, stats.TotalSamples);
        Assert.Equal(samples.Sum(s => s.Suggestions.Count), stats.TotalSuggestions);
        Assert.Equal(samples.Sum(s => s.Context.Comments.Count), stats.TotalComments);
        Assert.Equal(Math.Round(samples.Average(s => s.Suggestions.Count), 2), stats.AvgSuggestionsPerSample);
        Assert.Equal(samples.Count(s => s.Context.IssueType == "Incident"), stats.ByIssueType["Incident"]);
        Assert.Equal(samples.Count(s => s.Context.Status == "Closed"), stats.ByStatus["Closed"]);
        Assert.Equal(await ScalarAsync(path, "SELECT COUNT(*) FROM samples WHERE issue_type = 'Request'"), stats.ByIssueType["Request"]);
    }

    [Fact]
    public async Task ReadAllAsync_RoundTrip_KeepsEveryField()
    {
        var (store, _) = await NewStoreAsync(compressionThreshold: 2);
        var odd = Some.Sample(Some.Context(summary: "Ünïcödé 🚀 \u0001 שלום", description: "línea1\nlínea2\t\"q\"", comments: ["a|b", ""]) with { TicketKey = null });
        var plain = Some.Sample();
        await store.WriteAsync([odd], null, CancellationToken.None);
        await store.WriteAsync([plain], null, CancellationToken.None); // crosses the threshold: both end up compressed

        var back = new List<TrainingSample>();
        await foreach (var s in store.ReadAllAsync(CancellationToken.None))
        {
            back.Add(s);
        }
        Assert.Equal(2, back.Count);
        Assert.Equal(odd.ContextHash, back[0].ContextHash);
        Assert.Null(back[0].Context.TicketKey);
        Assert.Equal(odd.Context.Summary, back[0].Context.Summary);
        Assert.Equal(odd.Context.Description, back[0].Context.Description);
        Assert.Equal(odd.Context.Comments, back[0].Context.Comments);
        Assert.Equal(odd.Suggestions, back[0].Suggestions);
        Assert.Equal(odd.CreatedAt, back[0].CreatedAt);
        Assert.Equal(odd.LatencyMs, back[0].LatencyMs);
        Assert.Equal(plain.Context.Hash(), back[1].Context.Hash());
    }

    [Fact]
    public async Task WriteAsync_ThresholdReached_CompressesNewAndExistingPayloads()
    {
        var (store, path) = await NewStoreAsync(compressionThreshold: 10);
        await store.WriteAsync(Enumerable.Range(0, 6).Select(_ => Some.Sample()).ToList(), null, CancellationToken.None);
        Assert.False((await store.GetStatsAsync(CancellationToken.None)).Compressed);
        Assert.Equal(6, await ScalarAsync(path, "SELECT COUNT(*) FROM samples WHERE payload_encoding = 0"));

        await store.WriteAsync(Enumerable.Range(0, 4).Select(_ => Some.Sample()).ToList(), null, CancellationToken.None);
        await store.WriteAsync([Some.Sample()], null, CancellationToken.None);

        Assert.True((await store.GetStatsAsync(CancellationToken.None)).Compressed);
        Assert.Equal(0, await ScalarAsync(path, "SELECT COUNT(*) FROM samples WHERE payload_encoding = 0"));
        Assert.Equal(11, await ScalarAsync(path, "SELECT COUNT(*) FROM samples WHERE payload_encoding = 1 AND hex(substr(payload, 1, 2)) = '1F8B'"));
        var read = 0;
        await foreach (var _ in store.ReadAllAsync(CancellationToken.None))
        {
            read++;
        }
        Assert.Equal(11, read);
    }

    [Fact]
    public async Task MigrateAsync_RunTwice_AppliesOnceAndKeepsData()
    {
        var (store, path) = await NewStoreAsync();
        await store.WriteAsync([Some.Sample()], null, CancellationToken.None);
        var applied = await ScalarAsync(path, "SELECT COUNT(*) FROM schema_migrations");
        await store.MigrateAsync(CancellationToken.None);
        Assert.Equal(3, applied); // 0001_initial, 0002_language_queue, 0003_feedback
        Assert.Equal(applied, await ScalarAsync(path, "SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal(1, (await store.GetStatsAsync(CancellationToken.None)).TotalSamples);
        Assert.Equal(16384, await ScalarAsync(path, "PRAGMA page_size"));
    }

    [Fact]
    public async Task MigrateAsync_FeedbackMigrationOnOlderStore_BackfillsShownCountsFromSamples()
    {
        var (store, path) = await NewStoreAsync(compressionThreshold: 3); // some payloads GZip, some plain
        var samples = new[]
        {
            Some.Sample(suggestions: 1), Some.Sample(suggestions: 3), Some.Sample(suggestions: 2, engine: "ollama"),
            Some.Sample(suggestions: 3, engine: "ollama"), Some.Sample(suggestions: 0),
        };
        await store.WriteAsync(samples[..2], null, CancellationToken.None);
        await store.WriteAsync(samples[2..], null, CancellationToken.None);
        var live = await ShownCountsAsync(path);

        // Turn the file into what a store before 0003 looked like, then migrate it again.
        await ExecuteAsync(path, "DELETE FROM stats_counts WHERE dimension LIKE 'shown_%'; DROP TABLE feedback; DELETE FROM schema_migrations WHERE version = 3");
        Assert.Empty(await ShownCountsAsync(path));
        await store.MigrateAsync(CancellationToken.None);

        var backfilled = await ShownCountsAsync(path);
        Assert.Equal(live, backfilled);
        // By hand: rules 1 + 3 (+ 0), ollama 2 + 3; types cycle diagnostic, action, resolution.
        Assert.Equal(4, backfilled["shown_engine:rules"]);
        Assert.Equal(5, backfilled["shown_engine:ollama"]);
        Assert.Equal(4, backfilled["shown_type:diagnostic"]);
        Assert.Equal(3, backfilled["shown_type:action"]);
        Assert.Equal(2, backfilled["shown_type:resolution"]);
        Assert.Equal(5, backfilled["shown_model:llama3.2"]);
    }

    private static async Task<Dictionary<string, long>> ShownCountsAsync(string dbPath)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT dimension || ':' || value, count FROM stats_counts WHERE dimension LIKE 'shown_%' AND count <> 0";
        await using var reader = await command.ExecuteReaderAsync();
        var counts = new Dictionary<string, long>();
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }
        return counts;
    }

    private static async Task ExecuteAsync(string dbPath, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task WriteAsync_ConcurrentWritersSameHashes_EachStoredOnce()
    {
        var (store, path) = await NewStoreAsync();
        var samples = Enumerable.Range(0, 200).Select(_ => Some.Sample()).ToList();
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => store.WriteAsync(samples, null, CancellationToken.None))));
        Assert.Equal(200, results.Sum(r => r.Written));
        Assert.Equal(600, results.Sum(r => r.Duplicates));
        Assert.Equal(200, await ScalarAsync(path, "SELECT COUNT(*) FROM samples"));
        Assert.Equal(200, (await store.GetStatsAsync(CancellationToken.None)).TotalSamples);
    }
}
