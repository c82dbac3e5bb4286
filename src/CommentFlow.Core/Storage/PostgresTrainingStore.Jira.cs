using CommentFlow.Domain;
using Dapper;

namespace CommentFlow.Storage;

internal sealed partial class PostgresTrainingStore
{
    public async Task<bool> HasAgentReplyAsync(string commentId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM jira_comments WHERE comment_id = @commentId", new { commentId = Text(commentId) }, cancellationToken: cancellationToken)) > 0;
    }

    public async Task<bool> RecordAgentReplyAsync(AgentReply reply, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO jira_comments (comment_id, ticket_key, source, outcome, internal, context_hash, position, similarity, received_at)
            VALUES (@CommentId, @TicketKey, @Source, @Outcome, @Internal, @ContextHash, @Position, @Similarity, @ReceivedAt)
            ON CONFLICT (comment_id) DO NOTHING
            """,
            new
            {
                CommentId = Text(reply.CommentId), TicketKey = Text(reply.TicketKey), reply.Source, reply.Outcome, reply.Internal,
                ContextHash = TextOrNull(reply.ContextHash), reply.Position, reply.Similarity, ReceivedAt = reply.ReceivedAt.ToUniversalTime(),
            }, cancellationToken: cancellationToken)) == 1;
    }

    public async Task<IReadOnlyList<AgentReply>> ReadAgentRepliesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string CommentId, string TicketKey, string Source, string Outcome, bool? Internal, string? ContextHash,
            int? Position, double? Similarity, DateTime ReceivedAt)>(new CommandDefinition(
            """
            SELECT comment_id, ticket_key, source, outcome, internal, context_hash, position, similarity, received_at
            FROM jira_comments ORDER BY received_at, comment_id
            """, cancellationToken: cancellationToken));
        return rows.Select(r => new AgentReply
        {
            CommentId = r.CommentId, TicketKey = r.TicketKey, Source = r.Source, Outcome = r.Outcome, Internal = r.Internal,
            ContextHash = r.ContextHash, Position = r.Position, Similarity = r.Similarity,
            ReceivedAt = new DateTimeOffset(DateTime.SpecifyKind(r.ReceivedAt, DateTimeKind.Utc)),
        }).ToList();
    }

    public async Task<IReadOnlyList<AgentReplyCount>> CountAgentRepliesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Outcome, bool? Internal, long Count)>(new CommandDefinition(
            "SELECT outcome, internal, COUNT(*) FROM jira_comments GROUP BY outcome, internal ORDER BY outcome, internal", cancellationToken: cancellationToken));
        return rows.Select(r => new AgentReplyCount(r.Outcome, r.Internal, r.Count)).ToList();
    }
}
