using System.Diagnostics;
using CommentFlow.Domain;
using CommentFlow.Storage;
using CommentFlow.Training;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace CommentFlow.Bench;

/// <summary>
/// Erasure and retention on a store of N samples built from the shared tickets (GZip payloads, three samples per ticket
/// key, created over one year): how long <c>ForgetTicketAsync</c> and a retention purge of the oldest tenth take, how much of
/// that is the VACUUM, and the longest a one-sample capture write waits meanwhile (what the write lock costs the service).
/// </summary>
internal static class ErasureScenario
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static async Task<object> RunAsync(string sharedData, int samples)
    {
        var tickets = Directory.GetFiles(sharedData, "*.csv").SelectMany(f => LabelledTickets.Read(f, "type").Tickets).ToList();
        var dir = Path.Combine(Path.GetTempPath(), "commentflow-bench-erasure", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var store = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(dir), new StorageOptions(), TimeProvider.System,
                NullLogger<SqliteTrainingStore>.Instance);
            await store.MigrateAsync(CancellationToken.None);
            var step = TimeSpan.FromDays(365) / samples;
            for (var from = 0; from < samples; from += 1_000)
            {
                await store.WriteAsync([.. Enumerable.Range(from, Math.Min(1_000, samples - from)).Select(i => Sample(tickets[i % tickets.Count], i, Start + step * i))],
                    null, CancellationToken.None);
            }
            var db = Path.Combine(dir, "commentflow.db");
            var bytes = new FileInfo(db).Length + new FileInfo(db + "-wal").Length;

            var forgetMs = new List<double>();
            var forgetWaitMs = 0.0;
            foreach (var ticket in new[] { samples / 18, samples / 6, samples * 5 / 18 })
            {
                ErasureResult erased = null!;
                var (elapsed, wait) = await WithConcurrentWriterAsync(store, async () => erased = await store.ForgetTicketAsync($"BENCH-{ticket}", CancellationToken.None));
                if (erased.Samples != 3 || !erased.Scrubbed)
                {
                    throw new InvalidOperationException($"BENCH-{ticket}: {erased}");
                }
                forgetMs.Add(elapsed);
                forgetWaitMs = Math.Max(forgetWaitMs, wait);
            }

            var vacuum = Stopwatch.StartNew();
            await using (var connection = new SqliteConnection($"Data Source={db};Pooling=False"))
            {
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = "VACUUM; PRAGMA wal_checkpoint(TRUNCATE);";
                await command.ExecuteNonQueryAsync();
            }
            var vacuumMs = vacuum.Elapsed.TotalMilliseconds;

            ErasureResult purged = null!;
            var (retentionMs, retentionWaitMs) = await WithConcurrentWriterAsync(store, async () => purged = await store.DeleteOlderThanAsync(Start + TimeSpan.FromDays(36.5), CancellationToken.None));

            var result = new
            {
                samples,
                file_mb = Math.Round(bytes / 1e6, 1),
                forget_ms = forgetMs.Select(m => Math.Round(m, 0)).ToArray(),
                vacuum_alone_ms = Math.Round(vacuumMs, 0),
                forget_longest_capture_wait_ms = Math.Round(forgetWaitMs, 0),
                retention_deleted = purged.Samples,
                retention_ms = Math.Round(retentionMs, 0),
                retention_longest_capture_wait_ms = Math.Round(retentionWaitMs, 0),
            };
            Console.WriteLine($"erasure, {samples:N0} samples ({result.file_mb} MB): forget one ticket {string.Join(" / ", result.forget_ms)} ms (VACUUM alone {result.vacuum_alone_ms} ms), " +
                $"longest capture write meanwhile {result.forget_longest_capture_wait_ms} ms; retention of {purged.Samples:N0} samples {result.retention_ms} ms, longest capture write meanwhile {result.retention_longest_capture_wait_ms} ms");
            return result;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static TrainingSample Sample(LabelledTicket t, int i, DateTimeOffset at)
    {
        var context = new TicketContext
        {
            TicketKey = $"BENCH-{i / 3}",
            Summary = t.Text[..Math.Min(80, t.Text.Length)],
            Description = $"{t.Text} #{i}",
            IssueType = t.Label,
            Status = "Open",
            Priority = "Medium",
            Comments = [],
            Language = t.Language,
        };
        return TrainingSample.From(context, context.Hash(), [new Suggestion(t.Answer, SuggestionTypes.Action, 0.8)], "history", "history", 0, at);
    }

    /// <summary>Runs the operation while another task writes one sample at a time; the operation's time and the longest write.</summary>
    private static async Task<(double ElapsedMs, double LongestWriteMs)> WithConcurrentWriterAsync(SqliteTrainingStore store, Func<Task> operation)
    {
        using var stop = new CancellationTokenSource();
        var longest = 0.0;
        var writer = Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                var start = Stopwatch.GetTimestamp();
                await store.WriteAsync([Sample(new LabelledTicket(0, $"concurrent {Guid.NewGuid()}", "Bug", "ok", "en"), 10_000_000 + n++, Start)], null, CancellationToken.None);
                longest = Math.Max(longest, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                await Task.Delay(5);
            }
        });
        await Task.Delay(50);
        var clock = Stopwatch.StartNew();
        await operation();
        var elapsed = clock.Elapsed.TotalMilliseconds;
        await stop.CancelAsync();
        await writer;
        return (elapsed, longest);
    }
}
