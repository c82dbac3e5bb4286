using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text.Json;
using CommentFlow.Domain;
using CommentFlow.Privacy;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CommentFlow.Storage;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. WAL plus a transaction per batch means a kill -9 at any
/// moment leaves either the whole batch or none of it, and readers never block the writer.
/// </summary>
internal sealed partial class SqliteTrainingStore(string connectionString, StorageOptions options, TimeProvider time,
    ILogger<SqliteTrainingStore> logger, PersonalDataMasker? masker = null)
    : DbTrainingStore(options, time, masker), ITrainingStore
{
    private const string MigrationPrefix = "CommentFlow.Storage.Migrations.Sqlite.";
    // Each captured sample lands on a random leaf of the unique context-hash index, so a commit writes about one page a
    // sample to the WAL and again at the checkpoint: 16 KB pages wrote 26 KB a request under the HTTP bench's new
    // tickets, 4 KB pages 11 KB, and a stored sample takes less room (bench/README.md, 2026-12-07).
    internal const int PageSize = 4096;

    // SQLite checkpoints the WAL into the file once it holds this many pages (its default: 1,000, 4 MB at 4 KB pages).
    // A sample dirties a random leaf of the hash and ticket indexes, and a longer WAL lets the checkpoint write a leaf
    // that several batches dirtied once: the capture pipeline ingested 1M requests 17 % faster at 10,000 pages, and
    // wrote 10 % fewer bytes (bench/README.md, 2026-12-07). The WAL file then stays ~40 MB beside the store.
    internal const int WalAutocheckpointPages = 10_000;

    public string Provider => StorageProviders.Sqlite;

    public string DataSource => new SqliteConnectionStringBuilder(connectionString).DataSource;

    public static string DefaultConnectionString(string dataDir) => ConnectionStringFor(Path.Combine(dataDir, FileName));

    public const string FileName = "commentflow.db";

    /// <summary>The store in the SQLite file at <paramref name="path"/>, as the service opens it.</summary>
    public static string ConnectionStringFor(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(DataSource));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        await using var connection = await OpenAsync(cancellationToken);
        // page_size only takes effect before the first table exists; journal_mode=WAL is persistent in the file.
        await connection.ExecuteAsync(new CommandDefinition($"PRAGMA page_size = {PageSize}; PRAGMA journal_mode = WAL;", cancellationToken: cancellationToken));

        // IMMEDIATE takes the write lock up front, so two processes starting together apply each migration once.
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            transaction: tx, cancellationToken: cancellationToken));
        await ApplyMigrationsAsync(connection, tx, MigrationPrefix, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        await LoadDictionariesAsync(connection, cancellationToken);
    }

    public override async IAsyncEnumerable<T> ReadAllAsync<T>(Func<StoredSample, T> map, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Feedback is a small fraction of the samples: read it whole, then attach it while the samples stream.
        var feedback = await ReadFeedbackAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        // The archive's samples, then the rows (all newer), in one snapshot: archiving moves samples from one to the other.
        await using var tx = (SqliteTransaction)await BeginSnapshotAsync(connection, cancellationToken);
        var blocks = new Queue<long>(await BlocksAsync(connection, tx, newestFirst: false, cancellationToken));
        var archived = new Queue<StoredRow>();
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = $"SELECT {SampleColumns} FROM samples ORDER BY id";
        SqliteDataReader? reader = null;
        try
        {
            async ValueTask<List<StoredRow>> ReadBatchAsync(int max, CancellationToken token)
            {
                while (archived.Count < max && blocks.TryDequeue(out var block))
                {
                    foreach (var row in await ReadBlockAsync(connection, tx, block, token))
                    {
                        archived.Enqueue(row);
                    }
                }
                var rows = new List<StoredRow>(max);
                while (rows.Count < max && archived.TryDequeue(out var row))
                {
                    rows.Add(row);
                }
                if (rows.Count < max)
                {
                    reader ??= await command.ExecuteReaderAsync(token);
                    rows.AddRange(ReadRows(reader, max - rows.Count));
                }
                return rows;
            }

            await foreach (var item in StoredRow.DecodeAheadAsync(ReadBatchAsync, feedback, Codec, map, cancellationToken))
            {
                yield return item;
            }
        }
        finally
        {
            if (reader is not null)
            {
                await reader.DisposeAsync();
            }
        }
    }

    private static List<StoredRow> ReadRows(SqliteDataReader reader, int max)
    {
        var rows = new List<StoredRow>(max);
        while (rows.Count < max && reader.Read())
        {
            rows.Add(ReadRow(reader));
        }
        return rows;
    }

    /// <summary>One row of <see cref="DbTrainingStore.SampleColumns"/>.</summary>
    private static StoredRow ReadRow(DbDataReader reader) =>
        new(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), StoreTimestamps.Parse(reader.GetString(2)), reader.GetString(3),
            reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetDouble(8), reader.GetInt32(9),
            reader.GetFieldValue<byte[]>(10), reader.IsDBNull(11) ? null : reader.GetString(11), reader.IsDBNull(12) ? null : reader.GetString(12));

    protected override TrainingSample ReadSample(DbDataReader reader) => ReadRow(reader).ToSample(Codec);

    // The archive keeps an MD5 hash (32 lower-case hex digits, every hash the service makes) as its 16 bytes, which saves
    // ~17 B a sample; any other text (an imported store's) as it is. A blob never equals a text, so the two cannot meet.
    protected override object ArchivedKey(string contextHash) =>
        contextHash.Length == 32 && contextHash.AsSpan().IndexOfAnyExcept(LowerHex) < 0 ? Convert.FromHexString(contextHash) : contextHash;

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    // One writer, so the rows' own conflict check is enough for them; the archive's hashes are looked up for the batch
    // at once, and only when the archive holds any (a query a batch instead of a probe a row: capture's hot loop). The
    // keys go in as two JSON arrays (AnyOf), the blobs as hex, the texts as they are.
    protected override async Task<HashSet<string>?> ClaimAsync(DbConnection connection, DbTransaction tx, string[] hashes, CancellationToken cancellationToken)
    {
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM archive_blocks)", transaction: tx, cancellationToken: cancellationToken)))
        {
            return null;
        }
        var keys = hashes.Select(ArchivedKey).ToList();
        return new HashSet<string>(await connection.QueryAsync<string>(new CommandDefinition(
            $"""
            SELECT {ArchivedHash} FROM archived_samples WHERE context_hash IN (SELECT unhex(value) FROM json_each(@blobs))
            UNION ALL
            SELECT {ArchivedHash} FROM archived_samples WHERE {IsAnyOf("context_hash", "@texts")}
            """,
            new { blobs = AnyOf([.. keys.OfType<byte[]>().Select(Convert.ToHexString)]), texts = AnyOf([.. keys.OfType<string>()]) }, tx,
            cancellationToken: cancellationToken)), StringComparer.Ordinal);
    }

    protected override string ArchivedHash => "(CASE WHEN typeof(context_hash) = 'blob' THEN lower(hex(context_hash)) ELSE context_hash END)";

    // SQLite's LIKE ignores ASCII case already; ticket keys are ASCII in practice.
    protected override string SearchCondition => @"(ticket_key LIKE @anywhere ESCAPE '\' OR context_hash LIKE @prefix ESCAPE '\')";

    // created_at is ISO 8601 UTC text: its first ten characters are the day.
    protected override string CreatedDay => "substr(created_at, 1, 10)";

    /// <summary>
    /// The journal mode and <c>synchronous</c> level (2 = FULL, 1 = NORMAL) a connection of this store runs with (what the
    /// durability promise rests on), and its WAL's checkpoint threshold in pages.
    /// </summary>
    internal async Task<(string JournalMode, long Synchronous, long WalAutocheckpoint)> ConnectionSettingsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return (await connection.ExecuteScalarAsync<string>(new CommandDefinition("PRAGMA journal_mode", cancellationToken: cancellationToken)) ?? "",
            await connection.ExecuteScalarAsync<long>(new CommandDefinition("PRAGMA synchronous", cancellationToken: cancellationToken)),
            await connection.ExecuteScalarAsync<long>(new CommandDefinition("PRAGMA wal_autocheckpoint", cancellationToken: cancellationToken)));
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = $"PRAGMA synchronous = {(Options.Synchronous == "normal" ? "NORMAL" : "FULL")}; PRAGMA wal_autocheckpoint = {WalAutocheckpointPages}";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    protected override async Task<DbConnection> ConnectAsync(CancellationToken cancellationToken) => await OpenAsync(cancellationToken);

    // BEGIN IMMEDIATE (Microsoft.Data.Sqlite's default): the write lock is taken up front, so SQLite's one writer is the lock.
    // One writer at a time whatever is asked: BEGIN IMMEDIATE takes SQLite's RESERVED lock.
    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, bool exclusive, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(cancellationToken);

    // BEGIN DEFERRED takes no lock; in WAL mode the first read fixes the snapshot every later read of the transaction sees.
    protected override Task<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken) =>
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: true));

    protected override DbType TimestampType => DbType.String;

    protected override object TimestampValue(DateTimeOffset value) => StoreTimestamps.Format(value);

    protected override DateTimeOffset ReadTimestamp(object value) => StoreTimestamps.Parse((string)value);

    // One JSON array that json_each reads: Dapper's expansion of an array into a parameter a value took 12.6–20.8 ms for
    // 1,000 hashes against 1.2–3.0 ms (bench/README.md, 2026-12-08).
    protected override string IsAnyOf(string column, string parameter) => $"{column} IN (SELECT value FROM json_each({parameter}))";

    protected override object AnyOf(string[] values) => JsonSerializer.Serialize(values, StorageJsonContext.Default.StringArray);

    protected override void OnMigrationApplied(int version, string name) => LogMigrationApplied(logger, version, name);

    protected override void OnCompressionEnabled(long samples, int converted) => LogCompressionEnabled(logger, samples, converted);

    protected override void OnDictionaryTrained(int id, int payloads, double heldOutRatio, long elapsedMs) =>
        LogDictionaryTrained(logger, id, payloads, heldOutRatio, elapsedMs);

    protected override void OnDictionaryConverted(int id, int converted) => LogDictionaryConverted(logger, id, converted);

    protected override void OnDictionaryFailed(Exception exception) => LogDictionaryFailed(logger, exception);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Payload dictionary {Id} trained on {Payloads} payloads in {ElapsedMs} ms; held-out payloads compress to {Ratio:P1}")]
    private static partial void LogDictionaryTrained(ILogger logger, int id, int payloads, double ratio, long elapsedMs);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "{Converted} GZip payloads converted to payload dictionary {Id}")]
    private static partial void LogDictionaryConverted(ILogger logger, int id, int converted);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Payload dictionary work failed; payloads keep their current codec and it is tried again later")]
    private static partial void LogDictionaryFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Applied store migration {Version} ({Name})")]
    private static partial void LogMigrationApplied(ILogger logger, int version, string name);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Store compression enabled at {Samples} samples; {Converted} existing payloads compressed")]
    private static partial void LogCompressionEnabled(ILogger logger, long samples, int converted);
}
