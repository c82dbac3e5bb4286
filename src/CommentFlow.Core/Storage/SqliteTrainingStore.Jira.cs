using CommentFlow.Domain;
using Dapper;

namespace CommentFlow.Storage;

internal sealed partial class SqliteTrainingStore
{
    public async Task<bool> HasAgentReplyAsync(string commentId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM jira_comments WHERE comment_id = @commentId", new { commentId }, cancellationToken: cancellationToken)) > 0;
    }

    public async Task<bool> RecordAgentReplyAsync(AgentReply reply, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO jira_comments (comment_id, ticket_key, source, outcome, internal, context_hash, position, similarity, received_at)
            VALUES (@CommentId, @TicketKey, @Source, @Outcome, @Internal, @ContextHash, @Position, @Similarity, @ReceivedAt)
            ON CONFLICT (comment_id) DO NOTHING
            """,
            new
            {
                reply.CommentId, reply.TicketKey, reply.Source, reply.Outcome, reply.Internal, reply.ContextHash, reply.Position, reply.Similarity,
                ReceivedAt = FormatTimestamp(reply.ReceivedAt),
            }, cancellationToken: cancellationToken)) == 1;
    }

    public async Task<IReadOnlyList<AgentReply>> ReadAgentRepliesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string CommentId, string TicketKey, string Source, string Outcome, long? Internal, string? ContextHash,
            long? Position, double? Similarity, string ReceivedAt)>(new CommandDefinition(
            """
            SELECT comment_id, ticket_key, source, outcome, internal, context_hash, position, similarity, received_at
            FROM jira_comments ORDER BY received_at, comment_id
            """, cancellationToken: cancellationToken));
        return rows.Select(r => new AgentReply
        {
            CommentId = r.CommentId, TicketKey = r.TicketKey, Source = r.Source, Outcome = r.Outcome, Internal = r.Internal is { } i ? i != 0 : null,
            ContextHash = r.ContextHash, Position = (int?)r.Position, Similarity = r.Similarity, ReceivedAt = ParseTimestamp(r.ReceivedAt),
        }).ToList();
    }

    public async Task<IReadOnlyList<AgentReplyCount>> CountAgentRepliesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Outcome, long? Internal, long Count)>(new CommandDefinition(
            "SELECT outcome, internal, COUNT(*) FROM jira_comments GROUP BY outcome, internal ORDER BY outcome, internal", cancellationToken: cancellationToken));
        return rows.Select(r => new AgentReplyCount(r.Outcome, r.Internal is { } i ? i != 0 : null, r.Count)).ToList();
    }
}
