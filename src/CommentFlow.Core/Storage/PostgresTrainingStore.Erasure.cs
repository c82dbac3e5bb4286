using CommentFlow.Domain;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CommentFlow.Storage;

/// <summary>
/// Erasure and retention on PostgreSQL. The rows go in one transaction (per ticket, or per retention batch) with the stats
/// subtracted; then a plain <c>VACUUM</c> of the two tables, outside any transaction, reclaims the dead tuples so the deleted
/// rows cannot come back through SQL, nor through any snapshot older than the delete, and their space is reused.
/// What this does NOT guarantee, and cannot without rewriting files: PostgreSQL has no secure_delete, so the deleted bytes
/// may stay in the data files' free space until overwritten, in WAL segments until they are recycled (and in any WAL
/// archive, replica or backup), and in index pages until those are reused. VACUUM FULL would rewrite the tables like
/// SQLite's VACUUM but takes an exclusive lock that stops every instance's writer, so it is left to the operator.
/// <see cref="ErasureResult.Scrubbed"/> is true when VACUUM ran with no other session of the database holding a snapshot,
/// i.e. nothing could keep the dead tuples alive; false means a reader (an export streaming) may have, and the next
/// erasure or retention run reclaims them.
/// </summary>
internal sealed partial class PostgresTrainingStore
{
    /// <summary>Samples per retention transaction: the writers' lock is held for one batch at a time.</summary>
    internal const int RetentionBatchSize = 1_000;

    public async Task<ErasureResult> ForgetTicketAsync(string ticketKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ticketKey);
        var started = Time.GetTimestamp();
        ticketKey = Text(ticketKey); // as the column holds it
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);

        List<(long Id, TrainingSample Sample)> erased;
        int feedback;
        await using (var tx = await connection.BeginTransactionAsync(cancellationToken))
        {
            await LockWritersAsync(connection, tx, exclusive: true, cancellationToken);
            erased = await ReadErasedAsync(connection, tx, "ticket_key = $1", [ticketKey], cancellationToken);
            var hashes = erased.Select(e => e.Sample.ContextHash).ToArray();
            // Feedback of the ticket, and feedback on its samples that did not name the ticket.
            feedback = await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM feedback WHERE ticket_key = @ticketKey OR context_hash = ANY(@hashes)",
                new { ticketKey, hashes }, tx, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM samples WHERE id = ANY(@ids)", new { ids = erased.Select(e => e.Id).ToArray() }, tx, cancellationToken: cancellationToken));
            await StatsDelta.SubtractAsync(connection, tx, erased.Select(e => e.Sample), Now(), Shard, cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(JiraCommentsForgetSql, new { ticketKey }, tx, cancellationToken: cancellationToken));
            await tx.CommitAsync(cancellationToken);
        }

        // Vacuum even when nothing matched: a retry after a run that a reader kept from reclaiming completes it.
        var scrubbed = await ScrubAsync(connection, cancellationToken);
        // The ticket key is not logged: the log would keep what the store just erased.
        LogErased(logger, erased.Count, feedback, scrubbed, Time.GetElapsedTime(started).TotalMilliseconds);
        return new ErasureResult(erased.Count, feedback, scrubbed) { ContextHashes = [.. erased.Select(e => e.Sample.ContextHash)] };
    }

    public async Task<ErasureResult> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var started = Time.GetTimestamp();
        var before = cutoff.ToUniversalTime();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        int samples = 0, feedback = 0;
        while (true)
        {
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            await LockWritersAsync(connection, tx, exclusive: true, cancellationToken);
            var batch = await ReadErasedAsync(connection, tx, $"created_at < $1 ORDER BY id LIMIT {RetentionBatchSize}", [before], cancellationToken);
            if (batch.Count == 0)
            {
                // Feedback whose sample was never stored (dropped by a full queue) ages out on its own date.
                feedback += await connection.ExecuteAsync(new CommandDefinition(
                    "DELETE FROM feedback WHERE created_at < @before", new { before }, tx, cancellationToken: cancellationToken));
                await tx.CommitAsync(cancellationToken);
                break;
            }
            feedback += await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM feedback WHERE context_hash = ANY(@hashes)",
                new { hashes = batch.Select(b => b.Sample.ContextHash).ToArray() }, tx, cancellationToken: cancellationToken));
            samples += await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM samples WHERE id = ANY(@ids)", new { ids = batch.Select(b => b.Id).ToArray() }, tx, cancellationToken: cancellationToken));
            await StatsDelta.SubtractAsync(connection, tx, batch.Select(e => e.Sample), Now(), Shard, cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }

        var scrubbed = samples + feedback == 0 || await ScrubAsync(connection, cancellationToken);
        if (samples + feedback > 0)
        {
            LogRetentionDeleted(logger, samples, feedback, cutoff, scrubbed, Time.GetElapsedTime(started).TotalMilliseconds);
        }
        return new ErasureResult(samples, feedback, scrubbed);
    }

    /// <summary>The rows to erase, locked (FOR UPDATE) so the rows read are the rows deleted.</summary>
    private async Task<List<(long Id, TrainingSample Sample)>> ReadErasedAsync(NpgsqlConnection connection, NpgsqlTransaction tx,
        string condition, object[] parameters, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {SampleColumns}, id FROM samples WHERE {condition} FOR UPDATE", connection, tx);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        var rows = new List<(long, TrainingSample)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // Decoded whole because the stats subtract suggestion types, which only the payload holds.
            var sample = ReadSample(reader);
            rows.Add((reader.GetInt64(IdAfterSampleColumns), sample));
        }
        return rows;
    }

    /// <summary>VACUUM of the two tables the deletes touch; see the class comment for what it does and does not guarantee.</summary>
    private static async Task<bool> ScrubAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // A snapshot taken before the delete committed keeps its dead tuples alive through this VACUUM. Other client
        // sessions with a snapshot (backend_xmin set) are counted before it starts: conservative, any such reader says "not yet".
        var readers = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            SELECT COUNT(*) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND backend_xmin IS NOT NULL
            """, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition("VACUUM samples, feedback", cancellationToken: cancellationToken));
        return readers == 0;
    }

    [LoggerMessage(EventId = 1411, Level = LogLevel.Information,
        Message = "Erasure: {Samples} samples and {Feedback} feedback rows deleted (vacuumed: {Scrubbed}) in {ElapsedMs:0} ms")]
    private static partial void LogErased(ILogger logger, int samples, int feedback, bool scrubbed, double elapsedMs);

    [LoggerMessage(EventId = 1412, Level = LogLevel.Information,
        Message = "Retention: {Samples} samples and {Feedback} feedback rows older than {Cutoff:u} deleted (vacuumed: {Scrubbed}) in {ElapsedMs:0} ms")]
    private static partial void LogRetentionDeleted(ILogger logger, int samples, int feedback, DateTimeOffset cutoff, bool scrubbed, double elapsedMs);
}
