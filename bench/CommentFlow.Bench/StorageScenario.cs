using System.Diagnostics;
using System.IO.Compression;
using CommentFlow.Domain;
using CommentFlow.Import;
using CommentFlow.Legacy;
using CommentFlow.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace CommentFlow.Bench;

/// <summary>
/// Scenario 7: bytes per sample of the shared tickets (subject, body, the agent's answer as the suggestion) in the
/// SQLite store, payloads plain, GZip, and zstd with the store's own dictionary (the default: trained once the store
/// holds 1,000 samples, the GZip payloads converted; the dictionary's bytes are in the file and so counted), against the earlier service's whole-file <c>ml_training_data.json.gz</c>
/// (indented JSON, GZip level 9, as its <c>json.dump(indent=2)</c> through <c>gzip.open</c> wrote it).
/// </summary>
internal static class StorageScenario
{
    public static async Task<List<ResultRow>> RunAsync(BenchEnvironment env, Dictionary<string, object> details)
    {
        var now = DateTimeOffset.UtcNow;
        var samples = Directory.GetFiles(env.SharedData, "*.csv").Order()
            .SelectMany(f => HistoryImport.ReadCsv(f, new ImportOptions(), now))
            .Where(i => i.Sample is not null).Select(i => i.Sample!)
            .DistinctBy(s => s.ContextHash).ToList();

        var (plain, _, _, _) = await StoreBytesAsync(env, samples, new StorageOptions { CompressionThreshold = int.MaxValue });
        var (gzip, _, gzipPayloads, _) = await StoreBytesAsync(env, samples, new StorageOptions { CompressionThreshold = 0, DictionaryFrom = 0 });
        var (zstd, store, zstdPayloads, zstdFile) = await StoreBytesAsync(env, samples, new StorageOptions { CompressionThreshold = 0 });
        var legacy = await LegacyBytesAsync(env, store);
        var n = (double)samples.Count;
        // Level 19 packs at 0.3–1 ms of CPU a sample: quick mode (the test suite) runs one cheap layout, to prove the probe works.
        (int Block, bool Dictionary, int Level)[] layouts = env.Quick
            ? [(512, false, 3)]
            : [(128, true, 19), (128, false, 19), (512, true, 19), (512, false, 19), (2048, false, 19), (2048, false, 9), (2048, false, 3)];
        var probes = new List<LayoutProbe>();
        foreach (var (block, withDictionary, level) in layouts)
        {
            var p = await BlockLayoutProbeAsync(env, store, zstdFile, block, withDictionary, level);
            probes.Add(p);
            Console.WriteLine($"storage, layout probe: slim rows and blocks of {block} payloads (zstd {level}{(withDictionary ? " + dictionary" : ", no dictionary")}): " +
                $"{p.Bytes / n:N0} B/sample, rows and their indexes {p.RowBytes / n:N0}; packing {p.PackMicros:N0} µs a sample, one payload read from its block in {p.ReadOneMs:N2} ms");
        }
        Console.WriteLine($"storage, {samples.Count:N0} samples: plain {plain / n:N0} B/sample, GZip {gzip / n:N0} B/sample ({gzipPayloads / n:N0} B payload), " +
            $"zstd + dictionary {zstd / n:N0} B/sample ({zstdPayloads / n:N0} B payload), earlier .json.gz {legacy / n:N0} B/sample");
        details["storage"] = new
        {
            samples = samples.Count, plain_bytes = plain, gzip_bytes = gzip, zstd_bytes = zstd, legacy_bytes = legacy,
            gzip_payload_bytes = gzipPayloads, zstd_payload_bytes = zstdPayloads,
            block_layout_probe = probes.Select(p => new
            {
                block = p.Block, dictionary = p.Dictionary, level = p.Level, bytes = p.Bytes, row_and_index_bytes = p.RowBytes,
                pack_us_per_sample = p.PackMicros, read_one_ms = p.ReadOneMs,
            }).ToList(),
        };
        return
        [
            new ResultRow("storage", "SQLite, plain JSON payloads", "bytes/sample", plain / n, "earlier service's .json.gz", legacy / n, "report", null, HigherIsBetter: false),
            new ResultRow("storage", "SQLite, GZip payloads", "bytes/sample", gzip / n, "earlier service's .json.gz", legacy / n, "report", null, HigherIsBetter: false),
            new ResultRow("storage", "SQLite, zstd + the store's dictionary (default)", "bytes/sample", zstd / n, "earlier service's .json.gz", legacy / n,
                "≤ 341 B/sample (issue 16)", zstd / n <= legacy / n, HigherIsBetter: false),
            .. probes.Select(p => new ResultRow("storage", $"layout probe, not the store: slim rows, blocks of {p.Block}, zstd {p.Level}{(p.Dictionary ? " + dictionary" : "")}",
                "bytes/sample", p.Bytes / n, "earlier service's .json.gz", legacy / n, "report", null, HigherIsBetter: false)),
        ];
    }

    /// <summary>
    /// The store file after its dictionary work, a checkpoint and VACUUM, so free pages and the WAL do not count; and the
    /// payloads' bytes alone.
    /// </summary>
    private static async Task<(long Bytes, SqliteTrainingStore Store, long PayloadBytes, string File)> StoreBytesAsync(BenchEnvironment env, List<TrainingSample> samples,
        StorageOptions options)
    {
        var dir = env.NewDir("storage");
        var store = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(dir), options, TimeProvider.System, NullLogger<SqliteTrainingStore>.Instance);
        await store.MigrateAsync(CancellationToken.None);
        // In batches of 500, as capture writes: a dictionary is trained once 1,000 are held, and the rest converted.
        foreach (var batch in samples.Chunk(500))
        {
            await store.WriteAsync(batch, null, CancellationToken.None);
            await store.DictionaryWork;
        }
        var db = Path.Combine(dir, "commentflow.db");
        long payloadBytes;
        await using (var connection = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);";
            await command.ExecuteNonQueryAsync();
            command.CommandText = "SELECT SUM(length(payload)) FROM samples";
            payloadBytes = (long)(await command.ExecuteScalarAsync())!;
        }
        SqliteConnection.ClearAllPools();
        return (new FileInfo(db).Length, store, payloadBytes, db);
    }

    /// <param name="RowBytes">The slim rows with their indexes.</param>
    /// <param name="PackMicros">The blocks' compression, CPU a sample.</param>
    /// <param name="ReadOneMs">The fastest of five decompressions of one block: what reading one payload costs.</param>
    private sealed record LayoutProbe(int Block, bool Dictionary, int Level, long Bytes, long RowBytes, double PackMicros, double ReadOneMs);

    /// <summary>
    /// What a store of another layout would take, for issue 16's ≤ 341 B: the zstd store's file with its samples table
    /// replaced by slim rows (a 16-byte binary hash, an integer time, the ticket key, counts, latency and a block number,
    /// with the same three indexes) and the payloads in blocks of <paramref name="block"/> compressed together: zstd at
    /// <paramref name="level"/> without a dictionary (the store's then dropped), or at 19 with the store's dictionary.
    /// Each record in a block is the payload's JSON and the row's short text columns (type, status, priority, model,
    /// engine, language, queue), length-prefixed, so nothing the store holds is dropped. The first payload is read back
    /// from its block, to check that payloads stay readable one by one.
    /// </summary>
    private static async Task<LayoutProbe> BlockLayoutProbeAsync(BenchEnvironment env,
        SqliteTrainingStore store, string source, int block, bool withDictionary, int level)
    {
        var db = Path.Combine(env.NewDir("layout"), "probe.db");
        File.Copy(source, db);
        await using var connection = new SqliteConnection($"Data Source={db};Pooling=False");
        await connection.OpenAsync();
        // No WAL: each VACUUM below then shrinks the file itself.
        await Sql.ExecAsync(connection, """
            PRAGMA journal_mode = DELETE;
            CREATE TABLE slim (id INTEGER PRIMARY KEY, context_hash BLOB NOT NULL UNIQUE, ticket_key TEXT, created_at INTEGER NOT NULL,
                comments_count INTEGER NOT NULL, suggestions_count INTEGER NOT NULL, latency_ms REAL NOT NULL, block INTEGER NOT NULL);
            CREATE INDEX ix_slim_ticket_key ON slim (ticket_key);
            CREATE INDEX ix_slim_created_at ON slim (created_at);
            CREATE TABLE payload_blocks (id INTEGER PRIMARY KEY, content BLOB NOT NULL);
            """);
        var dictionary = store.Codec.Current ?? throw new InvalidOperationException("the zstd store has no dictionary");
        var records = new List<byte[]>();
        byte[]? firstPayload = null;
        using var plain = new ZstdSharp.Compressor(level);
        var packing = TimeSpan.Zero;
        await using (var tx = connection.BeginTransaction())
        {
            await using var read = connection.CreateCommand();
            read.Transaction = tx;
            read.CommandText = """
                SELECT id, context_hash, ticket_key, created_at, comments_count, suggestions_count, latency_ms, payload_encoding, payload,
                       issue_type, status, priority, model, engine, language, queue FROM samples ORDER BY id
                """;
            await using var insert = connection.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = "INSERT INTO slim VALUES ($id, $h, $k, $t, $c, $s, $l, $b)";
            await using (var reader = await read.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    var json = store.Codec.Decompress(reader.GetFieldValue<byte[]>(8), reader.GetInt32(7)).ToArray();
                    firstPayload ??= json;
                    var columns = System.Text.Encoding.UTF8.GetBytes(
                        string.Join('\u0001', Enumerable.Range(9, 7).Select(i => reader.IsDBNull(i) ? "" : reader.GetString(i))));
                    using var record = new MemoryStream();
                    using (var writer = new BinaryWriter(record))
                    {
                        writer.Write7BitEncodedInt(json.Length);
                        writer.Write(json);
                        writer.Write7BitEncodedInt(columns.Length);
                        writer.Write(columns);
                    }
                    records.Add(record.ToArray());
                    insert.Parameters.Clear();
                    insert.Parameters.AddWithValue("$id", reader.GetInt64(0));
                    insert.Parameters.AddWithValue("$h", Convert.FromHexString(reader.GetString(1)));
                    insert.Parameters.AddWithValue("$k", reader.IsDBNull(2) ? DBNull.Value : reader.GetString(2));
                    insert.Parameters.AddWithValue("$t",
                        DateTimeOffset.Parse(reader.GetString(3), System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds());
                    insert.Parameters.AddWithValue("$c", reader.GetInt64(4));
                    insert.Parameters.AddWithValue("$s", reader.GetInt64(5));
                    insert.Parameters.AddWithValue("$l", reader.GetDouble(6));
                    insert.Parameters.AddWithValue("$b", (records.Count - 1) / block);
                    await insert.ExecuteNonQueryAsync();
                }
            }
            await using var blocks = connection.CreateCommand();
            blocks.Transaction = tx;
            blocks.CommandText = "INSERT INTO payload_blocks VALUES ($id, $content)";
            foreach (var (chunk, id) in records.Chunk(block).Select((c, i) => (c, i)))
            {
                blocks.Parameters.Clear();
                blocks.Parameters.AddWithValue("$id", id);
                var content = chunk.SelectMany(r => r).ToArray();
                var started = Stopwatch.GetTimestamp();
                var packed = withDictionary ? dictionary.Compress(content, CompressionLevel.SmallestSize) : plain.Wrap(content).ToArray();
                packing += Stopwatch.GetElapsedTime(started);
                blocks.Parameters.AddWithValue("$content", packed);
                await blocks.ExecuteNonQueryAsync();
            }
            await tx.CommitAsync();
        }
        // One payload read back from its block: decompress, step to its record.
        var readOne = TimeSpan.MaxValue;
        await using (var first = connection.CreateCommand())
        {
            first.CommandText = "SELECT content FROM payload_blocks WHERE id = (SELECT block FROM slim ORDER BY id LIMIT 1)";
            var stored = (byte[])(await first.ExecuteScalarAsync())!;
            using var unwrap = new ZstdSharp.Decompressor();
            byte[] content = [];
            for (var i = 0; i < 5; i++)
            {
                var started = Stopwatch.GetTimestamp();
                content = withDictionary ? dictionary.Decompress(stored).ToArray() : unwrap.Unwrap(stored).ToArray();
                var elapsed = Stopwatch.GetElapsedTime(started);
                readOne = elapsed < readOne ? elapsed : readOne;
            }
            using var reader = new BinaryReader(new MemoryStream(content));
            if (!reader.ReadBytes(reader.Read7BitEncodedInt()).AsSpan().SequenceEqual(firstPayload))
            {
                throw new InvalidOperationException("the layout probe did not read its first payload back");
            }
        }
        // Without a dictionary, the store would hold none.
        await Sql.ExecAsync(connection, withDictionary ? "DROP TABLE samples; VACUUM;" : "DROP TABLE samples; DELETE FROM payload_dictionaries; VACUUM;");
        var bytes = new FileInfo(db).Length;
        // The rows' and their indexes' share by difference (the bundled SQLite has no dbstat): without the blocks, then without the rows.
        await Sql.ExecAsync(connection, "DROP TABLE payload_blocks; VACUUM;");
        var withRows = new FileInfo(db).Length;
        await Sql.ExecAsync(connection, "DROP TABLE slim; VACUUM;");
        var rowBytes = withRows - new FileInfo(db).Length;
        await connection.CloseAsync();
        return new LayoutProbe(block, withDictionary, level, bytes, rowBytes, packing.TotalMicroseconds / records.Count, readOne.TotalMilliseconds);
    }

    /// <summary>The same samples as the store reads them back, in the earlier file format.</summary>
    private static async Task<long> LegacyBytesAsync(BenchEnvironment env, SqliteTrainingStore store)
    {
        var file = Path.Combine(env.NewDir("legacy"), LegacyStoreFile.FileName + ".gz");
        var stats = await store.GetStatsAsync(CancellationToken.None);
        await using (var output = File.Create(file))
        await using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize))
        {
            await LegacyStoreFile.WriteAsync(gzip, store.ReadAllAsync(CancellationToken.None), stats, TimeZoneInfo.Utc, CancellationToken.None);
        }
        return new FileInfo(file).Length;
    }
}
