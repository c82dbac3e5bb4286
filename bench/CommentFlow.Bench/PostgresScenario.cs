using System.Diagnostics;
using System.Text.Json;
using CommentFlow.Capture;
using CommentFlow.Configuration;
using CommentFlow.Domain;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CommentFlow.Bench;

/// <summary>
/// Capture into PostgreSQL (the server <c>scripts/postgres.sh</c> starts for the bench: loopback, fsync off): the shared
/// workload through one instance's pipeline (queue, writer, masking, GZip, stats in the same transaction), then through
/// two instances on one database at once (two stores, queues and writers, each given every other request, so repeats
/// land on both), against a raw batched insert of the same requests into the same server in the same run. While the two
/// write, PostgreSQL's own lock table is sampled every few milliseconds: a writer waiting on the other shows as a lock
/// not granted. On 2 shared cores two instances cannot add speed; that they never wait on each other is what shows here.
/// </summary>
internal static class PostgresScenario
{
    public const string ConnectionVariable = "COMMENTFLOW_TEST_POSTGRES";
    private const int RawBatch = 5_000;

    public static async Task<List<ResultRow>> RunAsync(BenchEnvironment env, int size, Dictionary<string, object> details)
    {
        var server = Environment.GetEnvironmentVariable(ConnectionVariable)
            ?? throw new InvalidOperationException($"{ConnectionVariable} is not set: the bench runs this scenario under scripts/postgres.sh");
        var workload = await Workload.GenerateAsync(env, size);
        var requests = File.ReadLines(workload).Select(Parse).ToList();

        var raw = await RawInsertAsync(await CreateDatabaseAsync(server), requests);
        // Each ticket to one instance (a balancer with ticket affinity): what one instance waits on can then only be the other's locks.
        var byTicket = new[] { requests.Where(r => Hash(r)[^1] % 2 == 0).ToList(), requests.Where(r => Hash(r)[^1] % 2 == 1).ToList() };
        // Two instances against one in alternating pairs: single runs read 0.98× and 1.18× within minutes (bench/README.md, 2026-12-08).
        var (median, pairs) = await AlternatingPairs.RunAsync(AlternatingPairs.Count(env),
            async () => await CaptureAsync(await CreateDatabaseAsync(server), byTicket),
            async () => await CaptureAsync(await CreateDatabaseAsync(server), [requests]),
            c => c.Rate,
            (i, p) => Console.WriteLine($"postgres {size:N0}, pair {i}: two instances {p.Subject.Rate:N0}/s together, one instance {p.Reference.Rate:N0}/s: {p.Ratio:0.00}×"));
        var (two, one) = (median.Subject, median.Reference);
        // Every other request to each (repeats land on both): the same new ticket from both at once is stored once, so one
        // waits for the other's claim on that hash. Reported, to show what the waits above would be with shared tickets.
        var alternate = new[] { requests.Where((_, i) => i % 2 == 0).ToList(), requests.Where((_, i) => i % 2 == 1).ToList() };
        var shared = await CaptureAsync(await CreateDatabaseAsync(server), alternate);

        Console.WriteLine($"postgres {size:N0}: raw batched insert {raw.Rate:N0}/s; one instance {one.Rate:N0}/s ({one.Stored:N0} stored); " +
            $"two instances, each ticket to one: {two.Rate:N0}/s together ({two.Stored:N0} stored, stats {two.StatsSamples:N0}), a lock not granted in " +
            $"{two.WaitingSamples} of {two.LockSamples} reads of pg_locks (one instance: {one.WaitingSamples} of {one.LockSamples}); " +
            $"two instances, repeats on both: {shared.Rate:N0}/s ({shared.Stored:N0} stored, stats {shared.StatsSamples:N0}), {shared.WaitingSamples} of {shared.LockSamples}");
        details["postgres"] = new { size, raw, one, two, repeats_on_both = shared, pairs = pairs.Select(p => new { two = p.Subject.Rate, one = p.Reference.Rate, ratio = p.Ratio }) };
        return
        [
            new ResultRow("postgres", $"one instance, {size:N0} requests", "requests/s", one.Rate, "raw batched insert, same server", raw.Rate,
                "≥ 0.5× raw", one.Rate >= 0.5 * raw.Rate),
            new ResultRow("postgres", $"two instances together, {size:N0} requests", "requests/s", two.Rate, "one instance, same run (median of alternating pairs)", one.Rate,
                "≥ one instance; stats exact", two.Rate >= one.Rate && two.StatsSamples == two.Stored && two.Stored == one.Stored),
            new ResultRow("postgres-locks", "two instances, each ticket to one: reads of pg_locks with no lock waiting", "percent", two.Unblocked,
                $"{two.WaitingSamples} of {two.LockSamples} reads saw a wait", null, "≥ 99 % (waits ≈ 0)", two.Unblocked >= 99),
            new ResultRow("postgres-locks", "two instances, repeats on both: the same (a shared ticket's hash waits)", "percent", shared.Unblocked,
                $"{shared.WaitingSamples} of {shared.LockSamples} reads saw a wait", null, "report", null),
        ];
    }

    internal sealed record Capture(long Requests, long Stored, long StatsSamples, double Seconds, int LockSamples, int WaitingSamples)
    {
        public double Rate => Requests / Seconds;

        /// <summary>The share of pg_locks reads that found no session waiting for a lock, in percent.</summary>
        public double Unblocked => LockSamples == 0 ? 100 : 100.0 * (LockSamples - WaitingSamples) / LockSamples;
    }

    private static WorkloadRequest Parse(string line) => JsonSerializer.Deserialize(line, WorkloadJson.Default.WorkloadRequest)!;

    private static string Hash(WorkloadRequest r) => ContextHash.Compute(r.Summary, r.Description, r.AllComments);

    /// <summary>A database of its own on the bench's server, for each measured run.</summary>
    private static async Task<string> CreateDatabaseAsync(string server)
    {
        var name = $"bench_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>The reference: hash, then INSERT … ON CONFLICT DO NOTHING of the request's JSON, one prepared statement, 5,000 rows a transaction.</summary>
    private static async Task<Capture> RawInsertAsync(string connectionString, List<WorkloadRequest> requests)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand(
            "CREATE TABLE samples (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, context_hash text NOT NULL UNIQUE, created_at timestamptz NOT NULL, payload text NOT NULL)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }
        var clock = Stopwatch.StartNew();
        var transaction = await connection.BeginTransactionAsync();
        await using var insert = new NpgsqlCommand("INSERT INTO samples (context_hash, created_at, payload) VALUES ($1, $2, $3) ON CONFLICT (context_hash) DO NOTHING", connection);
        insert.Parameters.Add(new NpgsqlParameter<string>());
        insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset>());
        insert.Parameters.Add(new NpgsqlParameter<string>());
        await insert.PrepareAsync();
        var count = 0;
        foreach (var request in requests)
        {
            insert.Transaction = transaction;
            ((NpgsqlParameter<string>)insert.Parameters[0]).TypedValue = ContextHash.Compute(request.Summary, request.Description, request.AllComments);
            ((NpgsqlParameter<DateTimeOffset>)insert.Parameters[1]).TypedValue = DateTimeOffset.UtcNow;
            ((NpgsqlParameter<string>)insert.Parameters[2]).TypedValue = JsonSerializer.Serialize(request, WorkloadJson.Default.WorkloadRequest);
            await insert.ExecuteNonQueryAsync();
            if (++count % RawBatch == 0)
            {
                await transaction.CommitAsync();
                await transaction.DisposeAsync();
                transaction = await connection.BeginTransactionAsync();
            }
        }
        await transaction.CommitAsync();
        await transaction.DisposeAsync();
        var seconds = clock.Elapsed.TotalSeconds;
        await using var stored = new NpgsqlCommand("SELECT COUNT(*) FROM samples", connection);
        return new Capture(requests.Count, (long)(await stored.ExecuteScalarAsync())!, 0, seconds, 0, 0);
    }

    /// <summary>One capture pipeline per part of the requests, all into one database at once, with pg_locks sampled meanwhile.</summary>
    private static async Task<Capture> CaptureAsync(string connectionString, List<WorkloadRequest>[] parts)
    {
        var masker = new PersonalDataMasker(Options.Create(new MaskingOptions()));
        var options = Options.Create(new CaptureOptions { FullMode = CaptureFullModes.Wait, FullWaitMilliseconds = 600_000 });
        var instances = new List<(PostgresTrainingStore Store, CaptureQueue Queue, CaptureWriter Writer, NpgsqlDataSource Source)>();
        foreach (var _ in parts)
        {
            var source = NpgsqlDataSource.Create(connectionString);
            var store = new PostgresTrainingStore(source, new StorageOptions(), TimeProvider.System, NullLogger<PostgresTrainingStore>.Instance, masker);
            await store.MigrateAsync(CancellationToken.None);
            var queue = new CaptureQueue(options, new CaptureCounters(), TimeProvider.System, NullLogger<CaptureQueue>.Instance);
            var quarantine = new Quarantine(Options.Create(new CommentFlowOptions { DataDir = Path.GetTempPath() }), masker, TimeProvider.System);
            instances.Add((store, queue, new CaptureWriter(queue, store, quarantine, options, TimeProvider.System, NullLogger<CaptureWriter>.Instance), source));
        }
        // Each instance's first batch learns that compression is on (until then a batch may be the one that turns it on
        // and writes alone): written before the clock starts, as a running service has.
        var warm = parts.SelectMany(p => p.Take(150)).ToList();
        await instances[0].Store.WriteAsync([.. warm.Take(120).Select(Sample)], null, CancellationToken.None);
        foreach (var (instance, i) in instances.Select((x, i) => (x, i)))
        {
            await instance.Store.WriteAsync([Sample(warm[120 + i])], null, CancellationToken.None);
        }

        using var sampling = new CancellationTokenSource();
        var locks = Task.Run(() => SampleLocksAsync(connectionString, sampling.Token));
        var clock = Stopwatch.StartNew();
        foreach (var instance in instances)
        {
            await instance.Writer.StartAsync(CancellationToken.None);
        }
        await Task.WhenAll(parts.Select((part, i) => Task.Run(async () =>
        {
            foreach (var request in part)
            {
                if (!await instances[i].Queue.EnqueueAsync(Sample(request), CancellationToken.None))
                {
                    throw new InvalidOperationException("dropped in wait mode");
                }
            }
        })));
        foreach (var instance in instances)
        {
            await instance.Writer.StopAsync(CancellationToken.None);
        }
        var seconds = clock.Elapsed.TotalSeconds;
        await sampling.CancelAsync();
        var (taken, waiting) = await locks;

        var requests = parts.Sum(p => p.Count);
        if (instances.Any(x => x.Queue.Counters.Lost + x.Queue.Counters.Dropped != 0)
            || instances.Sum(x => x.Queue.Counters.Written + x.Queue.Counters.Duplicates) != requests)
        {
            throw new InvalidOperationException("a pipeline lost samples");
        }
        var stats = await instances[0].Store.GetStatsAsync(CancellationToken.None);
        await using var connection = await instances[0].Source.OpenConnectionAsync();
        await using var count = new NpgsqlCommand("SELECT COUNT(*) FROM samples", connection);
        var stored = (long)(await count.ExecuteScalarAsync())!;
        foreach (var instance in instances)
        {
            instance.Writer.Dispose();
            await instance.Source.DisposeAsync();
        }
        return new Capture(requests, stored, stats.TotalSamples, seconds, taken, waiting);
    }

    private static TrainingSample Sample(WorkloadRequest request)
    {
        var context = new TicketContext
        {
            TicketKey = request.TicketKey, Summary = request.Summary, Description = request.Description, IssueType = request.IssueType,
            Status = request.Status, Priority = request.Priority, Comments = request.AllComments,
        };
        return TrainingSample.From(context, context.Hash(), request.Suggestions, "llama3.2", "ollama", 0, DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// How many times pg_locks was read, and how many of those reads showed a lock some session of this database waits for.
    /// pg_locks covers the whole server (other databases' sessions, e.g. tests running beside the bench), and a row lock's
    /// wait is on a transaction id, which names no database: the waiting session's own database is what tells.
    /// </summary>
    private static async Task<(int Taken, int Waiting)> SampleLocksAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(CancellationToken.None);
        await using var command = new NpgsqlCommand(
            """
            SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE NOT l.granted AND a.datname = current_database()
            """, connection);
        int taken = 0, waiting = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            taken++;
            waiting += (long)(await command.ExecuteScalarAsync(CancellationToken.None))! > 0 ? 1 : 0;
            await Task.Delay(5, CancellationToken.None);
        }
        return (taken, waiting);
    }
}
