using System.Data;
using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Runtime.CompilerServices;
using CommentFlow.Domain;
using CommentFlow.Privacy;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

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
internal sealed partial class PostgresTrainingStore : ITrainingStore
{
    private const string MigrationPrefix = "CommentFlow.Storage.Migrations.Postgres.";
    private const int FeedbackMigration = 3;

    /// <summary>The advisory lock key of schema migrations ("CFMIGRAT" in ASCII); advisory locks are per database.</summary>
    private const long MigrationLockKey = 0x43464D4947524154;

    private readonly NpgsqlDataSource _dataSource;
    private readonly StorageOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PersonalDataMasker? _masker;

    // Compression never switches off again once on, so a stale "true" is always right and saves compressing inside the transaction.
    private volatile bool _compressedKnown;

    /// <param name="masker">Applied to every sample before it is written; null stores text as given (tests of the store itself).</param>
    public PostgresTrainingStore(NpgsqlDataSource dataSource, StorageOptions options, TimeProvider time, ILogger<PostgresTrainingStore> logger,
        PersonalDataMasker? masker = null)
    {
        _dataSource = dataSource;
        _options = options;
        _time = time;
        _logger = logger;
        _masker = masker;
    }

    public string Provider => StorageProviders.Postgres;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        // Held until commit: a second instance waits here, then finds every migration applied.
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(@key)", new { key = MigrationLockKey }, tx, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)",
            transaction: tx, cancellationToken: cancellationToken));
        var applied = (await connection.QueryAsync<int>(new CommandDefinition(
            "SELECT version FROM schema_migrations", transaction: tx, cancellationToken: cancellationToken))).ToHashSet();

        var now = _time.GetUtcNow();
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

        var stamp = SqliteTrainingStore.FormatTimestamp(now);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO store_meta (key, value) VALUES ('created', @stamp), ('last_modified', @stamp), ('compressed', '0')
            ON CONFLICT (key) DO NOTHING
            """, new { stamp }, tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
    }

    public Task<WriteResult> WriteAsync(IReadOnlyList<TrainingSample> samples, IProgress<int>? progress, CancellationToken cancellationToken) =>
        WriteAsync(Prepare(samples), progress, cancellationToken);

    // Mask, serialise (and, when compression is known to be on, compress) before taking the writers' lock.
    public PreparedBatch Prepare(IReadOnlyList<TrainingSample> samples) =>
        new(samples, BatchPreparation.Prepare(_masker, samples, _compressedKnown ? _options.GzipLevel : null));

    public async Task<WriteResult> WriteAsync(PreparedBatch batch, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return default;
        }
        var prepared = batch.Prepared ?? Prepare(batch.Samples).Prepared!;
        var (masked, payloads, compressedKnown) = (prepared.Masked, prepared.Payloads, prepared.Compressed);
        IReadOnlyList<TrainingSample> samples = [.. prepared.Samples.Select(WithTextColumns)];

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var held = await LockWritersAsync(connection, tx, cancellationToken);

        var compress = compressedKnown;
        if (!compress)
        {
            (compress, payloads, var converted) = await StoreMaintenance.CompressionForBatchAsync(connection, tx, held, samples.Count, payloads, _options, cancellationToken);
            if (converted is { } n)
            {
                LogCompressionEnabled(_logger, held, n);
            }
        }

        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO samples (context_hash, ticket_key, created_at, issue_type, status, priority, comments_count,
                                 suggestions_count, model, engine, latency_ms, payload_encoding, payload, language, queue)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
            ON CONFLICT (context_hash) DO NOTHING
            """, connection, tx);
        var pHash = Add(insert, NpgsqlDbType.Text);
        var pKey = Add(insert, NpgsqlDbType.Text);
        var pCreated = Add(insert, NpgsqlDbType.TimestampTz);
        var pIssueType = Add(insert, NpgsqlDbType.Text);
        var pStatus = Add(insert, NpgsqlDbType.Text);
        var pPriority = Add(insert, NpgsqlDbType.Text);
        var pComments = Add(insert, NpgsqlDbType.Integer);
        var pSuggestions = Add(insert, NpgsqlDbType.Integer);
        var pModel = Add(insert, NpgsqlDbType.Text);
        var pEngine = Add(insert, NpgsqlDbType.Text);
        var pLatency = Add(insert, NpgsqlDbType.Double);
        var pEncoding = Add(insert, NpgsqlDbType.Smallint);
        var pPayload = Add(insert, NpgsqlDbType.Bytea);
        var pLanguage = Add(insert, NpgsqlDbType.Text);
        var pQueue = Add(insert, NpgsqlDbType.Text);
        pEncoding.Value = (short)(compress ? SamplePayload.Gzip : SamplePayload.Plain);
        await insert.PrepareAsync(cancellationToken);

        var aggregates = new StatsDelta();
        var written = 0;
        for (var i = 0; i < samples.Count; i++)
        {
            var s = samples[i];
            pHash.Value = s.ContextHash;
            pKey.Value = (object?)s.Context.TicketKey ?? DBNull.Value;
            pCreated.Value = s.CreatedAt.ToUniversalTime();
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

        await aggregates.ApplyAsync(connection, tx, Now(), cancellationToken);
        await tx.CommitAsync(cancellationToken);

        if (compress)
        {
            _compressedKnown = true;
        }
        return new WriteResult(written, samples.Count - written);
    }

    public async Task<StoreStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        // One snapshot for the three reads, so totals and counts describe the same commits.
        await using var tx = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        var totals = await connection.QuerySingleAsync<(long Samples, long Suggestions, long Comments)>(new CommandDefinition(
            "SELECT samples, suggestions, comments FROM stats_totals WHERE id = 1", transaction: tx, cancellationToken: cancellationToken));
        var meta = (await connection.QueryAsync<(string Key, string Value)>(new CommandDefinition(
            "SELECT key, value FROM store_meta", transaction: tx, cancellationToken: cancellationToken))).ToDictionary(r => r.Key, r => r.Value);
        var counts = (await connection.QueryAsync<(string Dimension, string Value, long Count)>(new CommandDefinition(
            "SELECT dimension, value, count FROM stats_counts WHERE count > 0 ORDER BY dimension, count DESC, value",
            transaction: tx, cancellationToken: cancellationToken))).ToList();
        var feedback = await FeedbackStats.ReadAsync(connection, tx, cancellationToken);
        await tx.CommitAsync(cancellationToken);

        IReadOnlyDictionary<string, long> By(string dimension) =>
            counts.Where(c => c.Dimension == dimension).ToDictionary(c => c.Value, c => c.Count);

        return new StoreStats
        {
            TotalSamples = totals.Samples,
            TotalSuggestions = totals.Suggestions,
            TotalComments = totals.Comments,
            Compressed = meta.GetValueOrDefault("compressed") == "1",
            Created = SqliteTrainingStore.ParseTimestamp(meta["created"]),
            LastModified = SqliteTrainingStore.ParseTimestamp(meta["last_modified"]),
            ByIssueType = By(StatsDelta.IssueType),
            ByStatus = By(StatsDelta.Status),
            ByPriority = By(StatsDelta.Priority),
            ByEngine = By(StatsDelta.Engine),
            ByModel = By(StatsDelta.Model),
            ByLanguage = By(StatsDelta.Language),
            Masked = By(StatsDelta.Masked),
            Feedback = feedback,
        };
    }

    public async IAsyncEnumerable<TrainingSample> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Feedback is a small fraction of the samples: read it whole, then attach it while the samples stream.
        var feedback = await ReadFeedbackAsync(cancellationToken);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
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

    private const string SampleColumns =
        "context_hash, ticket_key, created_at, issue_type, status, priority, model, engine, latency_ms, payload_encoding, payload, language, queue";

    /// <summary>One row of <see cref="SampleColumns"/>, read in column order (the readers may be sequential).</summary>
    private static StoredRow ReadRow(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3),
            reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetDouble(8), reader.GetInt16(9),
            reader.GetFieldValue<byte[]>(10), reader.IsDBNull(11) ? null : reader.GetString(11), reader.IsDBNull(12) ? null : reader.GetString(12));

    private static TrainingSample ReadSample(NpgsqlDataReader reader) => ReadRow(reader).ToSample();

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT samples FROM stats_totals WHERE id = 1", cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Takes the writers' lock (the <c>stats_totals</c> row, until the transaction ends) and returns the samples held.
    /// Every write transaction of this store calls it first: see the class comment.
    /// </summary>
    private static Task<long> LockWritersAsync(NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken cancellationToken) =>
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

    private static NpgsqlParameter Add(NpgsqlCommand command, NpgsqlDbType type)
    {
        var parameter = new NpgsqlParameter { NpgsqlDbType = type };
        command.Parameters.Add(parameter);
        return parameter;
    }

    /// <summary>store_meta holds text, in the same fixed-width UTC format as the SQLite store.</summary>
    private string Now() => SqliteTrainingStore.FormatTimestamp(_time.GetUtcNow());

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

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Applied store migration {Version} ({Name})")]
    private static partial void LogMigrationApplied(ILogger logger, int version, string name);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Store compression enabled at {Samples} samples; {Converted} existing payloads compressed")]
    private static partial void LogCompressionEnabled(ILogger logger, long samples, int converted);
}
