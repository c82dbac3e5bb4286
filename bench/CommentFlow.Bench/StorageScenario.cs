using System.Diagnostics;
using System.IO.Compression;
using CommentFlow.Domain;
using CommentFlow.Export;
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
        var archive = await ArchivedAsync(env, samples, store);
        var n = (double)samples.Count;
        Console.WriteLine($"storage, {samples.Count:N0} samples: plain {plain / n:N0} B/sample, GZip {gzip / n:N0} B/sample ({gzipPayloads / n:N0} B payload), " +
            $"zstd + dictionary {zstd / n:N0} B/sample ({zstdPayloads / n:N0} B payload), archived a day later {archive.Bytes / n:N0} B/sample " +
            $"({archive.Archived:N0} in blocks of {archive.Block:N0}, packed at {archive.PackMicros:N0} µs a sample, one archived sample read in {archive.ReadOneMs:N2} ms), " +
            $"earlier .json.gz {legacy / n:N0} B/sample");
        details["storage"] = new
        {
            samples = samples.Count, plain_bytes = plain, gzip_bytes = gzip, zstd_bytes = zstd, legacy_bytes = legacy,
            gzip_payload_bytes = gzipPayloads, zstd_payload_bytes = zstdPayloads,
            archived_bytes = archive.Bytes, archived_samples = archive.Archived, archive_block = archive.Block,
            archive_pack_us_per_sample = archive.PackMicros, archive_read_one_ms = archive.ReadOneMs,
        };
        return
        [
            new ResultRow("storage", "SQLite, plain JSON payloads", "bytes/sample", plain / n, "earlier service's .json.gz", legacy / n, "report", null, HigherIsBetter: false),
            new ResultRow("storage", "SQLite, GZip payloads", "bytes/sample", gzip / n, "earlier service's .json.gz", legacy / n, "report", null, HigherIsBetter: false),
            new ResultRow("storage", "SQLite, zstd + the store's dictionary, as captured", "bytes/sample", zstd / n, "earlier service's .json.gz", legacy / n,
                "report", null, HigherIsBetter: false),
            new ResultRow("storage", "SQLite, the same store a day later (settled samples archived, the default)", "bytes/sample", archive.Bytes / n,
                "earlier service's .json.gz", legacy / n, "≤ 341 B/sample (issue 16)", archive.Bytes / n <= legacy / n, HigherIsBetter: false),
        ];
    }

    /// <summary>
    /// The zstd store as the archiving job leaves it once its samples are a day old (whole blocks of the default size;
    /// the rest stay rows), measured like the others; the export must read the same before and after. Also the packing's
    /// CPU a sample and the fastest of five reads of one archived sample.
    /// </summary>
    private static async Task<(long Bytes, int Archived, int Block, double PackMicros, double ReadOneMs)> ArchivedAsync(BenchEnvironment env,
        List<TrainingSample> samples, SqliteTrainingStore captured)
    {
        var options = new StorageOptions();
        var (_, store, _, file) = await StoreBytesAsync(env, samples, options);
        var before = await ExportAsync(store);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var archived = await store.ArchiveAsync(DateTimeOffset.UtcNow.AddMinutes(1), options.ArchiveBlock, partial: false, CancellationToken.None);
        var packMicros = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / Math.Max(1, archived);
        var (after, reference) = (await ExportAsync(store), await ExportAsync(captured));
        if (!before.AsSpan().SequenceEqual(after) || !before.AsSpan().SequenceEqual(reference))
        {
            throw new InvalidOperationException("the archived store does not export what it held before");
        }
        var readOne = double.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            var started = Stopwatch.GetTimestamp();
            _ = await store.FindSampleAsync(samples[i].ContextHash, CancellationToken.None) ?? throw new InvalidOperationException("an archived sample did not read back");
            readOne = Math.Min(readOne, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        await using (var connection = new SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);";
            await command.ExecuteNonQueryAsync();
        }
        SqliteConnection.ClearAllPools();
        return (new FileInfo(file).Length, archived, options.ArchiveBlock, packMicros, readOne);
    }

    private static async Task<byte[]> ExportAsync(SqliteTrainingStore store)
    {
        using var output = new MemoryStream();
        await SampleExporters.WriteJsonLinesAsync(output, store.ReadAllAsync(CancellationToken.None), null, CancellationToken.None);
        return output.ToArray();
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
