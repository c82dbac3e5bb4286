using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Runtime.CompilerServices;
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
internal sealed partial class SqliteTrainingStore : ITrainingStore
{
    private const string MigrationPrefix = "CommentFlow.Storage.Migrations.Sqlite.";
    private const int FeedbackMigration = 3;
    private const int PageSize = 16384; // fewer, larger pages: measurably faster inserts of ~2 KB rows, less disk

    private readonly string _connectionString;
    private readonly StorageOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    // Compression never switches off again once on, so a stale "true" is always right and saves compressing inside the transaction.
    private volatile bool _compressedKnown;

    private readonly PersonalDataMasker? _masker;

    /// <param name="masker">Applied to every sample before it is written; null stores text as given (tests of the store itself).</param>
    public SqliteTrainingStore(string connectionString, StorageOptions options, TimeProvider time, ILogger<SqliteTrainingStore> logger,
        PersonalDataMasker? masker = null)
    {
        _masker = masker;
        _connectionString = connectionString;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public string Provider => StorageProviders.Sqlite;

    public string DataSource => new SqliteConnectionStringBuilder(_connectionString).DataSource;

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
        var applied = (await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT version FROM schema_migrations", transaction: tx, cancellationToken: cancellationToken))).ToHashSet();

        var now = FormatTimestamp(_time.GetUtcNow());
        foreach (var (version, name, sql) in LoadMigrations())
        {
            if (applied.Contains(version))
            {
                continue;
            }
            await connection.ExecuteAsync(new CommandDefinition(sql, transaction: tx, cancellationToken: cancellationToken));
            if (version == FeedbackMigration)
            {
                await StoreMaintenance.BackfillShownTypesAsync(connection, tx, cancellationToken);
            }
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @now)",
                new { version, name, now }, tx, cancellationToken: cancellationToken));
            LogMigrationApplied(_logger, version, name);
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO store_meta (key, value) VALUES ('created', @now), ('last_modified', @now), ('compressed', '0')
            ON CONFLICT (key) DO NOTHING
            """, new { now }, tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
    }

    public Task<WriteResult> WriteAsync(IReadOnlyList<TrainingSample> samples, IProgress<int>? progress, CancellationToken cancellationToken) =>
        WriteAsync(Prepare(samples), progress, cancellationToken);

    // Mask, serialise (and, when compression is known to be on, compress) before taking the write lock.
    public PreparedBatch Prepare(IReadOnlyList<TrainingSample> samples) =>
        new(samples, BatchPreparation.Prepare(_masker, samples, _compressedKnown ? _options.GzipLevel : null));

    public async Task<WriteResult> WriteAsync(PreparedBatch batch, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return default;
        }
        var prepared = batch.Prepared ?? Prepare(batch.Samples).Prepared!;
        var (samples, masked, payloads, compressedKnown) = (prepared.Samples, prepared.Masked, prepared.Payloads, prepared.Compressed);

        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);

        var compress = compressedKnown;
        if (!compress)
        {
            var held = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT samples FROM stats_totals WHERE id = 1", transaction: tx, cancellationToken: cancellationToken));
            (compress, payloads, var converted) = await StoreMaintenance.CompressionForBatchAsync(connection, tx, held, samples.Count, payloads, _options, cancellationToken);
            if (converted is { } n)
            {
                LogCompressionEnabled(_logger, held, n);
            }
        }

        await using var insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText =
            """
            INSERT INTO samples (context_hash, ticket_key, created_at, issue_type, status, priority, comments_count,
                                 suggestions_count, model, engine, latency_ms, payload_encoding, payload, language, queue)
            VALUES ($hash, $key, $created, $issue_type, $status, $priority, $comments, $suggestions, $model, $engine,
                    $latency, $encoding, $payload, $language, $queue)
            ON CONFLICT (context_hash) DO NOTHING
            """;
        var pHash = insert.Parameters.Add("$hash", SqliteType.Text);
        var pKey = insert.Parameters.Add("$key", SqliteType.Text);
        var pCreated = insert.Parameters.Add("$created", SqliteType.Text);
        var pIssueType = insert.Parameters.Add("$issue_type", SqliteType.Text);
        var pStatus = insert.Parameters.Add("$status", SqliteType.Text);
        var pPriority = insert.Parameters.Add("$priority", SqliteType.Text);
        var pComments = insert.Parameters.Add("$comments", SqliteType.Integer);
        var pSuggestions = insert.Parameters.Add("$suggestions", SqliteType.Integer);
        var pModel = insert.Parameters.Add("$model", SqliteType.Text);
        var pEngine = insert.Parameters.Add("$engine", SqliteType.Text);
        var pLatency = insert.Parameters.Add("$latency", SqliteType.Real);
        var pEncoding = insert.Parameters.Add("$encoding", SqliteType.Integer);
        var pPayload = insert.Parameters.Add("$payload", SqliteType.Blob);
        var pLanguage = insert.Parameters.Add("$language", SqliteType.Text);
        var pQueue = insert.Parameters.Add("$queue", SqliteType.Text);
        pEncoding.Value = compress ? SamplePayload.Gzip : SamplePayload.Plain;
        insert.Prepare();

        var aggregates = new StatsDelta();
        var written = 0;
        for (var i = 0; i < samples.Count; i++)
        {
            var s = samples[i];
            pHash.Value = s.ContextHash;
            pKey.Value = (object?)s.Context.TicketKey ?? DBNull.Value;
            pCreated.Value = FormatTimestamp(s.CreatedAt);
            pIssueType.Value = s.Context.IssueType;
            pStatus.Value = s.Context.Status;
            pPriority.Value = s.Context.Priority;
            pComments.Value = s.Context.Comments.Count;
            pSuggestions.Value = s.Suggestions.Count;
            pModel.Value = s.Model;
            pEngine.Value = s.Engine;
            pLatency.Value = s.LatencyMs;
            pPayload.Value = payloads[i];
            pLanguage.Value = (object?)s.Context.Language ?? DBNull.Value;
            pQueue.Value = (object?)s.Context.Queue ?? DBNull.Value;
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                written++;
                aggregates.Add(s, masked[i]);
            }
            progress?.Report(i + 1);
        }

        await aggregates.ApplyAsync(connection, tx, FormatTimestamp(_time.GetUtcNow()), cancellationToken);
        await tx.CommitAsync(cancellationToken);

        if (compress)
        {
            _compressedKnown = true;
        }
        return new WriteResult(written, samples.Count - written);
    }

    public async Task<StoreStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var totals = await connection.QuerySingleAsync<(long Samples, long Suggestions, long Comments)>(new CommandDefinition(
            "SELECT samples, suggestions, comments FROM stats_totals WHERE id = 1", cancellationToken: cancellationToken));
        var meta = (await connection.QueryAsync<(string Key, string Value)>(new CommandDefinition(
            "SELECT key, value FROM store_meta", cancellationToken: cancellationToken))).ToDictionary(r => r.Key, r => r.Value);
        var counts = (await connection.QueryAsync<(string Dimension, string Value, long Count)>(new CommandDefinition(
            "SELECT dimension, value, count FROM stats_counts WHERE count > 0 ORDER BY dimension, count DESC, value",
            cancellationToken: cancellationToken))).ToList();

        IReadOnlyDictionary<string, long> By(string dimension) =>
            counts.Where(c => c.Dimension == dimension).ToDictionary(c => c.Value, c => c.Count);

        return new StoreStats
        {
            TotalSamples = totals.Samples,
            TotalSuggestions = totals.Suggestions,
            TotalComments = totals.Comments,
            Compressed = meta.GetValueOrDefault("compressed") == "1",
            Created = ParseTimestamp(meta["created"]),
            LastModified = ParseTimestamp(meta["last_modified"]),
            ByIssueType = By(StatsDelta.IssueType),
            ByStatus = By(StatsDelta.Status),
            ByPriority = By(StatsDelta.Priority),
            ByEngine = By(StatsDelta.Engine),
            ByModel = By(StatsDelta.Model),
            ByLanguage = By(StatsDelta.Language),
            Masked = By(StatsDelta.Masked),
            Feedback = await GetFeedbackStatsAsync(cancellationToken),
        };
    }

    public async IAsyncEnumerable<TrainingSample> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Feedback is a small fraction of the samples: read it whole, then attach it while the samples stream.
        var feedback = await ReadFeedbackAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SampleColumns} FROM samples ORDER BY id";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await foreach (var sample in StoredRow.DecodeAheadAsync((max, _) => ValueTask.FromResult(ReadRows(reader, max)), feedback, cancellationToken))
        {
            yield return sample;
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

    private const string SampleColumns =
        "context_hash, ticket_key, created_at, issue_type, status, priority, model, engine, latency_ms, payload_encoding, payload, language, queue";

    /// <summary>One row of <see cref="SampleColumns"/>.</summary>
    private static StoredRow ReadRow(SqliteDataReader reader) =>
        new(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), ParseTimestamp(reader.GetString(2)), reader.GetString(3),
            reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetDouble(8), reader.GetInt32(9),
            reader.GetFieldValue<byte[]>(10), reader.IsDBNull(11) ? null : reader.GetString(11), reader.IsDBNull(12) ? null : reader.GetString(12));

    private static TrainingSample ReadSample(SqliteDataReader reader) => ReadRow(reader).ToSample();

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT samples FROM stats_totals WHERE id = 1", cancellationToken: cancellationToken));
    }

    /// <summary>The journal mode and <c>synchronous</c> level (2 = FULL, 1 = NORMAL) a connection of this store runs with: what the durability promise rests on.</summary>
    internal async Task<(string JournalMode, long Synchronous)> DurabilityAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return (await connection.ExecuteScalarAsync<string>(new CommandDefinition("PRAGMA journal_mode", cancellationToken: cancellationToken)) ?? "",
            await connection.ExecuteScalarAsync<long>(new CommandDefinition("PRAGMA synchronous", cancellationToken: cancellationToken)));
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = _options.Synchronous == "normal" ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    private static IEnumerable<(int Version, string Name, string Sql)> LoadMigrations()
    {
        var assembly = Assembly.GetExecutingAssembly();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(MigrationPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var name = resource[MigrationPrefix.Length..^".sql".Length];
            var version = int.Parse(name.AsSpan(0, name.IndexOf('_', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            yield return (version, name, reader.ReadToEnd());
        }
    }

    internal static string FormatTimestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    internal static DateTimeOffset ParseTimestamp(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Applied store migration {Version} ({Name})")]
    private static partial void LogMigrationApplied(ILogger logger, int version, string name);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Store compression enabled at {Samples} samples; {Converted} existing payloads compressed")]
    private static partial void LogCompressionEnabled(ILogger logger, long samples, int converted);
}
