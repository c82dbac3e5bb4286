using CommentFlow.Domain;
using Npgsql;

namespace CommentFlow.Storage;

internal sealed partial class PostgresTrainingStore
{
    public async Task<TrainingSample?> FindSampleAsync(string contextHash, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"SELECT {SampleColumns} FROM samples WHERE context_hash = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Text(contextHash) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadSample(reader) : null;
    }

    public async Task<IReadOnlyList<TrainingSample>> FindRecentAsync(string? ticketKey, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var where = ticketKey is null ? "" : "WHERE ticket_key = $2";
        await using var command = new NpgsqlCommand($"SELECT {SampleColumns} FROM samples {where} ORDER BY created_at DESC, id DESC LIMIT $1", connection);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        if (ticketKey is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Text(ticketKey) });
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var samples = new List<TrainingSample>();
        while (await reader.ReadAsync(cancellationToken))
        {
            samples.Add(ReadSample(reader));
        }
        return samples;
    }
}
