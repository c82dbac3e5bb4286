using CommentFlow.Domain;
using Microsoft.Data.Sqlite;

namespace CommentFlow.Storage;

internal sealed partial class SqliteTrainingStore
{
    public async Task<TrainingSample?> FindSampleAsync(string contextHash, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SampleColumns} FROM samples WHERE context_hash = $hash";
        command.Parameters.AddWithValue("$hash", contextHash);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadSample(reader) : null;
    }

    public async Task<IReadOnlyList<TrainingSample>> FindRecentAsync(string? ticketKey, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var where = ticketKey is null ? "" : "WHERE ticket_key = $key";
        command.CommandText = $"SELECT {SampleColumns} FROM samples {where} ORDER BY created_at DESC, id DESC LIMIT $limit";
        if (ticketKey is not null)
        {
            command.Parameters.AddWithValue("$key", ticketKey);
        }
        command.Parameters.AddWithValue("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var samples = new List<TrainingSample>();
        while (await reader.ReadAsync(cancellationToken))
        {
            samples.Add(ReadSample(reader));
        }
        return samples;
    }
}
