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
    public static async Task SubtractAsync(DbConnection connection, DbTransaction tx, IEnumerable<TrainingSample> deleted, string now, CancellationToken cancellationToken)
    {
        var delta = new StatsDelta();
        foreach (var sample in deleted)
        {
            delta.Remove(sample);
        }
        if (delta._samples != 0)
        {
            await delta.ApplyAsync(connection, tx, now, cancellationToken);
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

    /// <summary>The SQL is plain enough to run unchanged on SQLite and PostgreSQL.</summary>
    public async Task ApplyAsync(DbConnection connection, DbTransaction tx, string now, CancellationToken cancellationToken)
    {
        if (_samples != 0 || _counts.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE stats_totals SET samples = samples + @s, suggestions = suggestions + @g, comments = comments + @c WHERE id = 1",
                new { s = _samples, g = _suggestions, c = _comments }, tx, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO stats_counts (dimension, value, count) VALUES (@Dimension, @Value, @Count)
                ON CONFLICT (dimension, value) DO UPDATE SET count = stats_counts.count + excluded.count
                """,
                _counts.Select(kv => new { kv.Key.Dimension, kv.Key.Value, Count = kv.Value }), tx, cancellationToken: cancellationToken));
        }
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE store_meta SET value = @now WHERE key = 'last_modified'", new { now }, tx, cancellationToken: cancellationToken));
    }

    private void Count(string dimension, string value, long n)
    {
        if (n != 0)
        {
            _counts[(dimension, value)] = _counts.GetValueOrDefault((dimension, value)) + n;
        }
    }
}
