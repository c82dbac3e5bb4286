using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Reflection;
using CommentFlow.Domain;
using CommentFlow.Privacy;
using Dapper;

namespace CommentFlow.Storage;

/// <summary>
/// What the SQLite and PostgreSQL stores do the same way, written once over ADO.NET's base classes. A store adds only what
/// differs by dialect: its connections, how a write transaction takes the writers' lock, how a read snapshot is taken,
/// and how timestamps and text are held. SQL here runs unchanged on both.
/// </summary>
internal abstract partial class DbTrainingStore(StorageOptions options, TimeProvider time, PersonalDataMasker? masker)
{
    private const int FeedbackMigration = 3;

    // Compression never switches off again once on, so a stale "true" is always right and saves compressing inside the transaction.
    private volatile bool _compressedKnown;

    // Samples the store holds as far as this instance knows (read at start, plus what it wrote): when a dictionary is due.
    private long _held;
    private Task? _dictionaryWork;

    // After dictionary work failed, it is tried again once the store holds this many samples, not at every batch.
    private long _dictionaryRetryFrom;

    // A batch prepared before this instance had its dictionary can commit GZip or plain payloads after the conversion passed them.
    private volatile bool _unconvertedAfterDictionary;

    // What this instance wrote or found stored lately: repeats are then left unprepared (see BatchPreparation).
    private readonly RecentHashes _recent = new();

    /// <summary>Decodes and compresses payloads with the store's dictionaries (see <see cref="PayloadCodec"/>).</summary>
    internal PayloadCodec Codec => LazyInitializer.EnsureInitialized(ref field, () => new PayloadCodec(LoadDictionary));

    protected StorageOptions Options { get; } = options;

    protected TimeProvider Time { get; } = time;

    /// <summary>A new open connection, one per operation.</summary>
    protected abstract Task<DbConnection> ConnectAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A write transaction holding the writers' lock until it ends. Batches of samples take it shared where the store allows
    /// several writers (PostgreSQL: they never wait on each other); <paramref name="exclusive"/> waits for every batch in
    /// flight and keeps new ones out (erasure, feedback, the compression switch-over).
    /// </summary>
    protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, bool exclusive, CancellationToken cancellationToken);

    /// <summary>For tests: runs inside a batch's transaction, rows and stats written, just before it commits.</summary>
    internal Func<Task>? BeforeCommit { get; set; }

    /// <summary>
    /// Before a batch inserts its rows (in their order, which is the store's order): where several writers may insert the
    /// same hashes at once, takes what makes them wait for each other in one order, never in a cycle, and returns the
    /// hashes already stored, which the batch then skips without an insert; where the store archives, those archived
    /// (the insert's conflict check sees the rows only). Null by default (one writer: the insert's conflict check is as cheap).
    /// </summary>
    protected virtual Task<HashSet<string>?> ClaimAsync(DbConnection connection, DbTransaction tx, string[] hashes, CancellationToken cancellationToken) =>
        Task.FromResult<HashSet<string>?>(null);

    /// <summary>Which of these hashes the samples table holds, read in the write's transaction.</summary>
    private async Task<HashSet<string>> StoredAmongAsync(DbConnection connection, DbTransaction tx, string[] hashes, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<string>(new CommandDefinition(
            $"SELECT context_hash FROM samples WHERE {IsAnyOf("context_hash", "@hashes")}", new { hashes = AnyOf(hashes) }, tx, cancellationToken: cancellationToken)))
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>The stats_shards row this store's writes add to (see migration 0005): one per instance on PostgreSQL.</summary>
    protected virtual int Shard => 0;

    /// <summary>A read-only transaction whose reads all see one snapshot, taking no lock that blocks writers.</summary>
    protected abstract Task<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>The parameter type and value of a timestamp column (text in SQLite, timestamptz in PostgreSQL).</summary>
    protected abstract DbType TimestampType { get; }

    protected abstract object TimestampValue(DateTimeOffset value);

    /// <summary>A timestamp column's value as the provider returns it.</summary>
    protected abstract DateTimeOffset ReadTimestamp(object value);

    /// <summary>A text value as a text column can hold it.</summary>
    protected virtual string AsText(string value) => value;

    protected string? AsTextOrNull(string? value) => value is null ? null : AsText(value);

    /// <summary>The sample as its text columns (and so the stats) hold it.</summary>
    protected virtual TrainingSample AsStored(TrainingSample sample) => sample;

    /// <summary>A condition that <paramref name="column"/> is one of the values <see cref="AnyOf"/> made <paramref name="parameter"/>.</summary>
    protected abstract string IsAnyOf(string column, string parameter);

    /// <summary>The value of an <see cref="IsAnyOf"/> parameter holding <paramref name="values"/>.</summary>
    protected abstract object AnyOf(string[] values);

    // Hooks for the stores' own [LoggerMessage] methods, which keep their event ids.
    protected abstract void OnMigrationApplied(int version, string name);

    protected abstract void OnCompressionEnabled(long samples, int converted);

    protected abstract void OnDictionaryTrained(int id, int payloads, double heldOutRatio, long elapsedMs);

    protected abstract void OnDictionaryConverted(int id, int converted);

    protected abstract void OnDictionaryFailed(Exception exception);

    /// <summary>store_meta holds text, in the same fixed-width UTC format in both stores.</summary>
    protected string Now() => StoreTimestamps.Format(Time.GetUtcNow());

    /// <summary>
    /// Inside the caller's migration transaction (which keeps a second instance out), once the schema_migrations table
    /// exists: applies the embedded migrations under <paramref name="prefix"/> not applied yet, then seeds store_meta.
    /// </summary>
    protected async Task ApplyMigrationsAsync(DbConnection connection, DbTransaction tx, string prefix, CancellationToken cancellationToken)
    {
        var applied = (await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT version FROM schema_migrations", transaction: tx, cancellationToken: cancellationToken))).ToHashSet();

        var now = Time.GetUtcNow();
        foreach (var (version, name, sql) in LoadMigrations(prefix))
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
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @appliedAt)",
                new { version, name, appliedAt = TimestampValue(now) }, tx, cancellationToken: cancellationToken));
            OnMigrationApplied(version, name);
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO store_meta (key, value) VALUES ('created', @stamp), ('last_modified', @stamp), ('compressed', '0')
            ON CONFLICT (key) DO NOTHING
            """, new { stamp = StoreTimestamps.Format(now) }, tx, cancellationToken: cancellationToken));
    }

    private static IEnumerable<(int Version, string Name, string Sql)> LoadMigrations(string prefix)
    {
        var assembly = Assembly.GetExecutingAssembly();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var name = resource[prefix.Length..^".sql".Length];
            var version = int.Parse(name.AsSpan(0, name.IndexOf('_', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            yield return (version, name, reader.ReadToEnd());
        }
    }

    public IAsyncEnumerable<TrainingSample> ReadAllAsync(CancellationToken cancellationToken) => ReadAllAsync(static s => s.Decode(), cancellationToken);

    /// <summary>See <see cref="ITrainingStore.ReadAllAsync{T}"/>: each backend reads its rows, <see cref="StoredRow.DecodeAheadAsync"/> maps them.</summary>
    public abstract IAsyncEnumerable<T> ReadAllAsync<T>(Func<StoredSample, T> map, CancellationToken cancellationToken);

    public Task<WriteResult> WriteAsync(IReadOnlyList<TrainingSample> samples, IProgress<int>? progress, CancellationToken cancellationToken) =>
        WriteAsync(Prepare(samples), progress, cancellationToken);

    // Mask, serialise (and, when compression is known to be on, compress) before taking the writers' lock.
    public PreparedBatch Prepare(IReadOnlyList<TrainingSample> samples) =>
        new(samples, BatchPreparation.Prepare(masker, samples, Codec, _compressedKnown ? Options.GzipLevel : null, _recent));

    public async Task<WriteResult> WriteAsync(PreparedBatch batch, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return default;
        }
        var prepared = batch.Prepared ?? Prepare(batch.Samples).Prepared!;
        var (samples, masked, payloads, encodings, compressedKnown) = (prepared.Samples, prepared.Masked, prepared.Payloads, prepared.Encodings, prepared.Compressed);

        await using var connection = await ConnectAsync(cancellationToken);
        // Until compression is known to be on, a batch may be the one that turns it on: alone, so only one converts.
        await using var tx = await BeginWriteAsync(connection, exclusive: !compressedKnown, cancellationToken);

        var compress = compressedKnown;
        if (!compress)
        {
            var held = await connection.ExecuteScalarAsync<long>(new CommandDefinition(StatsDelta.SamplesSql, transaction: tx, cancellationToken: cancellationToken));
            (compress, payloads, encodings, var converted) = await StoreMaintenance.CompressionForBatchAsync(connection, tx, held, prepared, Codec, Options, cancellationToken);
            if (converted is { } n)
            {
                OnCompressionEnabled(held, n);
            }
        }

        // Parameters named with their '@': Npgsql strips it, and Microsoft.Data.Sqlite otherwise looks each name up under
        // three prefixes at every execution (2.3 % of the server's CPU under the HTTP bench's new tickets).
        await using var insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText =
            """
            INSERT INTO samples (context_hash, ticket_key, created_at, issue_type, status, priority, comments_count,
                                 suggestions_count, model, engine, latency_ms, payload_encoding, payload, language, queue)
            VALUES (@hash, @key, @created, @issue_type, @status, @priority, @comments, @suggestions, @model, @engine,
                    @latency, @encoding, @payload, @language, @queue)
            ON CONFLICT (context_hash) DO NOTHING
            """;
        DbParameter Add(string name, DbType type)
        {
            var parameter = insert.CreateParameter();
            parameter.ParameterName = "@" + name;
            parameter.DbType = type;
            insert.Parameters.Add(parameter);
            return parameter;
        }
        var pHash = Add("hash", DbType.String);
        var pKey = Add("key", DbType.String);
        var pCreated = Add("created", TimestampType);
        var pIssueType = Add("issue_type", DbType.String);
        var pStatus = Add("status", DbType.String);
        var pPriority = Add("priority", DbType.String);
        var pComments = Add("comments", DbType.Int32);
        var pSuggestions = Add("suggestions", DbType.Int32);
        var pModel = Add("model", DbType.String);
        var pEngine = Add("engine", DbType.String);
        var pLatency = Add("latency", DbType.Double);
        var pEncoding = Add("encoding", DbType.Int16); // INTEGER in SQLite, smallint in PostgreSQL
        var pPayload = Add("payload", DbType.Binary);
        var pLanguage = Add("language", DbType.String);
        var pQueue = Add("queue", DbType.String);
        await insert.PrepareAsync(cancellationToken);

        var stored = await ClaimAsync(connection, tx, [.. samples.Select(s => s.ContextHash)], cancellationToken);
        // Left unprepared as repeats (BatchPreparation): each is a duplicate of a row, of an archived sample (the claim) or of
        // a sample earlier in the batch (prepared: the first of a hash always is, unless the store held it lately).
        var preparedHashes = samples.Where((_, i) => payloads[i] is not null).Select(s => s.ContextHash).ToHashSet(StringComparer.Ordinal);
        string[] unconfirmed = [.. samples.Where((s, i) => payloads[i] is null && stored?.Contains(s.ContextHash) != true && !preparedHashes.Contains(s.ContextHash))
            .Select(s => s.ContextHash).Distinct(StringComparer.Ordinal)];
        var rows = unconfirmed.Length == 0 ? new HashSet<string>() : await StoredAmongAsync(connection, tx, unconfirmed, cancellationToken);
        var seen = new HashSet<string>(samples.Count, StringComparer.Ordinal);
        var aggregates = new StatsDelta();
        var written = 0;
        var unconverted = false;
        for (var i = 0; i < samples.Count; i++)
        {
            var hash = samples[i].ContextHash;
            var first = seen.Add(hash);
            if (!first || stored?.Contains(hash) == true || (payloads[i] is null && rows.Contains(hash)))
            {
                progress?.Report(i + 1);
                continue;
            }
            var (sample, sampleMasked, payload, encoding) = (samples[i], masked[i], payloads[i], encodings[i]);
            if (payload is null)
            {
                // Erased since, or another hash with the same key: prepared here after all (rare), the batch left as it was.
                (sample, sampleMasked, encoding, payload) = BatchPreparation.PrepareOne(masker, sample, Codec, Options.GzipLevel);
            }
            unconverted |= compress && encoding != PayloadCodec.Zstd;
            var s = AsStored(sample);
            pHash.Value = s.ContextHash;
            pKey.Value = (object?)s.Context.TicketKey ?? DBNull.Value;
            pCreated.Value = TimestampValue(s.CreatedAt);
            pIssueType.Value = s.Context.IssueType;
            pStatus.Value = s.Context.Status;
            pPriority.Value = s.Context.Priority;
            pComments.Value = s.Context.Comments.Count;
            pSuggestions.Value = s.Suggestions.Count;
            pModel.Value = s.Model;
            pEngine.Value = s.Engine;
            pLatency.Value = s.LatencyMs;
            pPayload.Value = payload;
            pEncoding.Value = (short)encoding;
            pLanguage.Value = (object?)s.Context.Language ?? DBNull.Value;
            pQueue.Value = (object?)s.Context.Queue ?? DBNull.Value;
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                written++;
                aggregates.Add(s, sampleMasked!);
            }
            progress?.Report(i + 1);
        }

        await aggregates.ApplyAsync(connection, tx, Now(), Shard, cancellationToken);
        if (BeforeCommit is { } pause)
        {
            await pause();
        }
        await tx.CommitAsync(cancellationToken);

        if (compress)
        {
            _compressedKnown = true;
        }
        Interlocked.Add(ref _held, written);
        _recent.Add(seen);
        if (Codec.Current is not null && written > 0 && unconverted)
        {
            _unconvertedAfterDictionary = true;
        }
        StartDictionaryWorkWhenDue();
        return new WriteResult(written, samples.Count - written);
    }

    public async Task<StoreStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        // One snapshot for every read, so totals, counts and feedback describe the same commits.
        await using var tx = await BeginSnapshotAsync(connection, cancellationToken);
        var totals = await connection.QuerySingleAsync<(long Samples, long Suggestions, long Comments, string? LastModified)>(new CommandDefinition(
            StatsDelta.TotalsSql, transaction: tx, cancellationToken: cancellationToken));
        var meta = (await connection.QueryAsync<(string Key, string Value)>(new CommandDefinition(
            "SELECT key, value FROM store_meta", transaction: tx, cancellationToken: cancellationToken))).ToDictionary(r => r.Key, r => r.Value);
        var counts = (await connection.QueryAsync<(string Dimension, string Value, long Count)>(new CommandDefinition(
            $"{StatsDelta.CountsSql} ORDER BY dimension, count DESC, value",
            transaction: tx, cancellationToken: cancellationToken))).ToList();
        var feedback = await FeedbackStats.ReadAsync(connection, tx, cancellationToken);
        // A row a block: cheap at any size.
        var archived = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT CAST(COALESCE(SUM(samples), 0) AS bigint) FROM archive_blocks", transaction: tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);

        IReadOnlyDictionary<string, long> By(string dimension) =>
            counts.Where(c => c.Dimension == dimension).ToDictionary(c => c.Value, c => c.Count);

        return new StoreStats
        {
            TotalSamples = totals.Samples,
            TotalSuggestions = totals.Suggestions,
            TotalComments = totals.Comments,
            Compressed = meta.GetValueOrDefault("compressed") == "1",
            ArchivedSamples = archived,
            Created = StoreTimestamps.Parse(meta["created"]),
            // Every write marks its shard; store_meta's is when the store was made (or last written before it had shards).
            LastModified = StoreTimestamps.Parse(totals.LastModified is { } batch && string.CompareOrdinal(batch, meta["last_modified"]) > 0 ? batch : meta["last_modified"]),
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

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        await connection.ExecuteScalarAsync<long>(new CommandDefinition(StatsDelta.SamplesSql, cancellationToken: cancellationToken));
    }
}
