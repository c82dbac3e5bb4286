using System.Runtime.CompilerServices;
using CommentFlow.Domain;
using Dapper;
using Microsoft.Data.Sqlite;

namespace CommentFlow.Storage;

/// <summary>What <see cref="StoreCopy"/> reads from a SQLite store (the source) and writes to any store.</summary>
internal sealed partial class SqliteTrainingStore
{
    /// <summary>Up to <paramref name="limit"/> samples stored after row <paramref name="afterId"/>, with their row ids: the migration's resumable cursor.</summary>
    public async Task<IReadOnlyList<(long Id, TrainingSample Sample)>> ReadBatchAfterAsync(long afterId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SampleColumns}, id FROM samples WHERE id > $after ORDER BY id LIMIT $limit";
        command.Parameters.AddWithValue("$after", afterId);
        command.Parameters.AddWithValue("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var batch = new List<(long, TrainingSample)>(limit);
        while (await reader.ReadAsync(cancellationToken))
        {
            batch.Add((reader.GetInt64(IdAfterSampleColumns), ReadSample(reader)));
        }
        return batch;
    }

    public async Task<long> CountAfterAsync(long afterId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM samples WHERE id > @afterId", new { afterId }, cancellationToken: cancellationToken));
    }

    public async Task<string?> ReadMetaAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT value FROM store_meta WHERE key = @key", new { key }, cancellationToken: cancellationToken));
    }

    public async Task WriteMetaAsync(string key, string value, IReadOnlyDictionary<string, long> addMasked, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO store_meta (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            new { key, value }, tx, cancellationToken: cancellationToken));
        if (addMasked.Count > 0)
        {
            var delta = new StatsDelta();
            delta.AddMasked(addMasked);
            await delta.ApplyAsync(connection, tx, FormatTimestamp(_time.GetUtcNow()), cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
    }

    public async Task CopyFeedbackAsync(IReadOnlyList<SuggestionFeedback> feedback, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        // created_at is fixed-width UTC text, so comparing the strings compares the times.
        await connection.ExecuteAsync(new CommandDefinition(
            $"{CopyFeedbackSql} WHERE feedback.created_at <= excluded.created_at",
            feedback.Select(f => new
            {
                f.ContextHash, f.Position, f.Agent, f.Action, f.FinalText, f.TicketKey, f.Engine, f.Model, f.SuggestionType, CreatedAt = FormatTimestamp(f.CreatedAt),
            }), tx, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE store_meta SET value = @now WHERE key = 'last_modified'", new { now = FormatTimestamp(_time.GetUtcNow()) }, tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>The upsert both stores copy feedback with (the WriteFeedbackAsync one); each adds its own newer-wins condition.</summary>
    internal const string CopyFeedbackSql =
        """
        INSERT INTO feedback (context_hash, position, agent, action, final_text, ticket_key, engine, model, suggestion_type, created_at)
        VALUES (@ContextHash, @Position, @Agent, @Action, @FinalText, @TicketKey, @Engine, @Model, @SuggestionType, @CreatedAt)
        ON CONFLICT (context_hash, position, agent) DO UPDATE SET
            action = excluded.action, final_text = excluded.final_text, ticket_key = excluded.ticket_key,
            engine = excluded.engine, model = excluded.model, suggestion_type = excluded.suggestion_type, created_at = excluded.created_at
        """;

    public async IAsyncEnumerable<string> ReadContextHashesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT context_hash FROM samples ORDER BY id";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return reader.GetString(0);
        }
    }
}
