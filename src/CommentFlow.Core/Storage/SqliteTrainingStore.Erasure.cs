using System.Diagnostics;
using CommentFlow.Domain;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CommentFlow.Storage;

/// <summary>
/// Erasure and retention. Deleting rows is not enough to make their text unrecoverable in SQLite: deleted cells linger
/// in free space, older page images linger in the WAL, and index interior pages keep copies of deleted keys as
/// separators (measured: after a plain DELETE with secure_delete on and a checkpoint, the ticket key was still in the
/// file once). So the delete runs with <c>secure_delete</c> on (freed content is zeroed, the best effort if what follows
/// cannot run), then <c>VACUUM</c> rebuilds the file from the live rows only, and <c>wal_checkpoint(TRUNCATE)</c> moves
/// the rebuilt pages into the file and empties the WAL. VACUUM rewrites the whole file (0.4 s at 100,000 samples, see
/// bench/README.md), which is why it runs once per erasure or retention run, never per retention batch.
/// </summary>
internal sealed partial class SqliteTrainingStore
{
    /// <summary>Samples per retention transaction: the write lock is held for one batch at a time (tens of milliseconds).</summary>
    internal const int RetentionBatchSize = 1_000;

    /// <summary>How long the final checkpoint waits for readers (an export streaming) to move on before giving up.</summary>
    internal TimeSpan ScrubTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public async Task<ErasureResult> ForgetTicketAsync(string ticketKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ticketKey);
        var started = Time.GetTimestamp();
        await using var connection = await OpenForErasureAsync(cancellationToken);

        List<(long Id, TrainingSample Sample)> erased;
        List<TrainingSample> archived;
        int feedback;
        await using (var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken))
        {
            erased = await ReadErasedAsync(connection, tx, "ticket_key = $key", [("$key", ticketKey)], cancellationToken);
            (archived, feedback) = await EraseArchivedAsync(connection, tx, await BlocksOfTicketAsync(connection, tx, ticketKey, cancellationToken),
                r => r.TicketKey == ticketKey, cancellationToken);
            // Feedback of the ticket, and feedback on its samples that did not name the ticket.
            feedback += await connection.ExecuteAsync(new CommandDefinition(
                """
                DELETE FROM feedback
                WHERE ticket_key = @ticketKey OR context_hash IN (SELECT context_hash FROM samples WHERE ticket_key = @ticketKey)
                """, new { ticketKey }, tx, cancellationToken: cancellationToken));
            var deleted = await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM samples WHERE ticket_key = @ticketKey", new { ticketKey }, tx, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(JiraCommentsForgetSql, new { ticketKey }, tx, cancellationToken: cancellationToken));
            Debug.Assert(deleted == erased.Count, "the write lock is held: the rows read are the rows deleted");
            await StatsDelta.SubtractAsync(connection, tx, erased.Select(e => e.Sample).Concat(archived), Now(), Shard, cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }

        var samples = erased.Count + archived.Count;
        // Scrub even when nothing matched: a retry after a checkpoint that readers kept from finishing completes it.
        var scrubbed = await ScrubAsync(connection, vacuum: samples + feedback > 0, cancellationToken);
        // The ticket key is not logged: the log would keep what the store just erased.
        LogErased(logger, samples, feedback, scrubbed, Time.GetElapsedTime(started).TotalMilliseconds);
        return new ErasureResult(samples, feedback, scrubbed) { ContextHashes = [.. erased.Select(e => e.Sample.ContextHash), .. archived.Select(s => s.ContextHash)] };
    }

    public async Task<ErasureResult> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var started = Time.GetTimestamp();
        var before = StoreTimestamps.Format(cutoff); // same fixed-width UTC format as created_at, so text order is time order
        await using var connection = await OpenForErasureAsync(cancellationToken);
        int samples = 0, feedback = 0;
        // The archive first (its samples are the oldest), a block a transaction: blocks wholly before the cutoff go, a block
        // across it is rewritten.
        while (true)
        {
            await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            var block = (await BlocksOlderThanAsync(connection, tx, before, cancellationToken)).Take(1).ToList();
            var (archived, archivedFeedback) = await EraseArchivedAsync(connection, tx, block,
                r => string.CompareOrdinal(StoreTimestamps.Format(r.CreatedAt), before) < 0, cancellationToken);
            if (archived.Count == 0)
            {
                break;
            }
            await StatsDelta.SubtractAsync(connection, tx, archived, Now(), Shard, cancellationToken);
            await tx.CommitAsync(cancellationToken);
            (samples, feedback) = (samples + archived.Count, feedback + archivedFeedback);
        }
        while (true)
        {
            await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            var batch = await ReadErasedAsync(connection, tx, $"created_at < $before ORDER BY id LIMIT {RetentionBatchSize}", [("$before", before)], cancellationToken);
            if (batch.Count == 0)
            {
                // Feedback whose sample was never stored (dropped by a full queue) ages out on its own date.
                feedback += await connection.ExecuteAsync(new CommandDefinition(
                    "DELETE FROM feedback WHERE created_at < @before", new { before }, tx, cancellationToken: cancellationToken));
                await tx.CommitAsync(cancellationToken);
                break;
            }
            // Ordered by id with a limit, so within this transaction the batch is exactly the old rows up to its last id.
            var last = batch[^1].Id;
            feedback += await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM feedback WHERE context_hash IN (SELECT context_hash FROM samples WHERE created_at < @before AND id <= @last)",
                new { before, last }, tx, cancellationToken: cancellationToken));
            samples += await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM samples WHERE created_at < @before AND id <= @last", new { before, last }, tx, cancellationToken: cancellationToken));
            await StatsDelta.SubtractAsync(connection, tx, batch.Select(e => e.Sample), Now(), Shard, cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }

        var scrubbed = samples + feedback == 0 || await ScrubAsync(connection, vacuum: true, cancellationToken);
        if (samples + feedback > 0)
        {
            LogRetentionDeleted(logger, samples, feedback, cutoff, scrubbed, Time.GetElapsedTime(started).TotalMilliseconds);
        }
        return new ErasureResult(samples, feedback, scrubbed);
    }

    /// <summary>
    /// A connection whose deletes zero what they free. Pooled connections keep the setting, which only means later deletes
    /// through them are zeroed too.
    /// </summary>
    private async Task<SqliteConnection> OpenForErasureAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("PRAGMA secure_delete = ON", cancellationToken: cancellationToken));
        return connection;
    }

    private async Task<List<(long Id, TrainingSample Sample)>> ReadErasedAsync(SqliteConnection connection, SqliteTransaction tx,
        string condition, (string Name, string Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = $"SELECT {SampleColumns}, id FROM samples WHERE {condition}";
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        var rows = new List<(long, TrainingSample)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // Decoded whole because the stats subtract suggestion types, which only the payload holds.
            rows.Add((reader.GetInt64(IdAfterSampleColumns), ReadSample(reader)));
        }
        return rows;
    }

    /// <summary>
    /// VACUUM (when asked) then a TRUNCATE checkpoint. VACUUM works beside readers (it writes into the WAL); the checkpoint
    /// has to wait for readers of older snapshots, up to <see cref="ScrubTimeout"/> through SQLite's own busy handler.
    /// True when it completed, i.e. neither the file nor the WAL holds a deleted byte.
    /// </summary>
    private async Task<bool> ScrubAsync(SqliteConnection connection, bool vacuum, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            $"PRAGMA busy_timeout = {(int)ScrubTimeout.TotalMilliseconds}", cancellationToken: cancellationToken));
        if (vacuum)
        {
            await connection.ExecuteAsync(new CommandDefinition("VACUUM", cancellationToken: cancellationToken));
        }
        var (busy, _, _) = await connection.QuerySingleAsync<(long Busy, long Log, long Checkpointed)>(
            new CommandDefinition("PRAGMA wal_checkpoint(TRUNCATE)", cancellationToken: cancellationToken));
        return busy == 0;
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information,
        Message = "Erasure: {Samples} samples and {Feedback} feedback rows deleted (scrubbed: {Scrubbed}) in {ElapsedMs:0} ms")]
    private static partial void LogErased(ILogger logger, int samples, int feedback, bool scrubbed, double elapsedMs);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information,
        Message = "Retention: {Samples} samples and {Feedback} feedback rows older than {Cutoff:u} deleted (scrubbed: {Scrubbed}) in {ElapsedMs:0} ms")]
    private static partial void LogRetentionDeleted(ILogger logger, int samples, int feedback, DateTimeOffset cutoff, bool scrubbed, double elapsedMs);
}
