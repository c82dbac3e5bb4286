using System.Data.Common;
using CommentFlow.Domain;
using Dapper;

namespace CommentFlow.Storage;

/// <summary>What one written batch adds to the running totals; applied in the batch's own transaction.</summary>
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

    private readonly Dictionary<(string Dimension, string Value), long> _counts = [];
    private long _samples;
    private long _suggestions;
    private long _comments;

    public void Add(TrainingSample sample, IReadOnlyDictionary<string, int>? masked = null)
    {
        foreach (var (kind, n) in masked ?? new Dictionary<string, int>())
        {
            _counts[(Masked, kind)] = _counts.GetValueOrDefault((Masked, kind)) + n;
        }
        _samples++;
        _suggestions += sample.Suggestions.Count;
        _comments += sample.Context.Comments.Count;
        Count(IssueType, sample.Context.IssueType);
        Count(Status, sample.Context.Status);
        Count(Priority, sample.Context.Priority);
        Count(Engine, sample.Engine);
        Count(Model, sample.Model);
        if (sample.Context.Language is { } language)
        {
            Count(Language, language);
        }
    }

    /// <summary>The SQL is plain enough to run unchanged on SQLite and PostgreSQL.</summary>
    public async Task ApplyAsync(DbConnection connection, DbTransaction tx, string now, CancellationToken cancellationToken)
    {
        if (_samples > 0)
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

    private void Count(string dimension, string value) =>
        _counts[(dimension, value)] = _counts.GetValueOrDefault((dimension, value)) + 1;
}
