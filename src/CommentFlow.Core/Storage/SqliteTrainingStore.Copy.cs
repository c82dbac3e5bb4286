using CommentFlow.Domain;
using Dapper;
using Microsoft.Data.Sqlite;

namespace CommentFlow.Storage;

/// <summary>
/// What <see cref="StoreCopy"/> reads from a SQLite store (the source) beyond what every store offers: a resumable
/// cursor over the archive's samples, then the rows. A row's cursor is its id; an archived sample's is negative, after
/// <see cref="BeforeFirst"/>, from its block and its place in it, so every archived sample comes before every row. A
/// cursor among the rows also finds the samples archived since it was taken by the ids they had as rows, which blocks keep.
/// </summary>
internal sealed partial class SqliteTrainingStore
{
    /// <summary>The cursor before the first sample.</summary>
    public const long BeforeFirst = long.MinValue;

    private const long ArchiveCursors = long.MinValue / 2;
    private const int PlaceBits = 24;

    private static long ArchiveCursor(long block, int place) => ArchiveCursors + (block << PlaceBits) + place;

    /// <summary>Up to <paramref name="limit"/> samples after the cursor <paramref name="afterId"/>, with their cursors.</summary>
    public async Task<IReadOnlyList<(long Id, TrainingSample Sample)>> ReadBatchAfterAsync(long afterId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = (SqliteTransaction)await BeginSnapshotAsync(connection, cancellationToken);
        var batch = new List<(long, TrainingSample)>(limit);
        if (afterId < 0)
        {
            foreach (var block in await BlocksAsync(connection, tx, newestFirst: false, cancellationToken))
            {
                if (batch.Count >= limit || ArchiveCursor(block + 1, 0) <= afterId)
                {
                    continue;
                }
                var rows = await ReadBlockAsync(connection, tx, block, cancellationToken);
                for (var place = 0; place < rows.Count && batch.Count < limit; place++)
                {
                    if (ArchiveCursor(block, place) > afterId)
                    {
                        batch.Add((ArchiveCursor(block, place), rows[place].ToSample(Codec)));
                    }
                }
            }
        }
        else
        {
            // Rows archived after the cursor was taken: they were rows past it, and come before the rows left.
            foreach (var block in await BlocksAfterRowAsync(connection, tx, afterId, cancellationToken))
            {
                if (batch.Count >= limit)
                {
                    break;
                }
                foreach (var (id, row) in (await ReadBlockWithIdsAsync(connection, tx, block, cancellationToken)).Where(s => s.Id > afterId).Take(limit - batch.Count))
                {
                    batch.Add((id, row.ToSample(Codec)));
                }
            }
        }
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = $"SELECT {SampleColumns}, id FROM samples WHERE id > $after ORDER BY id LIMIT $limit";
        command.Parameters.AddWithValue("$after", Math.Max(afterId, 0));
        command.Parameters.AddWithValue("$limit", limit - batch.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            batch.Add((reader.GetInt64(IdAfterSampleColumns), ReadSample(reader)));
        }
        return batch;
    }

    /// <summary>How many samples come after the cursor <paramref name="afterId"/>.</summary>
    public async Task<long> CountAfterAsync(long afterId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = (SqliteTransaction)await BeginSnapshotAsync(connection, cancellationToken);
        var rows = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM samples WHERE id > @after", new { after = Math.Max(afterId, 0) }, tx, cancellationToken: cancellationToken));
        var archived = 0L;
        if (afterId < 0)
        {
            foreach (var (block, samples) in await connection.QueryAsync<(long Block, long Samples)>(new CommandDefinition(
                "SELECT id, samples FROM archive_blocks ORDER BY id", transaction: tx, cancellationToken: cancellationToken)))
            {
                // Within the block the cursor stands in, the places after it; whole blocks after it.
                archived += Math.Clamp(ArchiveCursor(block, (int)samples) - Math.Max(afterId, ArchiveCursor(block, 0) - 1) - 1, 0, samples);
            }
        }
        else
        {
            // Blocks wholly after the cursor by their ids count whole; only the one across it is read.
            foreach (var (block, samples, firstId) in await connection.QueryAsync<(long Block, long Samples, long FirstId)>(new CommandDefinition(
                "SELECT id, samples, first_id FROM archive_blocks WHERE last_id > @afterId", new { afterId }, tx, cancellationToken: cancellationToken)))
            {
                archived += firstId > afterId ? samples : (await ReadBlockWithIdsAsync(connection, tx, block, cancellationToken)).Count(s => s.Id > afterId);
            }
        }
        return rows + archived;
    }

    /// <summary>The blocks holding a sample whose row id was above <paramref name="afterId"/>, in order.</summary>
    private static async Task<List<long>> BlocksAfterRowAsync(SqliteConnection connection, SqliteTransaction tx, long afterId, CancellationToken cancellationToken) =>
        [.. await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT id FROM archive_blocks WHERE last_id > @afterId ORDER BY id", new { afterId }, tx, cancellationToken: cancellationToken))];
}
