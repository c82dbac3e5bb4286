using System.Runtime.CompilerServices;
using CommentFlow.Domain;
using Dapper;
using Microsoft.Data.Sqlite;

namespace CommentFlow.Storage;

/// <summary>What <see cref="StoreMigration"/> reads from a SQLite store (the source) and writes to any store.</summary>
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
