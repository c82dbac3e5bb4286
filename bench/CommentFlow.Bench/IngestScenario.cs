using CommentFlow.Configuration;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using CommentFlow.Capture;
using CommentFlow.Domain;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CommentFlow.Bench;

/// <summary>
/// Scenario 1: the shared workload (<c>seed_baseline.py gen</c>, 20 % exact repeats) through the capture pipeline
/// (bounded queue → one writer → SQLite, zstd payloads, masking, stats in the same transaction) against a raw SQLite
/// insert of the same requests (one prepared statement, 5,000 rows a transaction, WAL, same page size, synchronous
/// level and WAL checkpoint threshold as the store), in alternating pairs (<see cref="AlternatingPairs"/>). Both sides
/// read and parse the same JSON Lines file while they are timed.
/// </summary>
internal static class IngestScenario
{
    private const int RawBatch = 5_000;
    private const int WarmUpRequests = 30_000;

    public static async Task<List<ResultRow>> RunAsync(BenchEnvironment env, IReadOnlyList<int> sizes, Dictionary<string, object> details)
    {
        var rows = new List<ResultRow>();
        var runs = new Dictionary<string, object>();
        // Both sides run once on a workload of their own before anything is timed: a service that captures has been
        // running, and the http and local scenarios warm up too. Cold, the capture path's first ~30,000 requests ran at
        // about a third of its rate later on (bench/README.md, 2026-12-07, night).
        var warmUp = await Workload.GenerateAsync(env, env.Quick ? 1_000 : WarmUpRequests);
        var warmRaw = await RawInsertAsync(env, warmUp);
        var (warmPipeline, _) = await PipelineAsync(env, warmUp);
        Console.WriteLine($"ingest warm-up, {warmPipeline.Requests:N0} requests: capture pipeline {warmPipeline.Rate:N0}/s, raw insert {warmRaw.Rate:N0}/s (not reported)");
        foreach (var size in sizes)
        {
            var workload = await Workload.GenerateAsync(env, size);
            string? kept = null;
            var (median, all) = await AlternatingPairs.RunAsync(AlternatingPairs.Count(env),
                async () =>
                {
                    var (result, dir) = await PipelineAsync(env, workload);
                    // The last store stays for the stats scenario; the others only take disk (~850 MB at 1M).
                    if (kept is not null)
                    {
                        Directory.Delete(kept, recursive: true);
                    }
                    kept = dir;
                    return result;
                },
                () => RawInsertAsync(env, workload),
                r => r.Rate,
                (i, p) => Console.WriteLine(
                    $"ingest {size:N0}, pair {i}: capture pipeline {p.Subject.Rate:N0}/s ({p.Subject.Stored:N0} stored, " +
                    $"{p.Subject.Bytes / (double)p.Subject.Stored:N0} B/sample, CPU {p.Subject.CpuMicrosPerRequest:N1} µs a request), " +
                    $"raw insert {p.Reference.Rate:N0}/s ({p.Reference.Bytes / (double)p.Reference.Stored:N0} B/row, " +
                    $"CPU {p.Reference.CpuMicrosPerRequest:N1} µs): {p.Ratio:0.00}×"));
            env.KeepStore(size, kept!);
            runs[$"{size}"] = all.Select(p => new
            {
                pipeline = p.Subject.Rate,
                raw = p.Reference.Rate,
                ratio = p.Ratio,
                pipeline_cpu_us = p.Subject.CpuMicrosPerRequest,
                raw_cpu_us = p.Reference.CpuMicrosPerRequest,
            }).ToList();
            var (pipeline, raw) = (median.Subject, median.Reference);
            rows.Add(new ResultRow("ingest", $"{size:N0} requests", "requests/s", pipeline.Rate, "raw SQLite insert", raw.Rate,
                size >= 1_000_000 ? "≥ 80 % of raw and ≥ 10,000/s" : "≥ 80 % of raw",
                pipeline.Rate >= 0.8 * raw.Rate && (size < 1_000_000 || pipeline.Rate >= 10_000)));
        }
        rows.Add(await IntoArchivedStoreAsync(env, runs));
        details["ingest"] = runs;

        // The earlier service on 1,000 requests of the same workload (200 in quick mode: it needs ~50 s for 1,000), against
        // the pipeline on the same requests.
        var seedSize = env.Quick ? 200 : 1_000;
        var small = await Workload.GenerateAsync(env, seedSize);
        var seed = await SeedBaselineAsync(env, small);
        var (ours, _) = await PipelineAsync(env, small);
        Console.WriteLine($"ingest {seedSize:N0}: capture pipeline {ours.Rate:N0}/s, earlier service (seed_baseline.py bench) {seed:N1}/s");
        rows.Add(new ResultRow("ingest", $"{seedSize:N0} requests", "requests/s", ours.Rate, "earlier Python service", seed, "report the ratio", null));
        return rows;
    }

    /// <summary>
    /// Capture into a store whose samples so far are archived, as every store's are from its second day on: each batch's
    /// hashes are then looked up in the archive too, under the writers' lock. Against the same requests into a store with
    /// the same history not archived, in alternating pairs; the history is other tickets (another seed), so few requests
    /// repeat it.
    /// </summary>
    private static async Task<ResultRow> IntoArchivedStoreAsync(BenchEnvironment env, Dictionary<string, object> runs)
    {
        var (historySize, size) = env.Quick ? (2_000, 3_000) : (50_000, 100_000);
        var history = await Workload.GenerateAsync(env, historySize, seed: 7);
        var workload = await Workload.GenerateAsync(env, size);
        var (median, all) = await AlternatingPairs.RunAsync(AlternatingPairs.Count(env),
            async () =>
            {
                var (_, dir) = await PipelineAsync(env, history);
                var store = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(dir), new StorageOptions(), TimeProvider.System,
                    NullLogger<SqliteTrainingStore>.Instance);
                await store.MigrateAsync(CancellationToken.None);
                var archived = await store.ArchiveAsync(DateTimeOffset.UtcNow.AddDays(1), new StorageOptions().ArchiveBlock, partial: false,
                    CancellationToken.None);
                var (result, _) = await PipelineAsync(env, workload, dir);
                Directory.Delete(dir, recursive: true);
                Console.WriteLine($"ingest {size:N0} into a store with {archived:N0} archived samples: {result.Rate:N0}/s, " +
                    $"CPU {result.CpuMicrosPerRequest:N1} µs a request");
                return result;
            },
            async () =>
            {
                var (_, dir) = await PipelineAsync(env, history);
                var (result, _) = await PipelineAsync(env, workload, dir);
                Directory.Delete(dir, recursive: true);
                return result;
            },
            r => r.Rate,
            (i, p) => Console.WriteLine($"ingest {size:N0} into an archived store, pair {i}: {p.Subject.Rate:N0}/s against " +
                $"{p.Reference.Rate:N0}/s with the history not archived: {p.Ratio:0.00}×"));
        runs[$"{size}-into-archived-store"] = all.Select(p => new { archived = p.Subject.Rate, not_archived = p.Reference.Rate, ratio = p.Ratio }).ToList();
        return new ResultRow("ingest", $"{size:N0} requests after {historySize:N0} archived", "requests/s", median.Subject.Rate,
            "the same history, not archived", median.Reference.Rate, "report", null);
    }

    /// <param name="CpuSeconds">The bench process's CPU meanwhile (all its threads): what a request costs, beside how fast.</param>
    internal sealed record IngestResult(long Requests, long Stored, double Seconds, long Bytes, double CpuSeconds)
    {
        public double Rate => Requests / Seconds;
        public double CpuMicrosPerRequest => CpuSeconds * 1e6 / Requests;
    }

    private static double ProcessCpuSeconds()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalSeconds;
    }

    /// <summary>The reference: parse, hash, INSERT OR IGNORE the JSON text, in big transactions.</summary>
    private static async Task<IngestResult> RawInsertAsync(BenchEnvironment env, string workload)
    {
        var dir = env.NewDir("raw");
        var db = Path.Combine(dir, "raw.db");
        await using var connection = new SqliteConnection($"Data Source={db};Pooling=False");
        await connection.OpenAsync();
        // The store's own page size and checkpoint threshold, read from it, so the reference follows when they change.
        await Sql.ExecAsync(connection, $"PRAGMA page_size = {SqliteTrainingStore.PageSize}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; " +
            $"PRAGMA wal_autocheckpoint = {SqliteTrainingStore.WalAutocheckpointPages};" +
            "CREATE TABLE samples (id INTEGER PRIMARY KEY, context_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, payload TEXT NOT NULL);");

        var cpu = ProcessCpuSeconds();
        var clock = Stopwatch.StartNew();
        long requests = 0;
        var transaction = connection.BeginTransaction();
        await using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT OR IGNORE INTO samples (context_hash, created_at, payload) VALUES ($h, $t, $p)";
        var hash = insert.Parameters.Add("$h", SqliteType.Text);
        var time = insert.Parameters.Add("$t", SqliteType.Text);
        var payload = insert.Parameters.Add("$p", SqliteType.Text);
        insert.Prepare();
        foreach (var line in File.ReadLines(workload))
        {
            var request = JsonSerializer.Deserialize(line, WorkloadJson.Default.WorkloadRequest)!;
            insert.Transaction = transaction;
            hash.Value = ContextHash.Compute(request.Summary, request.Description, request.AllComments);
            time.Value = DateTimeOffset.UtcNow.ToString("O");
            payload.Value = line;
            insert.ExecuteNonQuery();
            if (++requests % RawBatch == 0)
            {
                transaction.Commit();
                transaction.Dispose();
                transaction = connection.BeginTransaction();
            }
        }
        transaction.Commit();
        transaction.Dispose();
        var seconds = clock.Elapsed.TotalSeconds;
        cpu = ProcessCpuSeconds() - cpu;
        var stored = (long)(await Sql.ScalarAsync(connection, "SELECT COUNT(*) FROM samples"))!;
        await connection.CloseAsync();
        var result = new IngestResult(requests, stored, seconds, FileBytes(db), cpu);
        Directory.Delete(dir, recursive: true);
        return result;
    }

    /// <summary>CommentFlow: what the server's request path and writer do, minus HTTP (scenario 4 has that).</summary>
    internal static async Task<(IngestResult Result, string Dir)> PipelineAsync(BenchEnvironment env, string workload, string? into = null)
    {
        var dir = into ?? env.NewDir("store");
        var masker = new PersonalDataMasker(Options.Create(new MaskingOptions()));
        var store = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(dir), new StorageOptions(), TimeProvider.System,
            NullLogger<SqliteTrainingStore>.Instance, masker);
        await store.MigrateAsync(CancellationToken.None);
        // Wait mode with a long wait: the producer here is faster than any disk, and the point is the writer's rate, not drops.
        var options = Options.Create(new CaptureOptions { FullMode = CaptureFullModes.Wait, FullWaitMilliseconds = 600_000 });
        var queue = new CaptureQueue(options, new CaptureCounters(), TimeProvider.System, NullLogger<CaptureQueue>.Instance);
        var quarantine = new Quarantine(Options.Create(new CommentFlowOptions { DataDir = dir }), masker, TimeProvider.System);
        using var writer = new CaptureWriter(queue, store, quarantine, options, TimeProvider.System, NullLogger<CaptureWriter>.Instance);

        var cpu = ProcessCpuSeconds();
        var clock = Stopwatch.StartNew();
        await writer.StartAsync(CancellationToken.None);
        long requests = 0;
        foreach (var line in File.ReadLines(workload))
        {
            var request = JsonSerializer.Deserialize(line, WorkloadJson.Default.WorkloadRequest)!;
            var context = new TicketContext
            {
                TicketKey = request.TicketKey,
                Summary = request.Summary,
                Description = request.Description,
                IssueType = request.IssueType,
                Status = request.Status,
                Priority = request.Priority,
                Comments = request.AllComments,
            };
            var sample = TrainingSample.From(context, context.Hash(), request.Suggestions, "llama3.2", "ollama", 0, DateTimeOffset.UtcNow);
            if (!await queue.EnqueueAsync(sample, CancellationToken.None))
            {
                throw new InvalidOperationException("dropped in wait mode");
            }
            requests++;
        }
        await writer.StopAsync(CancellationToken.None);
        var seconds = clock.Elapsed.TotalSeconds;
        cpu = ProcessCpuSeconds() - cpu;
        var counters = queue.Counters;
        if (counters.Written + counters.Duplicates != requests || counters.Lost + counters.Dropped != 0)
        {
            throw new InvalidOperationException($"pipeline lost samples: {requests} requests, {counters.Written} written, {counters.Duplicates} duplicates");
        }
        // The conversion to the dictionary may still be running: done before anything else opens the store.
        await store.DictionaryWork;
        var db = Path.Combine(dir, "commentflow.db");
        return (new IngestResult(requests, counters.Written, seconds, FileBytes(db), cpu), dir);
    }

    private static async Task<double> SeedBaselineAsync(BenchEnvironment env, string workload)
    {
        var dir = env.NewDir("seed");
        var output = await env.RunAsync("python3", [env.SeedBaseline, "bench", "--dir", dir, "--input", workload, "--time-limit", "0"]);
        Directory.Delete(dir, recursive: true);
        using var result = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        return result.RootElement.GetProperty("inserts_per_s").GetDouble();
    }

    private static long FileBytes(string db) =>
        new[] { db, db + "-wal" }.Where(File.Exists).Sum(f => new FileInfo(f).Length);
}

/// <summary>One request of the shared workload (<c>seed_baseline.py gen</c>).</summary>
internal sealed record WorkloadRequest(
    string? TicketKey, string Summary, string Description, string IssueType, string Status, string Priority,
    IReadOnlyList<string> AllComments, IReadOnlyList<Suggestion> Suggestions);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(WorkloadRequest))]
internal sealed partial class WorkloadJson : JsonSerializerContext;

/// <summary>The shared workload files, generated once per size and kept between runs.</summary>
internal static class Workload
{
    /// <param name="seed">The generator's seed: another one gives other tickets (42 is the generator's default).</param>
    public static async Task<string> GenerateAsync(BenchEnvironment env, int requests, int seed = 42)
    {
        var path = Path.Combine(env.CacheDir, seed == 42 ? $"workload-{requests}.jsonl" : $"workload-{requests}-seed{seed}.jsonl");
        if (!File.Exists(path))
        {
            await env.RunAsync("python3", [env.SeedBaseline, "gen", "--out", path + ".tmp", "--samples", requests.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--dup-rate", "0.2", "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            File.Move(path + ".tmp", path);
        }
        return path;
    }
}

/// <summary>One SQL text run on a SQLite connection, for the scenarios' scratch databases.</summary>
internal static class Sql
{
    public static async Task ExecAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<object?> ScalarAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
