using CommentFlow.Cli;
using CommentFlow.Domain;
using CommentFlow.Storage;
using CommentFlow.Tests.Privacy;
using Microsoft.Extensions.Logging.Abstractions;

namespace CommentFlow.Tests.Storage;

/// <summary>The archive (<see cref="ArchiveBlock"/>): settled samples moved into blocks read, count, erase and copy as they did as rows.</summary>
public sealed class SqliteArchiveTests
{
    private static readonly DateTimeOffset At = new(2026, 10, 1, 8, 0, 0, TimeSpan.Zero);

    private static CancellationToken None => CancellationToken.None;

    private static async Task<(SqliteTrainingStore Store, string DataDir)> NewStoreAsync(StorageOptions? options = null)
    {
        var dataDir = TempDir.Create();
        var store = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(dataDir),
            options ?? new StorageOptions { CompressionThreshold = 0, DictionaryFrom = 0 }, TimeProvider.System, NullLogger<SqliteTrainingStore>.Instance)
        {
            ScrubTimeout = TimeSpan.FromMilliseconds(300),
        };
        await store.MigrateAsync(None);
        return (store, dataDir);
    }

    /// <summary>Samples a minute apart from <see cref="At"/> on, every third of ticket ARC-n, some with feedback.</summary>
    private static async Task<List<TrainingSample>> SeedAsync(SqliteTrainingStore store, int count)
    {
        var samples = Enumerable.Range(0, count).Select(i => Some.Sample(
            Some.Context(summary: $"Laptop {i} does not wake from sleep", key: i % 3 == 0 ? $"ARC-{i % 7}" : null, issueType: i % 2 == 0 ? "Incident" : "Bug"),
            suggestions: 1 + i % 3, engine: i % 4 == 0 ? "ollama" : "rules", at: At.AddMinutes(i))).ToList();
        await store.WriteAsync(samples, null, None);
        foreach (var s in samples.Where((_, i) => i % 5 == 0))
        {
            await store.WriteFeedbackAsync(new SuggestionFeedback
            {
                ContextHash = s.ContextHash, Position = 0, Agent = "ana", Action = FeedbackActions.Accepted, TicketKey = s.Context.TicketKey,
                Engine = s.Engine, Model = s.Model, SuggestionType = s.Suggestions[0].Type, CreatedAt = s.CreatedAt.AddHours(1),
            }, None);
        }
        return samples;
    }

    /// <summary>Everything a reader of the store can see, each as it would be shown or exported.</summary>
    private static async Task<string> ViewAsync(SqliteTrainingStore store)
    {
        var export = System.Text.Encoding.UTF8.GetString(await MigrationTests.ExportAsync(store));
        var stats = string.Join('\n', StoreCopy.StatsLines(await store.GetStatsAsync(None)));
        var days = string.Join(',', (await store.CountSamplesPerDayAsync(None)).Select(d => $"{d.Day}={d.Samples}"));
        var pages = new List<string>();
        foreach (var (page, size, query) in new[] { (1, 7, (string?)null), (3, 7, null), (8, 7, null), (1, 50, "ARC-3"), (2, 2, "ARC-3"), (1, 5, "arc-") })
        {
            var listed = await store.ListSamplesAsync(page, size, query, None);
            pages.Add($"{listed.Total}:{string.Join(',', listed.Samples.Select(s => $"{s.ContextHash[..6]}/{s.Feedback.Count}"))}");
        }
        var recent = string.Join(',', (await store.FindRecentAsync(null, 12, None)).Select(s => s.ContextHash[..6]));
        var ofTicket = string.Join(',', (await store.FindRecentAsync("ARC-2", 4, None)).Select(s => s.ContextHash[..6]));
        return $"{export}\n{stats}\n{days}\n{string.Join('\n', pages)}\n{recent}\n{ofTicket}";
    }

    [Fact]
    public async Task Archive_SettledSamples_EveryReadSeesTheSameStore()
    {
        var (store, dataDir) = await NewStoreAsync();
        var samples = await SeedAsync(store, 60);
        var before = await ViewAsync(store);
        var oldest = await store.FindSampleAsync(samples[0].ContextHash, None);

        // Settled: the first 50 (the next ones are at the cutoff or later).
        var archived = await store.ArchiveAsync(At.AddMinutes(50), blockSamples: 16, partial: true, None);

        Assert.Equal(50, archived);
        Assert.Equal(50, (await store.GetStatsAsync(None)).ArchivedSamples);
        Assert.Equal(4, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM archive_blocks"));
        Assert.Equal(10, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM samples"));
        Assert.Equal(before, await ViewAsync(store));
        // The service's MD5 hashes are kept as their 16 bytes.
        Assert.Equal(50, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM archived_samples WHERE typeof(context_hash) = 'blob' AND length(context_hash) = 16"));
        Assert.Equal(Json(oldest), Json(await store.FindSampleAsync(samples[0].ContextHash, None)));
        Assert.Null(await store.FindSampleAsync(new string('0', 32), None));
    }

    [Fact]
    public async Task Archive_OnlyWholeBlocksOfTheSettledPrefix_NewestRowAlwaysStays()
    {
        var (store, dataDir) = await NewStoreAsync();
        await SeedAsync(store, 40);

        // Without partial blocks, 40 settled rows (the newest stays) fill two blocks of 16 and leave 7.
        Assert.Equal(32, await store.ArchiveAsync(At.AddDays(1), blockSamples: 16, partial: false, None));
        Assert.Equal(0, await store.ArchiveAsync(At.AddDays(1), blockSamples: 16, partial: false, None));
        // A newer row stops the prefix even when older ones follow it: nothing after the cutoff is archived.
        Assert.Equal(0, await store.ArchiveAsync(At.AddMinutes(20), blockSamples: 16, partial: true, None));
        Assert.Equal(7, await store.ArchiveAsync(At.AddDays(1), blockSamples: 16, partial: true, None));
        Assert.Equal(1, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM samples"));
        Assert.Equal(40, (await store.GetStatsAsync(None)).TotalSamples);
    }

    [Fact]
    public async Task Write_SampleAlreadyArchived_IsADuplicateNotStoredAgain()
    {
        var (store, dataDir) = await NewStoreAsync();
        var samples = await SeedAsync(store, 20);
        await store.ArchiveAsync(At.AddDays(1), blockSamples: 8, partial: true, None);

        var result = await store.WriteAsync([samples[3], samples[19], Some.Sample(at: At.AddDays(2))], null, None);

        Assert.Equal((1, 2), (result.Written, result.Duplicates));
        Assert.Equal(21, (await store.GetStatsAsync(None)).TotalSamples);
        Assert.Equal(21, await StoreEvidence.ScalarAsync(dataDir, "SELECT (SELECT COUNT(*) FROM samples) + (SELECT COUNT(*) FROM archived_samples)"));
    }

    [Theory]
    [InlineData("ABCDEF0123456789ABCDEF0123456789")] // upper case: not the 16 bytes of its lower-case twin
    [InlineData("legacy-7f3a")]
    public async Task Archive_HashNotAServiceMd5_KeptAsTextFoundAndDeduplicated(string hash)
    {
        var (store, dataDir) = await NewStoreAsync();
        var odd = Some.Sample(Some.Context(key: "ODD-1"), at: At) with { ContextHash = hash };
        var twin = Some.Sample(Some.Context(key: "ODD-2"), at: At.AddMinutes(1)) with { ContextHash = hash.ToLowerInvariant() };
        await store.WriteAsync([odd, Some.Sample(at: At.AddMinutes(2)), Some.Sample(at: At.AddMinutes(3))], null, None);
        Assert.Equal(2, await store.ArchiveAsync(At.AddDays(1), blockSamples: 4, partial: true, None));

        Assert.Equal("ODD-1", (await store.FindSampleAsync(hash, None))?.Context.TicketKey);
        Assert.Equal(0, (await store.WriteAsync([odd], null, None)).Written);
        // Its lower-case twin is another sample: stored, not taken for the archived one.
        Assert.Equal(hash != hash.ToLowerInvariant() ? 1 : 0, (await store.WriteAsync([twin], null, None)).Written);
        Assert.Equal(1, (await store.ListSamplesAsync(1, 10, hash[..6], None)).Samples.Count(s => s.ContextHash == hash));
        Assert.Contains(hash, (await Stores.ReadAllAsync(dataDir)).Select(s => s.ContextHash));
    }

    [Fact]
    public async Task TrainDictionary_MostSamplesArchived_TrainsOnTheNewestBlocksToo()
    {
        var (store, _) = await NewStoreAsync();
        await SeedAsync(store, 60);
        Assert.Equal(59, await store.ArchiveAsync(At.AddDays(1), blockSamples: 32, partial: true, None));

        // One row is left; the archive's payloads make up the rest of what the trainer reads.
        var dictionary = await store.TrainDictionaryAsync(None);

        Assert.NotNull(dictionary);
        Assert.Same(dictionary, store.Codec.Current);
    }

    [Fact]
    public async Task ArchiveService_AtStart_ArchivesWholeBlocksOfTheSettledSamples()
    {
        var (store, dataDir) = await NewStoreAsync();
        await SeedAsync(store, 30);
        var options = new StorageOptions { ArchiveBlock = 8, ArchiveAfter = TimeSpan.FromHours(1) };
        var service = new ArchiveService(store, Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, NullLogger<ArchiveService>.Instance);

        await service.StartAsync(None);
        try
        {
            // 29 settled rows besides the newest: three whole blocks, the rest stay rows until a block fills.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM archived_samples") < 24 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
        }
        finally
        {
            await service.StopAsync(None);
        }

        Assert.Equal(3, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM archive_blocks"));
        Assert.Equal(6, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM samples"));
        Assert.Equal(30, (await Stores.ReadAllAsync(dataDir)).Count);
    }

    [Fact]
    public async Task ForgetTicket_ArchivedSamples_TakenOutOfTheirBlocksNothingOfTheOldBlockLeft()
    {
        var (store, dataDir) = await NewStoreAsync();
        var samples = await SeedAsync(store, 60);
        await store.ArchiveAsync(At.AddDays(1), blockSamples: 16, partial: true, None);
        var oldBlock = await FirstBlockAsync(dataDir);
        var ticket = samples.Where(s => s.Context.TicketKey == "ARC-3").ToList();
        Assert.NotEmpty(ticket);

        var result = await store.ForgetTicketAsync("ARC-3", None);

        Assert.Equal(ticket.Count, result.Samples);
        Assert.Equal(ticket.Count(s => samples.IndexOf(s) % 5 == 0), result.Feedback);
        Assert.Equal(ticket.Select(s => s.ContextHash).Order(), result.ContextHashes.Order());
        Assert.True(result.Scrubbed);
        var left = await Stores.ReadAllAsync(dataDir);
        Assert.Equal(samples.Except(ticket).Select(s => s.ContextHash), left.Select(s => s.ContextHash));
        foreach (var s in ticket)
        {
            Assert.Null(await store.FindSampleAsync(s.ContextHash, None));
        }
        Assert.Empty(await store.FindRecentAsync("ARC-3", 10, None));
        // The block before the erasure is nowhere in the file: not as it was, not in free space.
        var raw = await File.ReadAllBytesAsync(StoreEvidence.DatabasePath(dataDir));
        Assert.Equal(-1, raw.AsSpan().IndexOf(oldBlock.AsSpan(oldBlock.Length / 2, 64)));
        await AssertStatsMatchSamplesAsync(store, dataDir, left);
    }

    [Fact]
    public async Task DeleteOlderThan_AcrossTheArchive_WholeBlocksGoTheOneAcrossTheCutoffIsRewritten()
    {
        var (store, dataDir) = await NewStoreAsync();
        var samples = await SeedAsync(store, 60);
        await store.ArchiveAsync(At.AddMinutes(55), blockSamples: 16, partial: true, None);

        // Samples 0–24 are older: block 1 (0–15) goes, block 2 (16–31) keeps 25–31.
        var result = await store.DeleteOlderThanAsync(At.AddMinutes(25), None);

        Assert.Equal(25, result.Samples);
        Assert.Equal(5, result.Feedback); // 0, 5, 10, 15, 20
        Assert.Equal(3, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM archive_blocks"));
        var left = await Stores.ReadAllAsync(dataDir);
        Assert.Equal(samples.Skip(25).Select(s => s.ContextHash), left.Select(s => s.ContextHash));
        await AssertStatsMatchSamplesAsync(store, dataDir, left);
        Assert.Equal(0, (await store.DeleteOlderThanAsync(At.AddMinutes(25), None)).Samples);
    }

    [Fact]
    public async Task Migrate_FromAnArchivedStore_CopiesEverySampleAndVerifies_ResumesMidArchive()
    {
        var (source, _) = await NewStoreAsync();
        await SeedAsync(source, 70);
        await source.ArchiveAsync(At.AddMinutes(60), blockSamples: 16, partial: true, None);
        var (destination, _) = await NewStoreAsync(new StorageOptions());
        using var cancel = new CancellationTokenSource();
        var batches = 0;
        var copy = new StoreCopy(source, destination, TimeProvider.System) { BatchSize = 9 };

        // Cancelled after two batches, inside the first block: the re-run goes on from the cursor.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => copy.RunAsync(new InlineProgress<StoreCopyProgress>(p =>
        {
            if (p.Phase == StoreCopyPhase.Samples && p.Done > 0 && ++batches == 2)
            {
                cancel.Cancel();
            }
        }), cancel.Token));
        Assert.Equal(18, (await destination.GetStatsAsync(None)).TotalSamples);
        var result = await new StoreCopy(source, destination, TimeProvider.System) { BatchSize = 9 }.RunAsync(null, None);

        Assert.True(result.Verified, string.Join("; ", result.Problems));
        Assert.Equal(52, result.Written);
        await MigrationTests.AssertSameStoreAsync(source, destination);
    }

    [Fact]
    public async Task Migrate_SourceArchivesBetweenTwoRuns_TheResumedRunFindsTheArchivedRowsByTheirIds()
    {
        var (source, _) = await NewStoreAsync();
        await SeedAsync(source, 70);
        var (destination, _) = await NewStoreAsync(new StorageOptions());
        using var cancel = new CancellationTokenSource();
        var batches = 0;
        var progress = new List<StoreCopyProgress>();

        // Two batches of rows copied, then the source archives every sample but the newest, the rows past the cursor included.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new StoreCopy(source, destination, TimeProvider.System) { BatchSize = 9 }.RunAsync(
            new InlineProgress<StoreCopyProgress>(p =>
            {
                if (p.Phase == StoreCopyPhase.Samples && p.Done > 0 && ++batches == 2)
                {
                    cancel.Cancel();
                }
            }), cancel.Token));
        Assert.Equal(69, await source.ArchiveAsync(At.AddDays(1), blockSamples: 16, partial: true, None));
        var result = await new StoreCopy(source, destination, TimeProvider.System) { BatchSize = 9 }.RunAsync(new InlineProgress<StoreCopyProgress>(progress.Add), None);

        Assert.True(result.Verified, string.Join("; ", result.Problems));
        Assert.Equal((52, 0), (result.Written, result.Duplicates));
        Assert.Equal((18, 70), (progress[0].Done, progress[0].Total)); // counted from the cursor, archived rows included
        await MigrationTests.AssertSameStoreAsync(source, destination);
    }

    private static string Json(TrainingSample? sample) => System.Text.Json.JsonSerializer.Serialize(sample);

    private static async Task<byte[]> FirstBlockAsync(string dataDir)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={StoreEvidence.DatabasePath(dataDir)};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT content FROM archive_blocks ORDER BY id LIMIT 1";
        return (byte[])(await command.ExecuteScalarAsync())!;
    }

    private static async Task AssertStatsMatchSamplesAsync(SqliteTrainingStore store, string dataDir, List<TrainingSample> samples)
    {
        var stats = await store.GetStatsAsync(None);
        Assert.Equal(samples.Count, stats.TotalSamples);
        Assert.Equal(samples.Sum(s => (long)s.Suggestions.Count), stats.TotalSuggestions);
        Assert.Equal(samples.GroupBy(s => s.Context.IssueType).ToDictionary(g => g.Key, g => (long)g.Count()), stats.ByIssueType);
        Assert.Equal(samples.GroupBy(s => s.Engine).ToDictionary(g => g.Key, g => (long)g.Count()), stats.ByEngine);
        Assert.Equal(await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM feedback"), stats.Feedback.Total);
    }
}
