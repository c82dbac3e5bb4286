using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using CommentFlow.Domain;
using CommentFlow.Privacy;
using Dapper;

namespace CommentFlow.Storage;

/// <summary>Feedback, Jira comments and store_meta: rows both stores write and read with the same SQL.</summary>
internal abstract partial class DbTrainingStore
{
    /// <summary>The feedback upsert: the same agent's feedback on a suggestion replaces the earlier one.</summary>
    private const string UpsertFeedbackSql =
        """
        INSERT INTO feedback (context_hash, position, agent, action, final_text, ticket_key, engine, model, suggestion_type, created_at)
        VALUES (@ContextHash, @Position, @Agent, @Action, @FinalText, @TicketKey, @Engine, @Model, @SuggestionType, @CreatedAt)
        ON CONFLICT (context_hash, position, agent) DO UPDATE SET
            action = excluded.action, final_text = excluded.final_text, ticket_key = excluded.ticket_key,
            engine = excluded.engine, model = excluded.model, suggestion_type = excluded.suggestion_type, created_at = excluded.created_at
        """;

    /// <summary>
    /// The ticket's Jira comments lose their link to it, but their ids stay: a late webhook delivery or the poller's overlap
    /// must not bring an erased reply back as a new sample.
    /// </summary>
    protected const string JiraCommentsForgetSql =
        "UPDATE jira_comments SET ticket_key = '', context_hash = NULL, position = NULL, similarity = NULL WHERE ticket_key = @ticketKey";

    public async Task<bool> WriteFeedbackAsync(SuggestionFeedback feedback, CancellationToken cancellationToken)
    {
        (feedback, var maskedCounts) = masker.Mask(feedback);
        var delta = new StatsDelta();
        delta.AddMasked(maskedCounts);
        var row = FeedbackRow(feedback);

        await using var connection = await ConnectAsync(cancellationToken);
        // Under the writers' lock, exclusive, the check and the upsert see the same rows, whichever instance writes the same agent's feedback.
        await using var tx = await BeginWriteAsync(connection, exclusive: true, cancellationToken);
        var replaced = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM feedback WHERE context_hash = @ContextHash AND position = @Position AND agent = @Agent",
            row, tx, cancellationToken: cancellationToken)) > 0;
        await connection.ExecuteAsync(new CommandDefinition(UpsertFeedbackSql, row, tx, cancellationToken: cancellationToken));
        await delta.ApplyAsync(connection, tx, Now(), Shard, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return replaced;
    }

    public async Task CopyFeedbackAsync(IReadOnlyList<SuggestionFeedback> feedback, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        await using var tx = await BeginWriteAsync(connection, exclusive: true, cancellationToken);
        // Newer wins: an SQLite created_at is fixed-width UTC text, so comparing the strings compares the times.
        await connection.ExecuteAsync(new CommandDefinition(
            $"{UpsertFeedbackSql} WHERE feedback.created_at <= excluded.created_at",
            feedback.Select(FeedbackRow), tx, cancellationToken: cancellationToken));
        await new StatsDelta().ApplyAsync(connection, tx, Now(), Shard, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>The parameters of <see cref="UpsertFeedbackSql"/>.</summary>
    private object FeedbackRow(SuggestionFeedback f) => new
    {
        ContextHash = AsText(f.ContextHash), f.Position, Agent = AsText(f.Agent), f.Action, FinalText = AsTextOrNull(f.FinalText),
        TicketKey = AsTextOrNull(f.TicketKey), Engine = AsText(f.Engine), Model = AsText(f.Model), SuggestionType = AsText(f.SuggestionType),
        CreatedAt = TimestampValue(f.CreatedAt),
    };

    protected async Task<Dictionary<string, IReadOnlyList<SuggestionFeedback>>> ReadFeedbackAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        return Grouped(await ReadFeedbackRowsAsync(connection, null, null, cancellationToken));
    }

    public async Task<IReadOnlyList<SuggestionFeedback>> ReadFeedbackRowsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        return await ReadFeedbackRowsAsync(connection, null, null, cancellationToken);
    }

    /// <summary>All feedback, or only that on <paramref name="contextHashes"/>, grouped by context hash in the order it was given.</summary>
    protected async Task<Dictionary<string, IReadOnlyList<SuggestionFeedback>>> ReadFeedbackAsync(DbConnection connection, DbTransaction? tx,
        string[]? contextHashes, CancellationToken cancellationToken) =>
        Grouped(await ReadFeedbackRowsAsync(connection, tx, contextHashes, cancellationToken));

    private static Dictionary<string, IReadOnlyList<SuggestionFeedback>> Grouped(IReadOnlyList<SuggestionFeedback> rows) =>
        rows.GroupBy(f => f.ContextHash, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (IReadOnlyList<SuggestionFeedback>)g.ToList(), StringComparer.Ordinal);

    /// <summary>Feedback rows in the order they were given: all of them, or those on <paramref name="contextHashes"/>.</summary>
    private async Task<IReadOnlyList<SuggestionFeedback>> ReadFeedbackRowsAsync(DbConnection connection, DbTransaction? tx,
        string[]? contextHashes, CancellationToken cancellationToken)
    {
        // position is INTEGER (64-bit) in SQLite, integer in PostgreSQL: Dapper converts it to the tuple's int.
        var rows = await connection.QueryAsync<(string ContextHash, int Position, string Agent, string Action, string? FinalText, string? TicketKey,
            string Engine, string Model, string SuggestionType, object CreatedAt)>(new CommandDefinition(
            $"""
            SELECT context_hash, position, agent, action, final_text, ticket_key, engine, model, suggestion_type, created_at
            FROM feedback {(contextHashes is null ? "" : $"WHERE {IsAnyOf("context_hash", "@contextHashes")}")} ORDER BY id
            """, new { contextHashes = contextHashes is null ? null : AnyOf(contextHashes) }, tx, cancellationToken: cancellationToken));
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
            CreatedAt = ReadTimestamp(r.CreatedAt),
        }).ToList();
    }

    public async Task<bool> HasAgentReplyAsync(string commentId, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM jira_comments WHERE comment_id = @commentId", new { commentId = AsText(commentId) }, cancellationToken: cancellationToken)) > 0;
    }

    public async Task<bool> RecordAgentReplyAsync(AgentReply reply, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO jira_comments (comment_id, ticket_key, source, outcome, internal, context_hash, position, similarity, received_at)
            VALUES (@CommentId, @TicketKey, @Source, @Outcome, @Internal, @ContextHash, @Position, @Similarity, @ReceivedAt)
            ON CONFLICT (comment_id) DO NOTHING
            """,
            new
            {
                CommentId = AsText(reply.CommentId), TicketKey = AsText(reply.TicketKey), reply.Source, reply.Outcome, reply.Internal,
                ContextHash = AsTextOrNull(reply.ContextHash), reply.Position, reply.Similarity, ReceivedAt = TimestampValue(reply.ReceivedAt),
            }, cancellationToken: cancellationToken)) == 1;
    }

    public async Task<IReadOnlyList<AgentReply>> ReadAgentRepliesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        // internal is INTEGER 0/1 in SQLite, boolean in PostgreSQL: read as an object and converted here.
        var rows = await connection.QueryAsync<(string CommentId, string TicketKey, string Source, string Outcome, object? Internal, string? ContextHash,
            long? Position, double? Similarity, object ReceivedAt)>(new CommandDefinition(
            """
            SELECT comment_id, ticket_key, source, outcome, internal, context_hash, position, similarity, received_at
            FROM jira_comments ORDER BY received_at, comment_id
            """, cancellationToken: cancellationToken));
        return rows.Select(r => new AgentReply
        {
            CommentId = r.CommentId, TicketKey = r.TicketKey, Source = r.Source, Outcome = r.Outcome, Internal = AsBool(r.Internal),
            ContextHash = r.ContextHash, Position = (int?)r.Position, Similarity = r.Similarity, ReceivedAt = ReadTimestamp(r.ReceivedAt),
        }).ToList();
    }

    public async Task<IReadOnlyList<AgentReplyCount>> CountAgentRepliesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Outcome, object? Internal, long Count)>(new CommandDefinition(
            "SELECT outcome, internal, COUNT(*) FROM jira_comments GROUP BY outcome, internal ORDER BY outcome, internal", cancellationToken: cancellationToken));
        return rows.Select(r => new AgentReplyCount(r.Outcome, AsBool(r.Internal), r.Count)).ToList();
    }

    private static bool? AsBool(object? value) => value is null or DBNull ? null : Convert.ToBoolean(value, CultureInfo.InvariantCulture);

    public async Task<string?> ReadMetaAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT value FROM store_meta WHERE key = @key", new { key }, cancellationToken: cancellationToken));
    }

    public async Task WriteMetaAsync(string key, string value, IReadOnlyDictionary<string, long> addMasked, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        await using var tx = await BeginWriteAsync(connection, exclusive: true, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO store_meta (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            new { key, value }, tx, cancellationToken: cancellationToken));
        if (addMasked.Count > 0)
        {
            var delta = new StatsDelta();
            delta.AddMasked(addMasked);
            await delta.ApplyAsync(connection, tx, Now(), Shard, cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
    }

    public async IAsyncEnumerable<string> ReadContextHashesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // The archive's first: its samples are older than every row.
        command.CommandText = $"SELECT hash FROM (SELECT {ArchivedHash} AS hash, block, 0 AS id FROM archived_samples UNION ALL SELECT context_hash, NULL, id FROM samples) AS s ORDER BY block IS NULL, block, id";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return reader.GetString(0);
        }
    }
}
