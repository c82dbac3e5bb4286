using System.Data.Common;
using CommentFlow.Domain;
using Dapper;

namespace CommentFlow.Storage;

/// <summary>
/// What one written (or deleted) batch changes in the running totals; applied in the batch's own transaction.
/// Deletions subtract what their samples once added, except the masking counts, which tell what was ever masked.
/// </summary>
internal sealed class StatsDelta
{
    public const string IssueType = "issue_type";
    public const string Status = "status";
    public const string Priority = "priority";
    public const string Engine = "engine";
    public const string Model = "model";
    public const string Language = "language";

    /// <summary>Personal data replaced by placeholders, by kind (email, phone, …).</summary>
    public const string Masked = "masked";

    /// <summary>Suggestions shown, the denominator of the acceptance rate, by engine, suggestion type and model.</summary>
    public const string ShownEngine = "shown_engine";
    public const string ShownType = "shown_type";
    public const string ShownModel = "shown_model";

    private readonly Dictionary<(string Dimension, string Value), long> _counts = [];
    private long _samples;
    private long _suggestions;
    private long _comments;

    public void Add(TrainingSample sample, IReadOnlyDictionary<string, int>? masked = null)
    {
        AddMasked(masked ?? new Dictionary<string, int>());
        Count(sample, +1);
    }

    public void Remove(TrainingSample sample) => Count(sample, -1);

    /// <summary>Subtracts deleted samples from the running totals, inside the deleting transaction.</summary>
    public static async Task SubtractAsync(DbConnection connection, DbTransaction tx, IEnumerable<TrainingSample> deleted, string now, int shard,
        CancellationToken cancellationToken)
    {
        var delta = new StatsDelta();
        foreach (var sample in deleted)
        {
            delta.Remove(sample);
        }
        if (delta._samples != 0)
        {
            await delta.ApplyAsync(connection, tx, now, shard, cancellationToken);
        }
    }

    public void AddMasked(IReadOnlyDictionary<string, int> masked)
    {
        foreach (var (kind, n) in masked)
        {
            Count(Masked, kind, n);
        }
    }

    /// <summary>Masked counts carried over whole from another store (migration).</summary>
    public void AddMasked(IReadOnlyDictionary<string, long> masked)
    {
        foreach (var (kind, n) in masked)
        {
            Count(Masked, kind, n);
        }
    }

    private void Count(TrainingSample sample, int sign)
    {
        _samples += sign;
        _suggestions += sign * sample.Suggestions.Count;
        _comments += sign * sample.Context.Comments.Count;
        Count(IssueType, sample.Context.IssueType, sign);
        Count(Status, sample.Context.Status, sign);
        Count(Priority, sample.Context.Priority, sign);
        Count(Engine, sample.Engine, sign);
        Count(Model, sample.Model, sign);
        if (sample.Context.Language is { } language)
        {
            Count(Language, language, sign);
        }
        Count(ShownEngine, sample.Engine, sign * sample.Suggestions.Count);
        Count(ShownModel, sample.Model, sign * sample.Suggestions.Count);
        foreach (var suggestion in sample.Suggestions)
        {
            Count(ShownType, ShownTypeOf(suggestion.Type), sign);
        }
    }

    /// <summary>The type a suggestion is counted under: its normalised type, or "unknown" (imported history has none).</summary>
    public static string ShownTypeOf(string type) => SuggestionTypes.Normalize(type) ?? "unknown";

    /// <summary>
    /// Adds the batch to <paramref name="shard"/>'s rows (the store's own, see stats_shards) and marks the store modified;
    /// with nothing counted it only marks it. The shard's row first: transactions of one shard queue there, after their
    /// inserts, and then take its count rows in one order, so they cannot deadlock. The SQL runs unchanged on SQLite and PostgreSQL.
    /// </summary>
    public async Task ApplyAsync(DbConnection connection, DbTransaction tx, string now, int shard, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO stats_shards (shard, samples, suggestions, comments, last_modified) VALUES (@shard, @s, @g, @c, @now)
            ON CONFLICT (shard) DO UPDATE SET samples = stats_shards.samples + excluded.samples,
                suggestions = stats_shards.suggestions + excluded.suggestions, comments = stats_shards.comments + excluded.comments,
                last_modified = excluded.last_modified
            """, new { shard, s = _samples, g = _suggestions, c = _comments, now }, tx, cancellationToken: cancellationToken));
        if (_counts.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO stats_shard_counts (shard, dimension, value, count) VALUES (@Shard, @Dimension, @Value, @Count)
                ON CONFLICT (shard, dimension, value) DO UPDATE SET count = stats_shard_counts.count + excluded.count
                """,
                _counts.OrderBy(kv => kv.Key.Dimension, StringComparer.Ordinal).ThenBy(kv => kv.Key.Value, StringComparer.Ordinal)
                    .Select(kv => new { Shard = shard, kv.Key.Dimension, kv.Key.Value, Count = kv.Value }), tx, cancellationToken: cancellationToken));
        }
    }

    /// <summary>The totals of every shard: samples, suggestions, comments, and when a batch last changed them (null: never).</summary>
    public const string TotalsSql = """
        SELECT CAST(COALESCE(SUM(samples), 0) AS bigint), CAST(COALESCE(SUM(suggestions), 0) AS bigint),
               CAST(COALESCE(SUM(comments), 0) AS bigint), MAX(last_modified)
        FROM stats_shards
        """;

    public const string SamplesSql = "SELECT CAST(COALESCE(SUM(samples), 0) AS bigint) FROM stats_shards";

    /// <summary>Every shard's counts summed, those above zero (a value's count can be negative in one shard, never in the sum).</summary>
    public const string CountsSql = """
        SELECT dimension, value, CAST(SUM(count) AS bigint) AS count FROM stats_shard_counts
        GROUP BY dimension, value HAVING SUM(count) > 0
        """;

    private void Count(string dimension, string value, long n)
    {
        if (n != 0)
        {
            _counts[(dimension, value)] = _counts.GetValueOrDefault((dimension, value)) + n;
        }
    }
}
