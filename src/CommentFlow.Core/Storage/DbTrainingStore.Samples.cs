using System.Data.Common;
using CommentFlow.Domain;
using Dapper;

namespace CommentFlow.Storage;

/// <summary>Samples looked up and browsed: one at a time, the newest, a page for the dashboard, per day.</summary>
internal abstract partial class DbTrainingStore
{
    protected const string SampleColumns =
        "context_hash, ticket_key, created_at, issue_type, status, priority, model, engine, latency_ms, payload_encoding, payload, language, queue";

    /// <summary>Where the id stands when rows are read as <see cref="SampleColumns"/> followed by it.</summary>
    protected const int IdAfterSampleColumns = 13;

    /// <summary>One row of <see cref="SampleColumns"/>, decoded.</summary>
    protected abstract TrainingSample ReadSample(DbDataReader reader);

    /// <summary>The search of <see cref="ListSamplesAsync"/>, over the parameters @anywhere and @prefix.</summary>
    protected abstract string SearchCondition { get; }

    /// <summary>The UTC day (<c>yyyy-MM-dd</c>) of <c>created_at</c>.</summary>
    protected abstract string CreatedDay { get; }

    public async Task<TrainingSample?> FindSampleAsync(string contextHash, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        var samples = await ReadSamplesAsync(connection, null, $"SELECT {SampleColumns} FROM samples WHERE context_hash = @hash",
            [("hash", AsText(contextHash))], cancellationToken);
        return samples.FirstOrDefault();
    }

    public async Task<IReadOnlyList<TrainingSample>> FindRecentAsync(string? ticketKey, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        return ticketKey is null
            ? await ReadSamplesAsync(connection, null, $"SELECT {SampleColumns} FROM samples ORDER BY created_at DESC, id DESC LIMIT @limit",
                [("limit", limit)], cancellationToken)
            : await ReadSamplesAsync(connection, null,
                $"SELECT {SampleColumns} FROM samples WHERE ticket_key = @key ORDER BY created_at DESC, id DESC LIMIT @limit",
                [("key", AsText(ticketKey)), ("limit", limit)], cancellationToken);
    }

    public async Task<SamplePage> ListSamplesAsync(int page, int size, string? query, CancellationToken cancellationToken)
    {
        (string Name, object Value)[] search = string.IsNullOrEmpty(query) ? [] : SearchParameters(SampleSearch.Patterns(query));
        var where = search.Length == 0 ? "" : $"WHERE {SearchCondition}";
        await using var connection = await ConnectAsync(cancellationToken);
        // One snapshot for the count, the page and its feedback.
        await using var tx = await BeginSnapshotAsync(connection, cancellationToken);
        long total;
        await using (var count = Command(connection, tx, $"SELECT COUNT(*) FROM samples {where}", search))
        {
            total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }
        var samples = await ReadSamplesAsync(connection, tx,
            $"SELECT {SampleColumns} FROM samples {where} ORDER BY created_at DESC, id DESC LIMIT @size OFFSET @offset",
            [.. search, ("size", size), ("offset", (long)(page - 1) * size)], cancellationToken);
        var feedback = await ReadFeedbackAsync(connection, tx, samples.Select(s => s.ContextHash).ToArray(), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return new SamplePage(total, samples.Select(s => feedback.TryGetValue(s.ContextHash, out var given) ? s with { Feedback = given } : s).ToList());
    }

    private static (string Name, object Value)[] SearchParameters((string Anywhere, string Prefix) patterns) =>
        [("anywhere", patterns.Anywhere), ("prefix", patterns.Prefix)];

    public async Task<IReadOnlyList<DailyCount>> CountSamplesPerDayAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Day, long Samples)>(new CommandDefinition(
            $"SELECT {CreatedDay} AS day, COUNT(*) FROM samples GROUP BY day ORDER BY day", cancellationToken: cancellationToken));
        return rows.Select(r => new DailyCount(r.Day, r.Samples)).ToList();
    }

    /// <summary>Parameters by name without a prefix, which both providers bind to @name.</summary>
    private static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
        return command;
    }

    /// <summary>The samples a query of <see cref="SampleColumns"/> returns.</summary>
    private async Task<List<TrainingSample>> ReadSamplesAsync(DbConnection connection, DbTransaction? tx, string sql,
        (string Name, object Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, tx, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var samples = new List<TrainingSample>();
        while (await reader.ReadAsync(cancellationToken))
        {
            samples.Add(ReadSample(reader));
        }
        return samples;
    }
}
