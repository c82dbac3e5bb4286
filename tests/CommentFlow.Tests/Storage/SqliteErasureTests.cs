using CommentFlow.Domain;
using CommentFlow.Storage;
using CommentFlow.Tests.Privacy;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace CommentFlow.Tests.Storage;

public sealed class SqliteErasureTests
{
    private static async Task<(SqliteTrainingStore Store, string DataDir)> NewStoreAsync(int compressionThreshold)
    {
        var dataDir = TempDir.Create();
        var store = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(dataDir),
            new StorageOptions { CompressionThreshold = compressionThreshold }, TimeProvider.System, NullLogger<SqliteTrainingStore>.Instance)
        {
            ScrubTimeout = TimeSpan.FromMilliseconds(300),
        };
        await store.MigrateAsync(CancellationToken.None);
        return (store, dataDir);
    }

    [Fact]
    public async Task ForgetTicketAsync_SamplesStoredPlainThenCompressed_NoCopyLeftInFreeSpace()
    {
        // The first samples are stored plain; the batch that crosses the threshold rewrites them as GZip, which leaves the
        // plain bytes in free space. The erasure must not leave them there.
        var (store, dataDir) = await NewStoreAsync(compressionThreshold: 50);
        var ticket = Enumerable.Range(0, 3).Select(i => Some.Sample(Some.Context(summary: $"Projector {i} flickers KOALASENTENCE", key: "PLAIN-9"))).ToList();
        await store.WriteAsync([.. ticket, .. Enumerable.Range(0, 20).Select(_ => Some.Sample())], null, CancellationToken.None);
        Assert.Contains("KOALASENTENCE", StoreEvidence.RawText(dataDir), StringComparison.Ordinal);
        await store.WriteAsync([.. Enumerable.Range(0, 40).Select(_ => Some.Sample())], null, CancellationToken.None);
        Assert.True((await store.GetStatsAsync(CancellationToken.None)).Compressed);

        var result = await store.ForgetTicketAsync("PLAIN-9", CancellationToken.None);

        Assert.Equal(3, result.Samples);
        Assert.Equal(ticket.Select(s => s.ContextHash).Order(), result.ContextHashes.Order());
        var raw = StoreEvidence.RawText(dataDir);
        Assert.DoesNotContain("KOALASENTENCE", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("PLAIN-9", raw, StringComparison.Ordinal);
        Assert.Equal(60, (await store.GetStatsAsync(CancellationToken.None)).TotalSamples);
        await StoreEvidence.AssertStatsMatchRowsAsync(dataDir);
    }

    [Fact]
    public async Task DeleteOlderThanAsync_MoreThanOneBatch_DeletesEveryOldSampleAndItsFeedbackStatsExact()
    {
        var (store, dataDir) = await NewStoreAsync(compressionThreshold: 100);
        var cutoff = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var old = Enumerable.Range(0, SqliteTrainingStore.RetentionBatchSize * 2 + 17)
            .Select(i => Some.Sample(Some.Context(issueType: i % 3 == 0 ? "Incident" : "Bug"), suggestions: i % 4, at: cutoff.AddMinutes(-1 - i)))
            .ToList();
        var young = Enumerable.Range(0, 30).Select(i => Some.Sample(at: cutoff.AddSeconds(i), engine: i % 2 == 0 ? "ollama" : "rules")).ToList();
        // Interleaved, so deleting by id ranges alone would be wrong.
        var interleaved = new List<TrainingSample>();
        for (var i = 0; i < old.Count; i++)
        {
            interleaved.Add(old[i]);
            if (i < young.Count)
            {
                interleaved.Add(young[i]);
            }
        }
        await store.WriteAsync(interleaved, null, CancellationToken.None);
        await StoreEvidence.InsertFeedbackAsync(dataDir, old[1500].ContextHash, old[1500].Context.TicketKey, at: cutoff.AddDays(3)); // recent feedback on an old sample
        await StoreEvidence.InsertFeedbackAsync(dataDir, "0123456789abcdef0123456789abcdef", "GONE-1", at: cutoff.AddDays(-1)); // old, sample never stored
        await StoreEvidence.InsertFeedbackAsync(dataDir, young[3].ContextHash, young[3].Context.TicketKey, at: cutoff.AddDays(1));

        var result = await store.DeleteOlderThanAsync(cutoff, CancellationToken.None);

        Assert.Equal(old.Count, result.Samples);
        Assert.Equal(2, result.Feedback);
        Assert.True(result.Scrubbed);
        Assert.Equal(young.Select(s => s.ContextHash).Order(), (await Stores.ReadAllAsync(dataDir)).Select(s => s.ContextHash).Order());
        Assert.Equal(1, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM feedback WHERE context_hash = $h", ("$h", young[3].ContextHash)));
        Assert.Equal(1, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM feedback"));
        await StoreEvidence.AssertStatsMatchRowsAsync(dataDir);

        var again = await store.DeleteOlderThanAsync(cutoff, CancellationToken.None);
        Assert.Equal((0, 0), (again.Samples, again.Feedback));
    }

    [Fact]
    public async Task ForgetTicketAsync_ReaderHoldsOlderSnapshot_NotScrubbedUntilCalledAgainAfterIt()
    {
        var (store, dataDir) = await NewStoreAsync(compressionThreshold: 1_000_000);
        await store.WriteAsync([Some.Sample(Some.Context(summary: "Kiosk frozen EMUSENTENCE", key: "READ-5")), Some.Sample(), Some.Sample()], null, CancellationToken.None);

        ErasureResult first;
        await using (var reader = new SqliteConnection($"Data Source={StoreEvidence.DatabasePath(dataDir)};Pooling=False"))
        {
            // An export streaming: a read transaction on the snapshot from before the erasure.
            await reader.OpenAsync();
            await using var read = reader.CreateCommand();
            read.CommandText = "BEGIN; SELECT COUNT(*) FROM samples;";
            Assert.Equal(3L, await read.ExecuteScalarAsync());

            first = await store.ForgetTicketAsync("READ-5", CancellationToken.None);
        }

        Assert.Equal(1, first.Samples);
        Assert.False(first.Scrubbed);
        var again = await store.ForgetTicketAsync("READ-5", CancellationToken.None);
        Assert.Equal(0, again.Samples);
        Assert.True(again.Scrubbed);
        var raw = StoreEvidence.RawText(dataDir);
        Assert.DoesNotContain("EMUSENTENCE", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("READ-5", raw, StringComparison.Ordinal);
    }
}
