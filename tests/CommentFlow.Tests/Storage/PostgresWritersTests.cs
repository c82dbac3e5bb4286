using CommentFlow.Domain;
using CommentFlow.Storage;
using Npgsql;

namespace CommentFlow.Tests.Storage;

/// <summary>Several instances writing to one PostgreSQL database: their batches never wait on each other, and the stats stay exact.</summary>
public sealed class PostgresWritersTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    // Compression on from the first sample: until a store knows it is on, a batch may be the one that turns it on and
    // takes the writers' lock exclusive (see DbTrainingStore.WriteAsync).
    private static readonly StorageOptions Options = new() { CompressionThreshold = 1 };

    [Fact]
    public async Task Batches_OfTwoInstances_TheFirstHeldOpenBeforeCommit_TheSecondCommitsMeanwhile()
    {
        var (a, b, _) = await TwoInstancesAsync();
        await a.Store.WriteAsync([Some.Sample()], null, None);
        await b.Store.WriteAsync([Some.Sample()], null, None);

        // A's next batch: rows inserted and stats added, then held open before its commit.
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var storeA = (PostgresTrainingStore)a.Store;
        storeA.BeforeCommit = async () =>
        {
            held.SetResult();
            await release.Task;
        };
        var writeA = a.Store.WriteAsync([.. Enumerable.Range(0, 20).Select(_ => Some.Sample(engine: "ollama"))], null, None);
        await held.Task;

        // B's batch commits while A's transaction is open. When every batch locked one totals row, B waited here for A:
        // the guard turns that wait into a failure instead of a hang.
        var written = await b.Store.WriteAsync([.. Enumerable.Range(0, 30).Select(_ => Some.Sample())], null, None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(30, written.Written);
        Assert.Equal(32, (await b.Store.GetStatsAsync(None)).TotalSamples); // A's 20 are not committed yet
        Assert.Equal(0, await a.ScalarAsync("SELECT COUNT(*) FROM pg_locks WHERE NOT granted"));

        release.SetResult();
        Assert.Equal(20, (await writeA).Written);
        storeA.BeforeCommit = null;
        var stats = await a.Store.GetStatsAsync(None);
        Assert.Equal(52, stats.TotalSamples);
        Assert.Equal(await a.ScalarAsync("SELECT COUNT(*) FROM samples"), stats.TotalSamples);
        Assert.Equal(20, stats.ByEngine["ollama"]);
        Assert.Equal(await a.ScalarAsync("SELECT SUM(suggestions_count) FROM samples"), stats.TotalSuggestions);
        Assert.Equal(3, await a.ScalarAsync("SELECT COUNT(*) FROM stats_shards")); // the migration's shard 0, one row each instance
    }

    [Fact]
    public async Task Erasure_WhileABatchIsOpen_WaitsForItThenErasesWhatItCommitted()
    {
        var (a, b, _) = await TwoInstancesAsync();
        await a.Store.WriteAsync([Some.Sample()], null, None);

        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ((PostgresTrainingStore)a.Store).BeforeCommit = async () =>
        {
            held.SetResult();
            await release.Task;
        };
        var sample = Some.Sample();
        sample = sample with { Context = sample.Context with { TicketKey = "ERASE-1" } };
        var writeA = a.Store.WriteAsync([sample], null, None);
        await held.Task;

        // The erasure (another instance) takes the writers' lock exclusive: it waits for A's open batch, so it cannot
        // read the ticket's rows before A commits and leave A's sample behind.
        var erasure = b.Store.ForgetTicketAsync("ERASE-1", None);
        await WaitUntilAsync(async () => await a.ScalarAsync("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") == 1);
        Assert.False(erasure.IsCompleted);

        release.SetResult();
        await writeA;
        Assert.Equal(1, (await erasure.WaitAsync(TimeSpan.FromSeconds(30))).Samples);
        Assert.Equal(0, await a.ScalarAsync("SELECT COUNT(*) FROM samples WHERE ticket_key = 'ERASE-1'"));
        Assert.Equal(1, (await a.Store.GetStatsAsync(None)).TotalSamples);
    }

    [Fact]
    public async Task WriteAsync_DuplicateOfARowAnotherTransactionIsRewriting_SkippedWithoutWaiting()
    {
        var (a, b, connectionString) = await TwoInstancesAsync();
        var sample = Some.Sample();
        await a.Store.WriteAsync([sample, Some.Sample()], null, None);

        // What the dictionary conversion does to a stored row, held open. An INSERT of the same hash would check the
        // unique key against the row being rewritten and wait for this transaction: the guard turns that into a failure.
        await using var rewriter = new NpgsqlConnection(connectionString);
        await rewriter.OpenAsync();
        await using var tx = await rewriter.BeginTransactionAsync();
        await using (var rewrite = new NpgsqlCommand("UPDATE samples SET payload = payload WHERE context_hash = @hash", rewriter, tx))
        {
            rewrite.Parameters.AddWithValue("hash", sample.ContextHash);
            Assert.Equal(1, await rewrite.ExecuteNonQueryAsync());
        }

        var fresh = Some.Sample();
        var result = await b.Store.WriteAsync([sample, fresh], null, None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((1, 1), (result.Written, result.Duplicates));
        await tx.RollbackAsync();
        Assert.Equal(3, (await a.Store.GetStatsAsync(None)).TotalSamples);
        Assert.Equal(3, await a.ScalarAsync("SELECT COUNT(*) FROM samples"));
    }

    [Fact]
    public async Task ConvertToDictionaryAsync_ARowAnotherInstanceIsRewriting_LeftToItNotWaitedFor()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var a = new PostgresStoreUnderTest(connectionString, new StorageOptions { CompressionThreshold = 0, DictionaryFrom = 0 }, masker: null);
        await a.Store.MigrateAsync(None);
        List<TrainingSample> samples = [.. Enumerable.Range(0, 30).Select(_ => Some.Sample())];
        await a.Store.WriteAsync(samples, null, None);
        var store = (PostgresTrainingStore)a.Store;
        Assert.NotNull(await store.TrainDictionaryAsync(None));
        Assert.Equal(30, await a.CountGzipPayloadsAsync());

        // Another instance's conversion holds one row.
        await using var other = new NpgsqlConnection(connectionString);
        await other.OpenAsync();
        await using var tx = await other.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("SELECT id FROM samples WHERE context_hash = @hash FOR UPDATE", other, tx))
        {
            hold.Parameters.AddWithValue("hash", samples[7].ContextHash);
            Assert.NotNull(await hold.ExecuteScalarAsync());
        }

        Assert.Equal(29, await store.ConvertToDictionaryAsync(None).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, await a.CountGzipPayloadsAsync());
        await tx.RollbackAsync();
        Assert.Equal(1, await store.ConvertToDictionaryAsync(None));
        Assert.Equal(0, await a.CountGzipPayloadsAsync());
        var read = new List<string>();
        await foreach (var s in a.Store.ReadAllAsync(None))
        {
            read.Add(s.Context.Description);
        }
        Assert.Equal(samples.Select(s => s.Context.Description), read);
    }

    /// <summary>Two instances on a database of their own, both migrated.</summary>
    private static async Task<(PostgresStoreUnderTest A, PostgresStoreUnderTest B, string ConnectionString)> TwoInstancesAsync()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var a = new PostgresStoreUnderTest(connectionString, Options, masker: null);
        var b = new PostgresStoreUnderTest(connectionString, Options, masker: null);
        await a.Store.MigrateAsync(None);
        await b.Store.MigrateAsync(None);
        return (a, b, connectionString);
    }

    /// <summary>Polls a condition of the database (an event another session causes), for at most 30 s.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 30 s");
            await Task.Delay(20);
        }
    }
}
