using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using CommentFlow.Export;
using CommentFlow.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace CommentFlow.Bench;

/// <summary>
/// Scenario 3 on the store scenario 1 filled (or one filled here): stats read from the aggregates kept with every batch,
/// against the plain way (counting and grouping the samples table) on the same file; the export as an operator runs it
/// (<c>commentflow export --format jsonl</c>, its own process, peak memory sampled), against reading and inflating the
/// same payloads to a file with nothing else done.
/// </summary>
internal static class StatsExportScenario
{
    public static async Task<List<ResultRow>> RunAsync(BenchEnvironment env, int samples, Dictionary<string, object> details)
    {
        var dir = env.StoreOf(samples);
        if (dir is null)
        {
            (_, dir) = await IngestScenario.PipelineAsync(env, await Workload.GenerateAsync(env, samples));
            env.KeepStore(samples, dir);
        }
        var db = Path.Combine(dir, "commentflow.db");
        var rows = new List<ResultRow>();

        // Stats: the first call on a freshly opened store (cold), then many (warm).
        var store = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(dir), new StorageOptions(), TimeProvider.System, NullLogger<SqliteTrainingStore>.Instance);
        var clock = Stopwatch.StartNew();
        var stats = await store.GetStatsAsync(CancellationToken.None);
        var coldMs = clock.Elapsed.TotalMilliseconds;
        var warm = new List<double>();
        for (var i = 0; i < (env.Quick ? 100 : 1_000); i++)
        {
            clock.Restart();
            await store.GetStatsAsync(CancellationToken.None);
            warm.Add(clock.Elapsed.TotalMilliseconds);
        }
        var plain = new List<double>();
        for (var i = 0; i < (env.Quick ? 3 : 5); i++)
        {
            clock.Restart();
            await PlainStatsAsync(db);
            plain.Add(clock.Elapsed.TotalMilliseconds);
        }
        var (p50, p99) = (Percentile(warm, 0.50), Percentile(warm, 0.99));
        Console.WriteLine($"stats at {stats.TotalSamples:N0} samples: cold {coldMs:N1} ms, warm p50 {p50:N2} ms, p99 {p99:N2} ms; plain GROUP BY scans p50 {Percentile(plain, 0.5):N0} ms");
        rows.Add(new ResultRow("stats", $"{stats.TotalSamples:N0} samples, warm p99", "ms", p99, "COUNT/GROUP BY over the table", Percentile(plain, 0.99), "p99 < 20 ms", p99 < 20, HigherIsBetter: false));
        details["stats"] = new { samples = stats.TotalSamples, cold_ms = coldMs, warm_p50_ms = p50, warm_p99_ms = p99, plain_ms = plain };

        // Export through the real CLI, in its own process, so its peak memory is its own.
        var file = Path.Combine(env.NewDir("export"), "samples.jsonl");
        var (seconds, peakRss) = await RunSampledAsync(env, ["exec", env.ServiceDll, "export", "--format", "jsonl", "--out", file, "--json", $"--CommentFlow:DataDir={dir}"]);
        var bytes = new FileInfo(file).Length;
        File.Delete(file);
        var mbPerSecond = bytes / seconds / 1e6;
        var floor = await RawPayloadCopyAsync(env, db);
        Console.WriteLine($"export of {stats.TotalSamples:N0} samples: {bytes / 1e6:N0} MB JSON in {seconds:N1} s = {mbPerSecond:N0} MB/s, peak RSS {peakRss / 1e6:N0} MB; reading and inflating the payloads alone {floor:N0} MB/s");
        rows.Add(new ResultRow("export", $"{stats.TotalSamples:N0} samples, JSON Lines", "MB/s", mbPerSecond, "payloads read and inflated, nothing else", floor, "≥ 250 MB/s", mbPerSecond >= 250));
        rows.Add(new ResultRow("export", $"{stats.TotalSamples:N0} samples, peak RSS", "MB", peakRss / 1e6, "(none)", null, "< 100 MB", peakRss < 100e6, HigherIsBetter: false));
        var stages = await ExportStagesAsync(env, store, bytes);
        details["export"] = new { samples = stats.TotalSamples, bytes, seconds, mb_per_second = mbPerSecond, peak_rss_bytes = peakRss, payload_floor_mb_per_second = floor, stages };
        return rows;
    }

    /// <summary>
    /// The export's profile, in this process (second of two passes, so the code is jitted): reading and decoding the
    /// samples alone, then JSON Lines to a null stream, then to a file. MB/s are of the export's output size.
    /// </summary>
    private static async Task<object> ExportStagesAsync(BenchEnvironment env, SqliteTrainingStore store, long outputBytes)
    {
        double rows = 0, decode = 0, lines = 0, json = 0, file = 0;
        for (var pass = 0; pass < 2; pass++)
        {
            var clock = Stopwatch.StartNew();
            await foreach (var _ in store.ReadAllAsync(static _ => 0, CancellationToken.None))
            {
            }
            rows = clock.Elapsed.TotalSeconds;
            clock.Restart();
            await foreach (var _ in store.ReadAllAsync(CancellationToken.None))
            {
            }
            decode = clock.Elapsed.TotalSeconds;
            clock.Restart();
            await foreach (var _ in store.ReadAllAsync(SampleExporters.JsonLine, CancellationToken.None))
            {
            }
            lines = clock.Elapsed.TotalSeconds;
            clock.Restart();
            await SampleExporters.WriteJsonLinesAsync(Stream.Null, store.ReadAllAsync(SampleExporters.JsonLine, CancellationToken.None), CancellationToken.None);
            json = clock.Elapsed.TotalSeconds;
            var path = Path.Combine(env.NewDir("stages"), "samples.jsonl");
            clock.Restart();
            await using (var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                await SampleExporters.WriteJsonLinesAsync(output, store.ReadAllAsync(SampleExporters.JsonLine, CancellationToken.None), CancellationToken.None);
            }
            file = clock.Elapsed.TotalSeconds;
            File.Delete(path);
        }
        double Rate(double seconds) => outputBytes / seconds / 1e6;
        Console.WriteLine($"export stages (in process, MB/s of the output): rows read alone {Rate(rows):N0}; read and decoded to samples {Rate(decode):N0}; " +
            $"read and made into lines {Rate(lines):N0}, + to a null stream {Rate(json):N0}, + to a file {Rate(file):N0}");
        return new
        {
            rows_mb_per_second = Rate(rows), read_decode_mb_per_second = Rate(decode), lines_mb_per_second = Rate(lines),
            json_null_mb_per_second = Rate(json), json_file_mb_per_second = Rate(file),
        };
    }

    /// <summary>Stats the way a plain schema gets them: count and group the samples on every call.</summary>
    private static async Task PlainStatsAsync(string db)
    {
        await using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        foreach (var sql in new[]
        {
            "SELECT COUNT(*), SUM(suggestions_count), SUM(comments_count) FROM samples",
            "SELECT issue_type, COUNT(*) FROM samples GROUP BY issue_type",
            "SELECT status, COUNT(*) FROM samples GROUP BY status",
            "SELECT priority, COUNT(*) FROM samples GROUP BY priority",
            "SELECT engine, COUNT(*) FROM samples GROUP BY engine",
            "SELECT model, COUNT(*) FROM samples GROUP BY model",
        })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
            }
        }
    }

    /// <summary>The floor of any export: every payload read and inflated, its bytes written, no JSON work (MB/s of output).</summary>
    private static async Task<double> RawPayloadCopyAsync(BenchEnvironment env, string db)
    {
        var file = Path.Combine(env.NewDir("floor"), "payloads.bin");
        var clock = Stopwatch.StartNew();
        long bytes = 0;
        await using (var output = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 18))
        await using (var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT payload_encoding, payload FROM samples ORDER BY id";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                await using var payload = reader.GetStream(1);
                await using Stream plain = reader.GetInt32(0) == 1 ? new GZipStream(payload, CompressionMode.Decompress) : payload;
                var before = output.Position;
                await plain.CopyToAsync(output);
                bytes += output.Position - before;
            }
        }
        var seconds = clock.Elapsed.TotalSeconds;
        File.Delete(file);
        return bytes / seconds / 1e6;
    }

    /// <summary>Runs a process to its end, sampling its resident memory every 20 ms; returns its time and peak RSS in bytes.</summary>
    private static async Task<(double Seconds, long PeakRss)> RunSampledAsync(BenchEnvironment env, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        long peak = 0;
        while (!process.HasExited)
        {
            try
            {
                // VmHWM is the kernel's own high-water mark of the resident set: no sample can miss the peak.
                var line = File.ReadLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
                if (line is not null)
                {
                    peak = Math.Max(peak, long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024);
                }
            }
            catch (IOException)
            {
                // exited between the check and the read
            }
            await Task.Delay(20);
        }
        await process.WaitForExitAsync();
        var seconds = clock.Elapsed.TotalSeconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"export exited {process.ExitCode}: {await stderr}{await stdout}");
        }
        return (seconds, peak);
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}
