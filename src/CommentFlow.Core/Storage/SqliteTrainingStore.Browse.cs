using CommentFlow.Domain;
using Dapper;
using Microsoft.Data.Sqlite;

namespace CommentFlow.Storage;

/// <summary>Read-only views for the dashboard: a page of samples, samples per day.</summary>
internal sealed partial class SqliteTrainingStore
{
    // SQLite's LIKE ignores ASCII case already; ticket keys are ASCII in practice.
    private const string SearchCondition = @"(ticket_key LIKE $anywhere ESCAPE '\' OR context_hash LIKE $prefix ESCAPE '\')";

    public async Task<SamplePage> ListSamplesAsync(int page, int size, string? query, CancellationToken cancellationToken)
    {
        (string Anywhere, string Prefix)? search = string.IsNullOrEmpty(query) ? null : SampleSearch.Patterns(query);
        var where = search is null ? "" : $"WHERE {SearchCondition}";
        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken); // one snapshot for count and page

        void Bind(SqliteCommand command)
        {
            if (search is { } s)
            {
                command.Parameters.AddWithValue("$anywhere", s.Anywhere);
                command.Parameters.AddWithValue("$prefix", s.Prefix);
            }
        }

        await using var count = connection.CreateCommand();
        count.Transaction = tx;
        count.CommandText = $"SELECT COUNT(*) FROM samples {where}";
        Bind(count);
        var total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;

        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = $"SELECT {SampleColumns} FROM samples {where} ORDER BY created_at DESC, id DESC LIMIT $size OFFSET $offset";
        Bind(command);
        command.Parameters.AddWithValue("$size", size);
        command.Parameters.AddWithValue("$offset", (long)(page - 1) * size);
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
        await using var connection = await OpenAsync(cancellationToken);
        // created_at is ISO 8601 UTC text: its first ten characters are the day.
        var rows = await connection.QueryAsync<(string Day, long Samples)>(new CommandDefinition(
            "SELECT substr(created_at, 1, 10) AS day, COUNT(*) FROM samples GROUP BY day ORDER BY day", cancellationToken: cancellationToken));
        return rows.Select(r => new DailyCount(r.Day, r.Samples)).ToList();
    }
}
