using System.Text;
using CommentFlow.Domain;
using CommentFlow.Storage;
using Microsoft.Data.Sqlite;

namespace CommentFlow.Tests.Privacy;

/// <summary>What a store's files really hold, read around the store: raw bytes, raw SQL, stats recomputed from the rows.</summary>
internal static class StoreEvidence
{
    public static string DatabasePath(string dataDir) => Path.Combine(dataDir, "commentflow.db");

    /// <summary>The database file and its -wal and -shm companions as text (Latin-1: one char per byte), as they are now.</summary>
    public static string RawText(string dataDir)
    {
        var text = new StringBuilder();
        foreach (var file in Directory.GetFiles(dataDir, "commentflow.db*"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var bytes = new MemoryStream();
            stream.CopyTo(bytes);
            text.Append(Encoding.Latin1.GetString(bytes.ToArray())).Append('\n');
        }
        return text.ToString();
    }

    public static async Task<long> ScalarAsync(string dataDir, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync(dataDir);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A feedback row as the feedback endpoints will store it (written here by hand: they are built elsewhere).</summary>
    public static async Task InsertFeedbackAsync(string dataDir, string contextHash, string? ticketKey, string? finalText = null,
        DateTimeOffset? at = null, int position = 0, string agent = "ana")
    {
        await using var connection = await OpenAsync(dataDir);
        await using var command = connection.CreateCommand();
        command.CommandText =
            """
            INSERT INTO feedback (context_hash, position, agent, action, final_text, ticket_key, engine, model, suggestion_type, created_at)
            VALUES ($hash, $position, $agent, $action, $text, $key, 'rules', 'rules-v1', 'action', $at)
            """;
        command.Parameters.AddWithValue("$hash", contextHash);
        command.Parameters.AddWithValue("$position", position);
        command.Parameters.AddWithValue("$agent", agent);
        command.Parameters.AddWithValue("$action", finalText is null ? FeedbackAction.Accepted : FeedbackAction.Edited);
        command.Parameters.AddWithValue("$text", (object?)finalText ?? DBNull.Value);
        command.Parameters.AddWithValue("$key", (object?)ticketKey ?? DBNull.Value);
        command.Parameters.AddWithValue("$at", StoreTimestamps.Format(at ?? new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero)));
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// The running totals and per-value counts equal what the rows say now: COUNT and SUM over samples, GROUP BY per
    /// dimension, and the shown-suggestion counts from the decoded payloads. Masked counts are excluded: they record what
    /// was ever masked and are not subtracted.
    /// </summary>
    public static async Task AssertStatsMatchRowsAsync(string dataDir)
    {
        var store = await Stores.OpenAsync(dataDir);
        var stats = await store.GetStatsAsync(CancellationToken.None);
        Assert.Equal(await ScalarAsync(dataDir, "SELECT COUNT(*) FROM samples"), stats.TotalSamples);
        Assert.Equal(await ScalarAsync(dataDir, "SELECT COALESCE(SUM(suggestions_count), 0) FROM samples"), stats.TotalSuggestions);
        Assert.Equal(await ScalarAsync(dataDir, "SELECT COALESCE(SUM(comments_count), 0) FROM samples"), stats.TotalComments);

        foreach (var (column, counted) in new[]
        {
            ("issue_type", stats.ByIssueType), ("status", stats.ByStatus), ("priority", stats.ByPriority),
            ("engine", stats.ByEngine), ("model", stats.ByModel), ("language", stats.ByLanguage),
        })
        {
            var expected = await GroupAsync(dataDir, $"SELECT {column}, COUNT(*) FROM samples WHERE {column} IS NOT NULL GROUP BY {column}");
            Assert.Equal(expected.OrderBy(kv => kv.Key), counted.OrderBy(kv => kv.Key));
        }

        var samples = await Stores.ReadAllAsync(dataDir);
        var shown = new Dictionary<string, long>();
        void Add(string key, long n)
        {
            if (n != 0)
            {
                shown[key] = shown.GetValueOrDefault(key) + n;
            }
        }
        foreach (var s in samples)
        {
            Add($"shown_engine:{s.Engine}", s.Suggestions.Count);
            Add($"shown_model:{s.Model}", s.Suggestions.Count);
            foreach (var suggestion in s.Suggestions)
            {
                Add($"shown_type:{StatsDelta.ShownTypeOf(suggestion.Type)}", 1);
            }
        }
        var stored = await GroupAsync(dataDir, "SELECT dimension || ':' || value, SUM(count) FROM stats_shard_counts WHERE dimension LIKE 'shown_%' GROUP BY dimension, value HAVING SUM(count) <> 0");
        Assert.Equal(shown.OrderBy(kv => kv.Key, StringComparer.Ordinal), stored.OrderBy(kv => kv.Key, StringComparer.Ordinal));
    }

    private static async Task<Dictionary<string, long>> GroupAsync(string dataDir, string sql)
    {
        await using var connection = await OpenAsync(dataDir);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var counts = new Dictionary<string, long>();
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }
        return counts;
    }

    private static async Task<SqliteConnection> OpenAsync(string dataDir)
    {
        var connection = new SqliteConnection($"Data Source={DatabasePath(dataDir)};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }

    private static class FeedbackAction
    {
        public const string Accepted = "accepted";
        public const string Edited = "edited";
    }
}
