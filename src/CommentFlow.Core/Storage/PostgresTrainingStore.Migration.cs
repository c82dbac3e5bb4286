using System.Runtime.CompilerServices;
using Dapper;
using Npgsql;

namespace CommentFlow.Storage;

/// <summary>What <see cref="StoreMigration"/> needs of the destination store.</summary>
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
