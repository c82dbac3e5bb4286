using CommentFlow.Domain;
using Dapper;
using Microsoft.Data.Sqlite;

namespace CommentFlow.Storage;

/// <summary>What <see cref="StoreCopy"/> reads from a SQLite store (the source) beyond what every store offers.</summary>
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
}
