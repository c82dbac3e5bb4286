using System.Runtime.CompilerServices;
using CommentFlow.Domain;
using Dapper;
using Npgsql;

namespace CommentFlow.Storage;

/// <summary>What <see cref="StoreCopy"/> needs of the destination store.</summary>
internal sealed partial class PostgresTrainingStore
{
    public async Task<string?> ReadMetaAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT value FROM store_meta WHERE key = @key", new { key }, cancellationToken: cancellationToken));
    }

    public async Task WriteMetaAsync(string key, string value, IReadOnlyDictionary<string, long> addMasked, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await LockWritersAsync(connection, tx, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO store_meta (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            new { key, value }, tx, cancellationToken: cancellationToken));
        if (addMasked.Count > 0)
        {
            var delta = new StatsDelta();
            delta.AddMasked(addMasked);
            await delta.ApplyAsync(connection, tx, Now(), cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
    }

    public async Task CopyFeedbackAsync(IReadOnlyList<SuggestionFeedback> feedback, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await LockWritersAsync(connection, tx, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            $"{SqliteTrainingStore.CopyFeedbackSql} WHERE feedback.created_at <= excluded.created_at",
            feedback.Select(f => new
            {
                ContextHash = Text(f.ContextHash), f.Position, Agent = Text(f.Agent), f.Action, FinalText = TextOrNull(f.FinalText), TicketKey = TextOrNull(f.TicketKey),
                Engine = Text(f.Engine), Model = Text(f.Model), SuggestionType = Text(f.SuggestionType), CreatedAt = f.CreatedAt.ToUniversalTime(),
            }), tx, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE store_meta SET value = @now WHERE key = 'last_modified'", new { now = Now() }, tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
    }

    public async IAsyncEnumerable<string> ReadContextHashesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT context_hash FROM samples ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return reader.GetString(0);
        }
    }
}
