using CommentFlow.Domain;
using CommentFlow.Privacy;
using Dapper;
using Npgsql;

namespace CommentFlow.Storage;

internal sealed partial class PostgresTrainingStore
{
    public async Task<TrainingSample?> FindSampleAsync(string contextHash, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"SELECT {SampleColumns} FROM samples WHERE context_hash = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Text(contextHash) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadSample(reader) : null;
    }

    public async Task<IReadOnlyList<TrainingSample>> FindRecentAsync(string? ticketKey, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
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

    public async Task<bool> WriteFeedbackAsync(SuggestionFeedback feedback, CancellationToken cancellationToken)
    {
        (feedback, var maskedCounts) = _masker.Mask(feedback);
        var delta = new StatsDelta();
        delta.AddMasked(maskedCounts);

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        // Under the writers' lock the check and the upsert see the same rows, whichever instance writes the same agent's feedback.
        await LockWritersAsync(connection, tx, cancellationToken);
        var replaced = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM feedback WHERE context_hash = @ContextHash AND position = @Position AND agent = @Agent",
            new { ContextHash = Text(feedback.ContextHash), feedback.Position, Agent = Text(feedback.Agent) }, tx, cancellationToken: cancellationToken)) > 0;
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO feedback (context_hash, position, agent, action, final_text, ticket_key, engine, model, suggestion_type, created_at)
            VALUES (@ContextHash, @Position, @Agent, @Action, @FinalText, @TicketKey, @Engine, @Model, @SuggestionType, @CreatedAt)
            ON CONFLICT (context_hash, position, agent) DO UPDATE SET
                action = excluded.action, final_text = excluded.final_text, ticket_key = excluded.ticket_key,
                engine = excluded.engine, model = excluded.model, suggestion_type = excluded.suggestion_type, created_at = excluded.created_at
            """,
            new
            {
                ContextHash = Text(feedback.ContextHash), feedback.Position, Agent = Text(feedback.Agent), feedback.Action,
                FinalText = TextOrNull(feedback.FinalText), TicketKey = TextOrNull(feedback.TicketKey), Engine = Text(feedback.Engine),
                Model = Text(feedback.Model), SuggestionType = Text(feedback.SuggestionType), CreatedAt = feedback.CreatedAt.ToUniversalTime(),
            }, tx, cancellationToken: cancellationToken));
        await delta.ApplyAsync(connection, tx, Now(), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return replaced;
    }

    private async Task<Dictionary<string, IReadOnlyList<SuggestionFeedback>>> ReadFeedbackAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return Grouped(await ReadFeedbackRowsAsync(connection, null, null, cancellationToken));
    }

    public async Task<IReadOnlyList<SuggestionFeedback>> ReadFeedbackRowsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await ReadFeedbackRowsAsync(connection, null, null, cancellationToken);
    }

    /// <summary>All feedback, or only that on <paramref name="contextHashes"/>, grouped by context hash in the order it was given.</summary>
    private static async Task<Dictionary<string, IReadOnlyList<SuggestionFeedback>>> ReadFeedbackAsync(NpgsqlConnection connection, NpgsqlTransaction? tx,
        string[]? contextHashes, CancellationToken cancellationToken) =>
        Grouped(await ReadFeedbackRowsAsync(connection, tx, contextHashes, cancellationToken));

    private static Dictionary<string, IReadOnlyList<SuggestionFeedback>> Grouped(IReadOnlyList<SuggestionFeedback> rows) =>
        rows.GroupBy(f => f.ContextHash, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (IReadOnlyList<SuggestionFeedback>)g.ToList(), StringComparer.Ordinal);

    /// <summary>Feedback rows in the order they were given: all of them, or those on <paramref name="contextHashes"/>.</summary>
    private static async Task<IReadOnlyList<SuggestionFeedback>> ReadFeedbackRowsAsync(NpgsqlConnection connection, NpgsqlTransaction? tx,
        string[]? contextHashes, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<(string ContextHash, int Position, string Agent, string Action, string? FinalText, string? TicketKey,
            string Engine, string Model, string SuggestionType, DateTime CreatedAt)>(new CommandDefinition(
            $"""
            SELECT context_hash, position, agent, action, final_text, ticket_key, engine, model, suggestion_type, created_at
            FROM feedback {(contextHashes is null ? "" : "WHERE context_hash = ANY(@contextHashes)")} ORDER BY id
            """, new { contextHashes }, tx, cancellationToken: cancellationToken));
        return rows.Select(r => new SuggestionFeedback
        {
            ContextHash = r.ContextHash,
            Position = r.Position,
            Agent = r.Agent,
            Action = r.Action,
            FinalText = r.FinalText,
            TicketKey = r.TicketKey,
            Engine = r.Engine,
            Model = r.Model,
            SuggestionType = r.SuggestionType,
            // timestamptz reads as a UTC DateTime.
            CreatedAt = new DateTimeOffset(DateTime.SpecifyKind(r.CreatedAt, DateTimeKind.Utc)),
        }).ToList();
    }
}
