using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using CommentFlow.Domain;
using CommentFlow.Privacy;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CommentFlow.Storage;

/// <summary>
/// The shared store: several CommentFlow instances write to one PostgreSQL database. The same tables and semantics as
/// <see cref="SqliteTrainingStore"/>; what several writers change is spelled out where it matters:
/// <list type="bullet">
/// <item>batches of samples take the writers' lock (a transaction-scoped advisory lock) shared and add to their
/// instance's own stats rows (<c>stats_shards</c>, summed when read), so the writers of several instances never wait on
/// each other; before inserting, a batch takes an advisory lock per hash in sorted order, so two batches with the same
/// hashes (in any order) queue in one order on them, never in a cycle;</item>
/// <item>what must see no batch in flight takes the lock exclusive: erasure and retention, feedback (a check, then an
/// upsert), and the compression switch-over, decided by exactly one writer;</item>
/// <item>a payload dictionary and the conversion of GZip payloads to it take the lock shared too: a dictionary is one row
/// whose key two instances cannot both take, and the conversion rewrites a few hundred rows a transaction, compressed
/// before it starts, skipping rows another instance is rewriting;</item>
/// <item>a duplicate already stored is found once the batch holds its hash locks and skipped without an insert; the
/// unique constraint (<c>ON CONFLICT DO NOTHING</c>) stays the backstop;</item>
/// <item>migrations run under a transaction-scoped advisory lock, so instances starting together apply each one once.</item>
/// </list>
/// Connections come from one <see cref="NpgsqlDataSource"/> (its pool), one per operation.
/// </summary>
internal sealed partial class PostgresTrainingStore(NpgsqlDataSource dataSource, StorageOptions options, TimeProvider time,
    ILogger<PostgresTrainingStore> logger, PersonalDataMasker? masker = null)
    : DbTrainingStore(options, time, masker), ITrainingStore
{
    private const string MigrationPrefix = "CommentFlow.Storage.Migrations.Postgres.";

    /// <summary>The advisory lock key of schema migrations ("CFMIGRAT" in ASCII); advisory locks are per database.</summary>
    private const long MigrationLockKey = 0x43464D4947524154;

    /// <summary>The writers' advisory lock key ("CFWRITER" in ASCII): shared for batches, exclusive for the rest.</summary>
    internal const long WritersLockKey = 0x4346575249544552;

    // This instance's stats rows: random, so instances sharing the database almost never share one (if they do, they only
    // queue on it). Shards of instances gone are folded into shard 0 when an instance starts (see MigrateAsync).
    private readonly int _shard = Random.Shared.Next(1, int.MaxValue);

    protected override int Shard => _shard;

    // One statement for the batch. A row another instance is rewriting at this moment is skipped (it converts it), not
    // waited for; one it has rewritten is zstd.
    protected override async Task<int> RewriteUnconvertedPayloadsAsync(DbConnection connection, DbTransaction tx, long[] ids, byte[][] payloads, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"""
            UPDATE samples s SET payload = v.payload, payload_encoding = {PayloadCodec.Zstd}
            FROM unnest(@ids, @payloads) AS v(id, payload)
            WHERE s.id = v.id AND s.payload_encoding <> {PayloadCodec.Zstd}
              AND s.id IN (SELECT id FROM samples WHERE id = ANY(@ids) AND payload_encoding <> {PayloadCodec.Zstd} FOR UPDATE SKIP LOCKED)
            """, (NpgsqlConnection)connection, (NpgsqlTransaction)tx);
        command.Parameters.Add(new NpgsqlParameter<long[]>("ids", ids));
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("payloads", payloads));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public string Provider => StorageProviders.Postgres;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        // Held until commit: a second instance waits here, then finds every migration applied.
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(@key)", new { key = MigrationLockKey }, tx, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)",
            transaction: tx, cancellationToken: cancellationToken));
        await ApplyMigrationsAsync(connection, tx, MigrationPrefix, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        await FoldShardsAsync(connection, cancellationToken);
        await LoadDictionariesAsync(connection, cancellationToken);
    }

    /// <summary>
    /// Adds every other shard into shard 0, under the writers' lock held exclusive (no batch in flight): the sums stay what
    /// they were, and a shard row per instance ever started does not pile up. A running instance's next batch simply makes
    /// its row again.
    /// </summary>
    private async Task FoldShardsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await LockWritersAsync(connection, tx, exclusive: true, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            WITH moved AS (DELETE FROM stats_shards WHERE shard <> 0 RETURNING samples, suggestions, comments, last_modified)
            INSERT INTO stats_shards (shard, samples, suggestions, comments, last_modified)
            SELECT 0, COALESCE(SUM(samples), 0), COALESCE(SUM(suggestions), 0), COALESCE(SUM(comments), 0), MAX(last_modified) FROM moved
            ON CONFLICT (shard) DO UPDATE SET samples = stats_shards.samples + excluded.samples,
                suggestions = stats_shards.suggestions + excluded.suggestions, comments = stats_shards.comments + excluded.comments,
                last_modified = GREATEST(stats_shards.last_modified, excluded.last_modified)
            """, transaction: tx, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            WITH moved AS (DELETE FROM stats_shard_counts WHERE shard <> 0 RETURNING dimension, value, count)
            INSERT INTO stats_shard_counts (shard, dimension, value, count)
            SELECT 0, dimension, value, SUM(count) FROM moved GROUP BY dimension, value
            ON CONFLICT (shard, dimension, value) DO UPDATE SET count = stats_shard_counts.count + excluded.count
            """, transaction: tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
    }

    public override async IAsyncEnumerable<T> ReadAllAsync<T>(Func<StoredSample, T> map, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Feedback is a small fraction of the samples: read it whole, then attach it while the samples stream.
        var feedback = await ReadFeedbackAsync(cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // Npgsql's reader takes rows off the socket as they are read (the server sends ahead only what the socket
        // buffers hold), so memory stays flat whatever the store's size; SequentialAccess keeps even one row unbuffered.
        await using var command = new NpgsqlCommand($"SELECT {SampleColumns} FROM samples ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        async ValueTask<List<StoredRow>> ReadRowsAsync(int max, CancellationToken ct)
        {
            var rows = new List<StoredRow>(max);
            while (rows.Count < max && await reader.ReadAsync(ct))
            {
                rows.Add(ReadRow(reader));
            }
            return rows;
        }
        await foreach (var item in StoredRow.DecodeAheadAsync(ReadRowsAsync, feedback, Codec, map, cancellationToken))
        {
            yield return item;
        }
    }

    /// <summary>One row of <see cref="DbTrainingStore.SampleColumns"/>, read in column order (the readers may be sequential).</summary>
    private static StoredRow ReadRow(DbDataReader reader) =>
        new(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3),
            reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetDouble(8), reader.GetInt16(9),
            reader.GetFieldValue<byte[]>(10), reader.IsDBNull(11) ? null : reader.GetString(11), reader.IsDBNull(12) ? null : reader.GetString(12));

    protected override TrainingSample ReadSample(DbDataReader reader) => ReadRow(reader).ToSample(Codec);

    protected override string SearchCondition => @"(ticket_key ILIKE @anywhere ESCAPE '\' OR context_hash LIKE @prefix ESCAPE '\')";

    protected override string CreatedDay => "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')";

    /// <summary>Takes the writers' lock until the transaction ends. Every write transaction of this store calls it first: see the class comment.</summary>
    private static Task LockWritersAsync(DbConnection connection, DbTransaction tx, bool exclusive, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            exclusive ? "SELECT pg_advisory_xact_lock(@key)" : "SELECT pg_advisory_xact_lock_shared(@key)",
            new { key = WritersLockKey }, tx, cancellationToken: cancellationToken));

    /// <summary>
    /// PostgreSQL text cannot hold U+0000 (SQLite can): one such character would fail the whole batch, and the writer would
    /// retry it for ever. Text columns get U+FFFD in its place; payloads (bytea, JSON-escaped) keep the exact text.
    /// </summary>
    internal static string Text(string value) => value.Contains('\0', StringComparison.Ordinal) ? value.Replace('\0', '\uFFFD') : value;

    internal static string? TextOrNull(string? value) => value is null ? null : Text(value);

    /// <summary>The sample as its text columns (and so the stats) hold it; its payload was encoded from the exact text.</summary>
    private static TrainingSample WithTextColumns(TrainingSample s) => s with
    {
        Context = s.Context with
        {
            TicketKey = TextOrNull(s.Context.TicketKey), IssueType = Text(s.Context.IssueType), Status = Text(s.Context.Status),
            Priority = Text(s.Context.Priority), Language = TextOrNull(s.Context.Language), Queue = TextOrNull(s.Context.Queue),
        },
        Model = Text(s.Model),
        Engine = Text(s.Engine),
    };

    protected override async Task<DbConnection> ConnectAsync(CancellationToken cancellationToken) =>
        await dataSource.OpenConnectionAsync(cancellationToken);

    // The two-key form of advisory locks, a space apart from the writers' one-key lock; a collision of hashtext only makes
    // two batches queue. Volatile functions in the select list run after the ORDER BY, so the locks are taken in order.
    // Once they are held, no other batch is inserting these hashes, so the rows found stored are all there will be. A
    // duplicate is skipped on that finding rather than inserted: its INSERT's conflict check would wait for a
    // transaction rewriting the stored row (the dictionary conversion), the read does not.
    protected override async Task<HashSet<string>?> ClaimAsync(DbConnection connection, DbTransaction tx, string[] hashes, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(@space, hashtext(h)) FROM unnest(@hashes) AS h ORDER BY h",
            new { space = HashLockSpace, hashes }, tx, cancellationToken: cancellationToken));
        return (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT context_hash FROM samples WHERE context_hash = ANY(@hashes)", new { hashes }, tx, cancellationToken: cancellationToken)))
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The first key of the hashes' advisory locks ("CF").</summary>
    private const int HashLockSpace = 0x4346;

    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, bool exclusive, CancellationToken cancellationToken)
    {
        // Should the lock fail, disposing the connection rolls the transaction back.
        var tx = await connection.BeginTransactionAsync(cancellationToken);
        await LockWritersAsync(connection, tx, exclusive, cancellationToken);
        return tx;
    }

    // Repeatable read: every read of the transaction sees the snapshot of its first, even while other instances write.
    protected override async Task<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);

    protected override DbType TimestampType => DbType.DateTimeOffset;

    protected override object TimestampValue(DateTimeOffset value) => value.ToUniversalTime();

    // timestamptz reads as a UTC DateTime.
    protected override DateTimeOffset ReadTimestamp(object value) => new(DateTime.SpecifyKind((DateTime)value, DateTimeKind.Utc));

    protected override string AsText(string value) => Text(value);

    protected override TrainingSample AsStored(TrainingSample sample) => WithTextColumns(sample);

    protected override string IsAnyOf(string column, string parameter) => $"{column} = ANY({parameter})";

    protected override object AnyOf(string[] values) => values;

    protected override void OnMigrationApplied(int version, string name) => LogMigrationApplied(logger, version, name);

    protected override void OnCompressionEnabled(long samples, int converted) => LogCompressionEnabled(logger, samples, converted);

    protected override void OnDictionaryTrained(int id, int payloads, double heldOutRatio, long elapsedMs) =>
        LogDictionaryTrained(logger, id, payloads, heldOutRatio, elapsedMs);

    protected override void OnDictionaryConverted(int id, int converted) => LogDictionaryConverted(logger, id, converted);

    protected override void OnDictionaryFailed(Exception exception) => LogDictionaryFailed(logger, exception);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Payload dictionary {Id} trained on {Payloads} payloads in {ElapsedMs} ms; held-out payloads compress to {Ratio:P1}")]
    private static partial void LogDictionaryTrained(ILogger logger, int id, int payloads, double ratio, long elapsedMs);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Information, Message = "{Converted} GZip payloads converted to payload dictionary {Id}")]
    private static partial void LogDictionaryConverted(ILogger logger, int id, int converted);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Warning, Message = "Payload dictionary work failed; payloads keep their current codec and it is tried again later")]
    private static partial void LogDictionaryFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Applied store migration {Version} ({Name})")]
    private static partial void LogMigrationApplied(ILogger logger, int version, string name);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Store compression enabled at {Samples} samples; {Converted} existing payloads compressed")]
    private static partial void LogCompressionEnabled(ILogger logger, long samples, int converted);
}
