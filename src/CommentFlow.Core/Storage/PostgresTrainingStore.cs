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
/// <item>every write transaction first locks the one <c>stats_totals</c> row, so writers (of any instance) queue in one
/// order: no deadlock between two batches inserting the same hashes in different orders, and the compression switch-over
/// is decided by exactly one of them;</item>
/// <item>a duplicate written by another instance is skipped by the unique constraint (<c>ON CONFLICT DO NOTHING</c>);</item>
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
    }

    public async IAsyncEnumerable<TrainingSample> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
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
        await foreach (var sample in StoredRow.DecodeAheadAsync(ReadRowsAsync, feedback, cancellationToken))
        {
            yield return sample;
        }
    }

    /// <summary>One row of <see cref="DbTrainingStore.SampleColumns"/>, read in column order (the readers may be sequential).</summary>
    private static StoredRow ReadRow(DbDataReader reader) =>
        new(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3),
            reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetDouble(8), reader.GetInt16(9),
            reader.GetFieldValue<byte[]>(10), reader.IsDBNull(11) ? null : reader.GetString(11), reader.IsDBNull(12) ? null : reader.GetString(12));

    protected override TrainingSample ReadSample(DbDataReader reader) => ReadRow(reader).ToSample();

    protected override string SearchCondition => @"(ticket_key ILIKE @anywhere ESCAPE '\' OR context_hash LIKE @prefix ESCAPE '\')";

    protected override string CreatedDay => "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')";

    /// <summary>
    /// Takes the writers' lock (the <c>stats_totals</c> row, until the transaction ends) and returns the samples held.
    /// Every write transaction of this store calls it first: see the class comment.
    /// </summary>
    private static Task<long> LockWritersAsync(DbConnection connection, DbTransaction tx, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT samples FROM stats_totals WHERE id = 1 FOR UPDATE", transaction: tx, cancellationToken: cancellationToken));

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

    protected override async Task<(DbTransaction Tx, long? Held)> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        // Should the lock fail, disposing the connection rolls the transaction back.
        var tx = await connection.BeginTransactionAsync(cancellationToken);
        return (tx, await LockWritersAsync(connection, tx, cancellationToken));
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

    protected override void OnMigrationApplied(int version, string name) => LogMigrationApplied(logger, version, name);

    protected override void OnCompressionEnabled(long samples, int converted) => LogCompressionEnabled(logger, samples, converted);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Applied store migration {Version} ({Name})")]
    private static partial void LogMigrationApplied(ILogger logger, int version, string name);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Store compression enabled at {Samples} samples; {Converted} existing payloads compressed")]
    private static partial void LogCompressionEnabled(ILogger logger, long samples, int converted);
}
