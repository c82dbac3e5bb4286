using CommentFlow.Domain;
using Dapper;
using Microsoft.Data.Sqlite;

namespace CommentFlow.Storage;

/// <summary>
/// Archiving: settled samples leave their rows for blocks of the archive (<see cref="ArchiveBlock"/>), oldest rows first,
/// in one transaction a block (the rows deleted, the block and its keys inserted), so a kill leaves each sample in one
/// place. The archive holds the oldest rows only: every row left is newer than every archived sample, which is the order
/// whole-store reads give. The stats do not change: an archived sample is still a sample.
/// </summary>
internal sealed partial class SqliteTrainingStore
{
    /// <summary>
    /// Archives the samples created before <paramref name="settledBefore"/>, oldest rows first, in blocks of
    /// <paramref name="blockSamples"/> (at most <paramref name="maxBlocks"/>); a last block of fewer only when
    /// <paramref name="partial"/>. The newest row always stays: SQLite numbers a new row after the largest id left, and
    /// the archive's samples must stay older than every row. Returns how many samples were archived.
    /// </summary>
    internal async Task<int> ArchiveAsync(DateTimeOffset settledBefore, int blockSamples, bool partial, CancellationToken cancellationToken,
        int maxBlocks = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSamples, 1);
        var before = StoreTimestamps.Format(settledBefore);
        var archived = 0;
        await using var connection = await OpenAsync(cancellationToken);
        for (var blocks = 0; blocks < maxBlocks; blocks++)
        {
            // Read and packed outside the write lock (zstd 19 takes ~1 ms of CPU a sample): capture goes on meanwhile.
            var rows = new List<(long Id, StoredRow Row)>(blockSamples);
            await using (var snapshot = await BeginSnapshotAsync(connection, cancellationToken))
            await using (var command = connection.CreateCommand())
            {
                command.Transaction = (SqliteTransaction)snapshot;
                command.CommandText = $"SELECT {SampleColumns}, id FROM samples WHERE id < (SELECT max(id) FROM samples) ORDER BY id LIMIT $limit";
                command.Parameters.AddWithValue("$limit", blockSamples);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                // The settled prefix: a newer row stops it, so what is archived stays older than what is not.
                while (await reader.ReadAsync(cancellationToken) && string.CompareOrdinal(reader.GetString(2), before) < 0)
                {
                    rows.Add((reader.GetInt64(IdAfterSampleColumns), ReadRow(reader)));
                }
            }
            if (rows.Count == 0 || (rows.Count < blockSamples && !partial))
            {
                break;
            }
            var packed = ArchiveBlock.Pack(rows, Codec);

            await using var tx = (SqliteTransaction)await BeginWriteAsync(connection, exclusive: true, cancellationToken);
            // Still there, all of them, and still not the newest: an erasure meanwhile leaves them to the next run.
            var (present, newest) = await connection.QuerySingleAsync<(long Present, long Newest)>(new CommandDefinition(
                "SELECT (SELECT COUNT(*) FROM samples WHERE id BETWEEN @first AND @last), (SELECT max(id) FROM samples)",
                new { first = rows[0].Id, last = rows[^1].Id }, tx, cancellationToken: cancellationToken));
            if (present != rows.Count || newest <= rows[^1].Id)
            {
                break;
            }
            var id = await WriteBlockAsync(connection, tx, packed, null, cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO archived_samples (context_hash, block, ticket_key) VALUES (@Key, @Block, @TicketKey)",
                rows.Select(r => new { Key = ArchivedKey(r.Row.ContextHash), Block = id, r.Row.TicketKey }), tx, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM samples WHERE id BETWEEN @first AND @last", new { first = rows[0].Id, last = rows[^1].Id }, tx, cancellationToken: cancellationToken));
            await tx.CommitAsync(cancellationToken);
            archived += rows.Count;
            if (rows.Count < blockSamples)
            {
                break;
            }
        }
        return archived;
    }

    /// <summary>
    /// Inside an erasure's transaction: the archived samples <paramref name="erase"/> picks are taken out of their blocks
    /// (a block rewritten without them, or deleted when none is left) along with their keys and their feedback.
    /// Returns them decoded, for the stats. <paramref name="blocks"/> limits the blocks read.
    /// </summary>
    private async Task<(List<TrainingSample> Erased, int Feedback)> EraseArchivedAsync(SqliteConnection connection, SqliteTransaction tx,
        IEnumerable<long> blocks, Func<StoredRow, bool> erase, CancellationToken cancellationToken)
    {
        var erased = new List<TrainingSample>();
        var feedback = 0;
        foreach (var block in blocks)
        {
            var samples = await ReadBlockWithIdsAsync(connection, tx, block, cancellationToken);
            var gone = samples.Select(s => s.Row).Where(erase).ToList();
            if (gone.Count == 0)
            {
                continue;
            }
            var kept = samples.Where(s => !erase(s.Row)).ToList();
            if (kept.Count == 0)
            {
                await connection.ExecuteAsync(new CommandDefinition("DELETE FROM archive_blocks WHERE id = @block", new { block }, tx, cancellationToken: cancellationToken));
            }
            else
            {
                await WriteBlockAsync(connection, tx, ArchiveBlock.Pack(kept, Codec, ArchiveBlock.RewriteLevel), block, cancellationToken);
            }
            var hashes = gone.Select(r => r.ContextHash).ToArray();
            feedback += await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM feedback WHERE context_hash IN @hashes", new { hashes }, tx, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM archived_samples WHERE context_hash = @key", hashes.Select(hash => new { key = ArchivedKey(hash) }), tx, cancellationToken: cancellationToken));
            erased.AddRange(gone.Select(r => r.ToSample(Codec)));
        }
        return (erased, feedback);
    }

    /// <summary>A new block (returning its id), or block <paramref name="replacing"/> rewritten.</summary>
    private static async Task<long> WriteBlockAsync(SqliteConnection connection, SqliteTransaction tx, ArchiveBlock.Packed packed, long? replacing,
        CancellationToken cancellationToken)
    {
        var parameters = new DynamicParameters(packed);
        parameters.Add("Id", replacing);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            INSERT INTO archive_blocks (id, samples, first_id, last_id, oldest, newest, days, encoding, content)
            VALUES (@Id, @Samples, @FirstId, @LastId, @Oldest, @Newest, @Days, @Encoding, @Content)
            ON CONFLICT (id) DO UPDATE SET samples = excluded.samples, first_id = excluded.first_id, last_id = excluded.last_id,
                oldest = excluded.oldest, newest = excluded.newest, days = excluded.days, encoding = excluded.encoding, content = excluded.content
            RETURNING id
            """, parameters, tx, cancellationToken: cancellationToken));
    }

    private static async Task<List<long>> BlocksOfTicketAsync(SqliteConnection connection, SqliteTransaction tx, string ticketKey, CancellationToken cancellationToken) =>
        [.. await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT DISTINCT block FROM archived_samples WHERE ticket_key = @ticketKey", new { ticketKey }, tx, cancellationToken: cancellationToken))];

    private static async Task<List<long>> BlocksOlderThanAsync(SqliteConnection connection, SqliteTransaction tx, string before, CancellationToken cancellationToken) =>
        [.. await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT id FROM archive_blocks WHERE oldest < @before ORDER BY id", new { before }, tx, cancellationToken: cancellationToken))];
}
