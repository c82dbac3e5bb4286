using System.Data.Common;

namespace CommentFlow.Storage;

/// <summary>
/// Reading the archive (migration 0008; SQLite fills it, see SqliteTrainingStore.Archive.cs): a sample is in samples
/// or in one archive block, never both, so every read that looks for samples looks in both, in one snapshot.
/// </summary>
internal abstract partial class DbTrainingStore
{
    /// <summary>What <c>archived_samples.context_hash</c> holds for <paramref name="contextHash"/>.</summary>
    protected virtual object ArchivedKey(string contextHash) => AsText(contextHash);

    /// <summary><c>archived_samples.context_hash</c> as the hash's text.</summary>
    protected virtual string ArchivedHash => "context_hash";

    /// <summary>The samples of one block, in the order they were archived.</summary>
    protected async Task<List<StoredRow>> ReadBlockAsync(DbConnection connection, DbTransaction? tx, long block, CancellationToken cancellationToken) =>
        [.. (await ReadBlockWithIdsAsync(connection, tx, block, cancellationToken)).Select(s => s.Row)];

    /// <summary>The samples of one block with the row ids they had, in the order they were archived (ascending id).</summary>
    protected async Task<List<(long Id, StoredRow Row)>> ReadBlockWithIdsAsync(DbConnection connection, DbTransaction? tx, long block, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, tx, "SELECT encoding, content FROM archive_blocks WHERE id = @block", [("block", block)]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? ArchiveBlock.Unpack(reader.GetFieldValue<byte[]>(1), reader.GetInt32(0))
            : [];
    }

    /// <summary>The archive's blocks, oldest first (<paramref name="newestFirst"/>: the other way).</summary>
    protected static async Task<List<long>> BlocksAsync(DbConnection connection, DbTransaction? tx, bool newestFirst, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, tx, $"SELECT id FROM archive_blocks ORDER BY id{(newestFirst ? " DESC" : "")}", []);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var blocks = new List<long>();
        while (await reader.ReadAsync(cancellationToken))
        {
            blocks.Add(reader.GetInt64(0));
        }
        return blocks;
    }

    /// <summary>The blocks holding samples of the ticket, or of the hash, and how many of them each holds.</summary>
    private static async Task<List<(long Block, long Samples)>> BlocksWhereAsync(DbConnection connection, DbTransaction? tx, string condition,
        (string Name, object Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, tx,
            $"SELECT block, COUNT(*) FROM archived_samples {condition} GROUP BY block ORDER BY block DESC", parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var blocks = new List<(long, long)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            blocks.Add((reader.GetInt64(0), reader.GetInt64(1)));
        }
        return blocks;
    }

    /// <summary>The archived samples of a ticket.</summary>
    protected async Task<List<StoredRow>> ArchivedOfTicketAsync(DbConnection connection, DbTransaction? tx, string ticketKey, CancellationToken cancellationToken)
    {
        var rows = new List<StoredRow>();
        foreach (var (block, _) in await BlocksWhereAsync(connection, tx, "WHERE ticket_key = @key", [("key", AsText(ticketKey))], cancellationToken))
        {
            rows.AddRange((await ReadBlockAsync(connection, tx, block, cancellationToken)).Where(r => r.TicketKey == ticketKey));
        }
        return rows;
    }

    private async Task<StoredRow?> FindArchivedAsync(DbConnection connection, DbTransaction? tx, string contextHash, CancellationToken cancellationToken)
    {
        foreach (var (block, _) in await BlocksWhereAsync(connection, tx, "WHERE context_hash = @hash", [("hash", ArchivedKey(contextHash))], cancellationToken))
        {
            return (await ReadBlockAsync(connection, tx, block, cancellationToken)).FirstOrDefault(r => r.ContextHash == contextHash);
        }
        return null;
    }

    /// <summary>
    /// A page of the archived samples that match the search (all of them without one), newest block first and newest
    /// sample first within a block, after skipping <paramref name="skip"/> of them: only the blocks the page reaches are read.
    /// </summary>
    private async Task<List<StoredRow>> ArchivedPageAsync(DbConnection connection, DbTransaction tx, string where, (string Name, object Value)[] search,
        long skip, int take, CancellationToken cancellationToken)
    {
        var page = new List<StoredRow>();
        foreach (var (block, count) in await BlocksWhereAsync(connection, tx, where, search, cancellationToken))
        {
            if (page.Count >= take)
            {
                break;
            }
            if (skip >= count)
            {
                skip -= count;
                continue;
            }
            var rows = await ReadBlockAsync(connection, tx, block, cancellationToken);
            if (search.Length > 0)
            {
                var matching = new HashSet<string>(StringComparer.Ordinal);
                await using var command = Command(connection, tx, $"SELECT {ArchivedHash} FROM archived_samples {where} AND block = @block", [.. search, ("block", block)]);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    matching.Add(reader.GetString(0));
                }
                rows = [.. rows.Where(r => matching.Contains(r.ContextHash))];
            }
            page.AddRange(Enumerable.Reverse(rows).OrderByDescending(r => r.CreatedAt).Skip((int)skip).Take(take - page.Count));
            skip = 0;
        }
        return page;
    }
}
