using CommentFlow.Domain;
using Dapper;
using Npgsql;

namespace CommentFlow.Storage;

/// <summary>Read-only views for the dashboard: a page of samples, samples per day.</summary>
internal sealed partial class PostgresTrainingStore
{
    private const string SearchCondition = @"(ticket_key ILIKE @anywhere ESCAPE '\' OR context_hash LIKE @prefix ESCAPE '\')";

    public async Task<SamplePage> ListSamplesAsync(int page, int size, string? query, CancellationToken cancellationToken)
    {
        (string Anywhere, string Prefix)? search = string.IsNullOrEmpty(query) ? null : SampleSearch.Patterns(query);
        var where = search is null ? "" : $"WHERE {SearchCondition}";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // Repeatable read: the count and the page come from one snapshot even while other instances write.
        await using var tx = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);

        void Bind(NpgsqlCommand command)
        {
            if (search is { } s)
            {
                command.Parameters.AddWithValue("anywhere", s.Anywhere);
                command.Parameters.AddWithValue("prefix", s.Prefix);
            }
        }

        await using var count = new NpgsqlCommand($"SELECT COUNT(*) FROM samples {where}", connection, tx);
        Bind(count);
        var total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;

        await using var command = new NpgsqlCommand(
            $"SELECT {SampleColumns} FROM samples {where} ORDER BY created_at DESC, id DESC LIMIT @size OFFSET @offset", connection, tx);
        Bind(command);
        command.Parameters.AddWithValue("size", size);
        command.Parameters.AddWithValue("offset", (long)(page - 1) * size);
        var samples = new List<TrainingSample>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                samples.Add(ReadSample(reader));
            }
        }
        var feedback = await ReadFeedbackAsync(connection, tx, samples.Select(s => s.ContextHash).ToArray(), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return new SamplePage(total, samples.Select(s => feedback.TryGetValue(s.ContextHash, out var given) ? s with { Feedback = given } : s).ToList());
    }

    public async Task<IReadOnlyList<DailyCount>> CountSamplesPerDayAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Day, long Samples)>(new CommandDefinition(
            """
            SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, COUNT(*) FROM samples GROUP BY day ORDER BY day
            """, cancellationToken: cancellationToken));
        return rows.Select(r => new DailyCount(r.Day, r.Samples)).ToList();
    }
}
