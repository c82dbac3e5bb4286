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
        // One snapshot for both places: archiving moves samples from the one to the other.
        await using var tx = await BeginSnapshotAsync(connection, cancellationToken);
        var samples = await ReadSamplesAsync(connection, tx, $"SELECT {SampleColumns} FROM samples WHERE context_hash = @hash",
            [("hash", AsText(contextHash))], cancellationToken);
        var found = samples.FirstOrDefault() ?? (await FindArchivedAsync(connection, tx, contextHash, cancellationToken))?.ToSample(Codec);
        await tx.CommitAsync(cancellationToken);
        return found;
    }

    public async Task<IReadOnlyList<TrainingSample>> FindRecentAsync(string? ticketKey, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        await using var tx = await BeginSnapshotAsync(connection, cancellationToken);
        List<TrainingSample> recent;
        if (ticketKey is null)
        {
            recent = await ReadSamplesAsync(connection, tx, $"SELECT {SampleColumns} FROM samples ORDER BY created_at DESC, id DESC LIMIT @limit",
                [("limit", limit)], cancellationToken);
            // Archived samples are older than every row: they fill what the rows leave, newest block first.
            foreach (var block in recent.Count < limit ? await BlocksAsync(connection, tx, newestFirst: true, cancellationToken) : [])
            {
                var rows = await ReadBlockAsync(connection, tx, block, cancellationToken);
                recent.AddRange(Enumerable.Reverse(rows).OrderByDescending(r => r.CreatedAt).Take(limit - recent.Count).Select(r => r.ToSample(Codec)));
                if (recent.Count >= limit)
                {
                    break;
                }
            }
        }
        else
        {
            recent = await ReadSamplesAsync(connection, tx,
                $"SELECT {SampleColumns} FROM samples WHERE ticket_key = @key ORDER BY created_at DESC, id DESC LIMIT @limit",
                [("key", AsText(ticketKey)), ("limit", limit)], cancellationToken);
            var archived = await ArchivedOfTicketAsync(connection, tx, ticketKey, cancellationToken);
            recent = [.. recent.Concat(Enumerable.Reverse(archived).Select(r => r.ToSample(Codec))).OrderByDescending(s => s.CreatedAt).Take(limit)];
        }
        await tx.CommitAsync(cancellationToken);
        return recent;
    }

    public async Task<SamplePage> ListSamplesAsync(int page, int size, string? query, CancellationToken cancellationToken)
    {
        (string Name, object Value)[] search = string.IsNullOrEmpty(query) ? [] : SearchParameters(SampleSearch.Patterns(query));
        var where = search.Length == 0 ? "" : $"WHERE {SearchCondition}";
        await using var connection = await ConnectAsync(cancellationToken);
        // One snapshot for the counts, the page and its feedback.
        await using var tx = await BeginSnapshotAsync(connection, cancellationToken);
        long rows, archived;
        await using (var count = Command(connection, tx, $"SELECT COUNT(*) FROM samples {where}", search))
        {
            rows = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }
        // The archive's keys hold the hash in their own form: the same search, over its text.
        var archivedWhere = search.Length == 0 ? "" : $"WHERE {SearchCondition.Replace("context_hash", ArchivedHash, StringComparison.Ordinal)}";
        await using (var count = Command(connection, tx, $"SELECT COUNT(*) FROM archived_samples {archivedWhere}", search))
        {
            archived = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }
        var offset = (long)(page - 1) * size;
        var samples = await ReadSamplesAsync(connection, tx,
            $"SELECT {SampleColumns} FROM samples {where} ORDER BY created_at DESC, id DESC LIMIT @size OFFSET @offset",
            [.. search, ("size", size), ("offset", offset)], cancellationToken);
        // Past the rows, the page goes on into the archive, whose samples are all older.
        if (samples.Count < size && archived > 0)
        {
            var older = await ArchivedPageAsync(connection, tx, archivedWhere, search, Math.Max(0, offset - rows), size - samples.Count, cancellationToken);
            samples.AddRange(older.Select(r => r.ToSample(Codec)));
        }
        var feedback = await ReadFeedbackAsync(connection, tx, samples.Select(s => s.ContextHash).ToArray(), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return new SamplePage(rows + archived, samples.Select(s => feedback.TryGetValue(s.ContextHash, out var given) ? s with { Feedback = given } : s).ToList());
    }

    private static (string Name, object Value)[] SearchParameters((string Anywhere, string Prefix) patterns) =>
        [("anywhere", patterns.Anywhere), ("prefix", patterns.Prefix)];

    public async Task<IReadOnlyList<DailyCount>> CountSamplesPerDayAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        await using var tx = await BeginSnapshotAsync(connection, cancellationToken);
        var rows = await connection.QueryAsync<(string Day, long Samples)>(new CommandDefinition(
            $"SELECT {CreatedDay} AS day, COUNT(*) FROM samples GROUP BY day", transaction: tx, cancellationToken: cancellationToken));
        // Archive blocks keep their samples' days, so the counts read no block.
        var archived = await connection.QueryAsync<string>(new CommandDefinition("SELECT days FROM archive_blocks", transaction: tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
        return rows.Concat(archived.SelectMany(ArchiveBlock.ParseDays)).GroupBy(r => r.Day, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => new DailyCount(g.Key, g.Sum(r => r.Samples))).ToList();
    }

    /// <summary>Parameters by name without a prefix, which both providers bind to @name.</summary>
    protected static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql, (string Name, object Value)[] parameters)
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
