using CommentFlow.Domain;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CommentFlow.Tests.Storage;

/// <summary>
/// The behaviour every <see cref="ITrainingStore"/> must have, run once per backend by the subclasses
/// (<see cref="SqliteStoreTests"/>, <see cref="PostgresStoreTests"/>). Each test gets a store of its own.
/// </summary>
public abstract class StoreContractTests
{
    /// <summary>Retention batches; both stores use the same size.</summary>
    private const int RetentionBatch = 1_000;

    private protected abstract Task<StoreUnderTest> NewAsync(StorageOptions options, PersonalDataMasker? masker = null, bool migrate = true);

    private protected Task<StoreUnderTest> NewAsync(int compressionThreshold = 100, PersonalDataMasker? masker = null) =>
        NewAsync(new StorageOptions { CompressionThreshold = compressionThreshold }, masker);

    private static CancellationToken None => CancellationToken.None;

    private static async Task<List<TrainingSample>> ReadAllAsync(ITrainingStore store)
    {
        var list = new List<TrainingSample>();
        await foreach (var s in store.ReadAllAsync(None))
        {
            list.Add(s);
        }
        return list;
    }

    /// <summary>The running totals equal what the stored samples add up to, whatever wrote or deleted them.</summary>
    private static async Task AssertStatsMatchSamplesAsync(StoreUnderTest t)
    {
        var samples = await ReadAllAsync(t.Store);
        var stats = await t.Store.GetStatsAsync(None);
        Assert.Equal(samples.Count, stats.TotalSamples);
        Assert.Equal(await t.ScalarAsync("SELECT COUNT(*) FROM samples"), stats.TotalSamples);
        Assert.Equal(samples.Sum(s => (long)s.Suggestions.Count), stats.TotalSuggestions);
        Assert.Equal(samples.Sum(s => (long)s.Context.Comments.Count), stats.TotalComments);

        static Dictionary<string, long> Count(IEnumerable<string> values) => values.GroupBy(v => v).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(Count(samples.Select(s => s.Context.IssueType)), stats.ByIssueType);
        Assert.Equal(Count(samples.Select(s => s.Context.Status)), stats.ByStatus);
        Assert.Equal(Count(samples.Select(s => s.Context.Priority)), stats.ByPriority);
        Assert.Equal(Count(samples.Select(s => s.Engine)), stats.ByEngine);
        Assert.Equal(Count(samples.Select(s => s.Model)), stats.ByModel);
        var shownByEngine = samples.GroupBy(s => s.Engine).Where(g => g.Sum(s => s.Suggestions.Count) > 0)
            .ToDictionary(g => g.Key, g => (long)g.Sum(s => s.Suggestions.Count));
        Assert.Equal(shownByEngine, stats.Feedback.ByEngine.Where(e => e.Value.Shown > 0).ToDictionary(e => e.Key, e => e.Value.Shown));
        var shownByType = Count(samples.SelectMany(s => s.Suggestions).Select(s => StatsDelta.ShownTypeOf(s.Type)));
        Assert.Equal(shownByType, stats.Feedback.ByType.Where(e => e.Value.Shown > 0).ToDictionary(e => e.Key, e => e.Value.Shown));
        Assert.Equal(await t.ScalarAsync("SELECT COUNT(*) FROM feedback"), stats.Feedback.Total);
    }

    private static SuggestionFeedback Feedback(TrainingSample sample, int position, string action, string agent = "ana",
        string? finalText = null, DateTimeOffset? at = null) => new()
    {
        ContextHash = sample.ContextHash,
        Position = position,
        Agent = agent,
        Action = action,
        FinalText = finalText,
        TicketKey = sample.Context.TicketKey,
        Engine = sample.Engine,
        Model = sample.Model,
        SuggestionType = sample.Suggestions[position].Type,
        CreatedAt = at ?? new DateTimeOffset(2026, 11, 24, 9, 30, 15, 123, TimeSpan.Zero),
    };

    private static PersonalDataMasker Masker() => new(Options.Create(new MaskingOptions()));

    [Fact]
    public async Task GetStats_EmptyStore_EveryFieldPresent()
    {
        var t = await NewAsync();
        var stats = await t.Store.GetStatsAsync(None);
        Assert.Equal(0, stats.TotalSamples);
        Assert.Equal(0, stats.AvgSuggestionsPerSample);
        Assert.Empty(stats.ByIssueType);
        Assert.False(stats.Compressed);
        Assert.Equal(stats.Created, stats.LastModified);
        Assert.Equal(0, stats.Feedback.Total);
        await t.Store.PingAsync(None);
    }

    [Fact]
    public async Task WriteAsync_DuplicateHashes_SkippedByConstraintAndCounted()
    {
        var t = await NewAsync();
        var a = Some.Sample();
        var b = Some.Sample();
        var first = await t.Store.WriteAsync([a, b, a], null, None);
        var second = await t.Store.WriteAsync([b with { Engine = "ollama" }], null, None);

        Assert.Equal(new WriteResult(2, 1), first);
        Assert.Equal(new WriteResult(0, 1), second);
        Assert.Equal(2, await t.ScalarAsync("SELECT COUNT(*) FROM samples"));
        var stats = await t.Store.GetStatsAsync(None);
        Assert.Equal(2, stats.TotalSamples);
        Assert.Equal(2, stats.ByEngine["rules"]);
        Assert.False(stats.ByEngine.ContainsKey("ollama"));
    }

    /// <summary>
    /// A repeat of what the store holds (the same ticket asked about again) is not masked and compressed for nothing: it
    /// is left unprepared and found stored under the writers' lock.
    /// </summary>
    [Fact]
    public async Task Prepare_RepeatsOfStoredOrEarlierSamples_LeftUnpreparedAndWrittenAsDuplicates()
    {
        var t = await NewAsync(compressionThreshold: 0);
        var (a, b, c) = (Some.Sample(), Some.Sample(), Some.Sample());
        Assert.Equal(new WriteResult(2, 0), await t.Store.WriteAsync([a, b], null, None));

        var batch = t.Store.Prepare([a, c, c, b]);

        Assert.Equal([true, false, true, true], batch.Prepared!.Payloads.Select(p => p is null));
        Assert.Equal(new WriteResult(1, 3), await t.Store.WriteAsync(batch, null, None));
        Assert.Equal(3, await t.ScalarAsync("SELECT COUNT(*) FROM samples"));
        Assert.Equal(new[] { a, b, c }.Select(s => s.Context.Description).Order(), (await ReadAllAsync(t.Store)).Select(s => s.Context.Description).Order());
        await AssertStatsMatchSamplesAsync(t);
    }

    /// <summary>
    /// The store forgets what it lately held only as a hint: a sample erased since is not a duplicate, and is masked,
    /// compressed and stored when it comes again, whatever the preparation left out.
    /// </summary>
    [Fact]
    public async Task WriteAsync_RepeatOfAnErasedSample_PreparedUnderTheLockStoredMaskedAndCounted()
    {
        var t = await NewAsync(compressionThreshold: 0, masker: Masker());
        var gone = Some.Sample(Some.Context(key: "GONE-9", summary: "Mail from ana.perez@example.com"));
        await t.Store.WriteAsync([gone, Some.Sample()], null, None);
        Assert.Equal(1, (await t.Store.ForgetTicketAsync("GONE-9", None)).Samples);
        var maskedBefore = (await t.Store.GetStatsAsync(None)).Masked.GetValueOrDefault("email");

        var batch = t.Store.Prepare([gone]);

        Assert.Null(Assert.Single(batch.Prepared!.Payloads)); // still taken for a repeat
        Assert.Equal(new WriteResult(1, 0), await t.Store.WriteAsync(batch, null, None));
        Assert.Null(Assert.Single(batch.Prepared.Payloads)); // the batch left as it was, should it be written again
        var stored = Assert.Single(await t.Store.FindRecentAsync("GONE-9", 10, None));
        Assert.Contains("<email>", stored.Context.Summary, StringComparison.Ordinal);
        Assert.Equal(0, await t.ScalarAsync("SELECT COUNT(*) FROM samples WHERE payload_encoding = 0"));
        Assert.Equal(maskedBefore + Masker().Mask(gone).Counts["email"], (await t.Store.GetStatsAsync(None)).Masked["email"]);
        await AssertStatsMatchSamplesAsync(t);
    }

    [Fact]
    public async Task GetStats_AfterWrites_MatchesCountsComputedFromSamples()
    {
        var t = await NewAsync();
        var samples = Enumerable.Range(0, 40).Select(i => Some.Sample(
            Some.Context(issueType: i % 3 == 0 ? "Incident" : "Request", status: i % 2 == 0 ? "Open" : "Closed",
                comments: Enumerable.Range(0, i % 4).Select(c => $"c{c}").ToList()), suggestions: 1 + i % 3)).ToList();
        await t.Store.WriteAsync(samples.Take(25).ToList(), null, None);
        await t.Store.WriteAsync(samples.Skip(20).ToList(), null, None);

        var stats = await t.Store.GetStatsAsync(None);
        Assert.Equal(40, stats.TotalSamples);
        Assert.Equal(Math.Round(samples.Average(s => s.Suggestions.Count), 2), stats.AvgSuggestionsPerSample);
        Assert.Equal(await t.ScalarAsync("SELECT COUNT(*) FROM samples WHERE issue_type = 'Request'"), stats.ByIssueType["Request"]);
        await AssertStatsMatchSamplesAsync(t);
    }

    [Fact]
    public async Task ReadAllAsync_ManySamplesCompressed_WriteOrderKeptAcrossReadBatches()
    {
        // More samples than the SQLite store decodes ahead in one batch, compressed, with feedback on some: every one comes
        // back once, in write order, with its own payload and feedback.
        var t = await NewAsync(compressionThreshold: 10);
        var samples = Enumerable.Range(0, 137).Select(i => Some.Sample(Some.Context(description: $"Description {i} " + new string('d', i * 7)))).ToList();
        foreach (var chunk in samples.Chunk(50))
        {
            await t.Store.WriteAsync(chunk, null, None);
        }
        Assert.False(await t.Store.WriteFeedbackAsync(Feedback(samples[3], 0, FeedbackActions.Accepted), None)); // false: new, not a replacement
        Assert.False(await t.Store.WriteFeedbackAsync(Feedback(samples[120], 1, FeedbackActions.Dismissed), None));

        var back = await ReadAllAsync(t.Store);

        Assert.Equal(samples.Select(s => s.ContextHash), back.Select(s => s.ContextHash));
        Assert.Equal(samples.Select(s => s.Context.Description), back.Select(s => s.Context.Description));
        Assert.Equal(samples.Select(s => s.Suggestions[2].Text), back.Select(s => s.Suggestions[2].Text));
        Assert.Equal([3, 120], back.Select((s, i) => (s, i)).Where(x => x.s.Feedback.Count > 0).Select(x => x.i));
    }

    [Fact]
    public async Task ReadAllAsync_CallerStopsEarly_StoreStaysUsable()
    {
        var t = await NewAsync(compressionThreshold: 10);
        await t.Store.WriteAsync(Enumerable.Range(0, 60).Select(_ => Some.Sample()).ToList(), null, None);

        var read = 0;
        await foreach (var _ in t.Store.ReadAllAsync(None))
        {
            if (++read == 5)
            {
                break;
            }
        }

        Assert.Equal(5, read);
        Assert.Equal(new WriteResult(1, 0), await t.Store.WriteAsync([Some.Sample()], null, None));
        Assert.Equal(61, (await ReadAllAsync(t.Store)).Count);
    }

    [Fact]
    public async Task ReadAllAsync_OddText_RoundTripsEveryFieldByteExact()
    {
        var t = await NewAsync(compressionThreshold: 3);
        // Emoji (outside the BMP), right-to-left text with its marks, control characters, NUL, quotes, a lone
        // combining mark, and the separator of the context hash.
        var odd = Some.Sample(Some.Context(
            summary: "Ünïcödé 🚀👩🏽‍💻 \u0001\u001f שלום עולם \u200F مرحبا \u202Eevil\u202C",
            description: "línea1\r\nlínea2\t\"q\" \\ \u0000 end \u0301",
            comments: ["a|b", "", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", new string('x', 5000)],
            issueType: "Ошибка", status: "مفتوح", priority: "高") with { TicketKey = null, Language = "he", Queue = "תמיכה" });
        var plain = Some.Sample();
        await t.Store.WriteAsync([odd], null, None);
        await t.Store.WriteAsync([plain], null, None);
        var beforeCompression = (await ReadAllAsync(t.Store))[0];
        await t.Store.WriteAsync([Some.Sample()], null, None); // crosses the threshold: every payload is now GZip
        Assert.True((await t.Store.GetStatsAsync(None)).Compressed);

        var back = await ReadAllAsync(t.Store);
        Assert.Equal(3, back.Count);
        foreach (var read in new[] { beforeCompression, back[0], (await t.Store.FindSampleAsync(odd.ContextHash, None))! })
        {
            Assert.Equal(odd.ContextHash, read.ContextHash);
            Assert.Equal(odd.Context, read.Context with { Comments = odd.Context.Comments });
            Assert.Equal(odd.Context.Comments, read.Context.Comments);
            Assert.Equal(odd.Context.Hash(), read.Context.Hash());
            Assert.Equal(odd.Suggestions, read.Suggestions);
            Assert.Equal(odd.CreatedAt, read.CreatedAt);
            Assert.Equal(odd.LatencyMs, read.LatencyMs);
            Assert.Equal((odd.Model, odd.Engine), (read.Model, read.Engine));
        }
        Assert.Equal(plain.Context.Hash(), back[1].Context.Hash());
    }

    [Fact]
    public async Task WriteAsync_NulCharacterInShortFields_BatchStoredTextExactInPayloadAndErasable()
    {
        // PostgreSQL text cannot hold U+0000: its store writes U+FFFD in the columns, and must never fail the batch.
        var t = await NewAsync();
        var nul = Some.Sample(Some.Context(summary: "nul \u0000 inside", issueType: "Bug\u0000x", status: "Open\u0000", key: "NUL\u00001"));
        var normal = Some.Sample();
        Assert.Equal(new WriteResult(2, 0), await t.Store.WriteAsync([nul, normal], null, None));
        Assert.False(await t.Store.WriteFeedbackAsync(Feedback(nul, 0, FeedbackActions.Edited, agent: "a\u0000b", finalText: "texto \u0000 final"), None));

        var read = (await ReadAllAsync(t.Store)).Single(s => s.ContextHash == nul.ContextHash);
        Assert.Equal(nul.Context.Summary, read.Context.Summary); // payloads keep the exact text on both
        Assert.Equal(nul.Context.IssueType, read.Context.IssueType.Replace('\uFFFD', '\0'));
        Assert.Single(read.Feedback);
        await AssertStatsMatchSamplesAsync(t);

        var erased = await t.Store.ForgetTicketAsync(nul.Context.TicketKey!, None);
        Assert.Equal((1, 1), (erased.Samples, erased.Feedback));
        await AssertStatsMatchSamplesAsync(t);
    }

    [Fact]
    public async Task WriteAsync_ThresholdReached_CompressesNewAndExistingPayloads()
    {
        var t = await NewAsync(compressionThreshold: 10);
        await t.Store.WriteAsync(Enumerable.Range(0, 6).Select(_ => Some.Sample()).ToList(), null, None);
        Assert.False((await t.Store.GetStatsAsync(None)).Compressed);
        Assert.Equal(6, await t.ScalarAsync("SELECT COUNT(*) FROM samples WHERE payload_encoding = 0"));

        await t.Store.WriteAsync(Enumerable.Range(0, 4).Select(_ => Some.Sample()).ToList(), null, None);
        await t.Store.WriteAsync([Some.Sample()], null, None);

        Assert.True((await t.Store.GetStatsAsync(None)).Compressed);
        Assert.Equal(0, await t.ScalarAsync("SELECT COUNT(*) FROM samples WHERE payload_encoding = 0"));
        Assert.Equal(11, await t.CountGzipPayloadsAsync());
        Assert.Equal(11, (await ReadAllAsync(t.Store)).Count);
    }

    /// <summary>What a sample reads back as, field by field (records compare their lists by reference).</summary>
    private static string Shape(TrainingSample s) =>
        $"{s.ContextHash}|{s.Context.Summary}|{s.Context.Description}|{string.Join("/", s.Context.Comments)}|" +
        string.Join("/", s.Suggestions.Select(x => $"{x.Text}:{x.Type}:{x.Confidence}"));

    [Fact]
    public async Task WriteAsync_DictionaryFromReached_TrainsOneConvertsEveryGzipPayloadAndAllReadTheSame()
    {
        var t = await NewAsync(new StorageOptions { CompressionThreshold = 0, DictionaryFrom = 50 });
        var store = (DbTrainingStore)t.Store;
        var openedBefore = t.OpenAnother(); // knows no dictionary: reads the new payloads by loading theirs on the way
        await openedBefore.MigrateAsync(None);

        List<TrainingSample> first = [.. Enumerable.Range(0, 40).Select(_ => Some.Sample())];
        await t.Store.WriteAsync(first, null, None);
        await store.DictionaryWork;
        Assert.Equal(0, await t.ScalarAsync("SELECT COUNT(*) FROM payload_dictionaries"));
        Assert.Equal(40, await t.CountGzipPayloadsAsync());

        List<TrainingSample> second = [.. Enumerable.Range(0, 20).Select(_ => Some.Sample())];
        await t.Store.WriteAsync(second, null, None); // 60 held: a dictionary is trained and the GZip payloads converted
        await store.DictionaryWork;
        Assert.Equal(1, await t.ScalarAsync("SELECT COUNT(*) FROM payload_dictionaries"));
        Assert.Equal(0, await t.CountGzipPayloadsAsync());
        List<TrainingSample> third = [.. Enumerable.Range(0, 5).Select(_ => Some.Sample())];
        await t.Store.WriteAsync(third, null, None); // compressed with it from the start

        var payloads = await t.PayloadsAsync(PayloadCodec.Zstd);
        Assert.Equal(65, payloads.Count);
        Assert.All(payloads, p => Assert.Equal(PayloadCodec.FirstDictionaryId, PayloadCodec.DictionaryIdOf(p)));
        List<string> written = [.. first.Concat(second).Concat(third).Select(Shape)];
        Assert.Equal(written, (await ReadAllAsync(t.Store)).Select(Shape));
        Assert.Equal(written, (await ReadAllAsync(openedBefore)).Select(Shape));
        Assert.Equal(Shape(second[3]), Shape((await openedBefore.FindSampleAsync(second[3].ContextHash, None))!));
        await AssertStatsMatchSamplesAsync(t);
    }

    [Fact]
    public async Task TrainDictionaryAsync_ANewerOne_NewPayloadsNameItAndOlderOnesKeepReading()
    {
        var t = await NewAsync(new StorageOptions { CompressionThreshold = 0, DictionaryFrom = 30 });
        var store = (DbTrainingStore)t.Store;
        List<TrainingSample> first = [.. Enumerable.Range(0, 30).Select(_ => Some.Sample())];
        await t.Store.WriteAsync(first, null, None);
        await store.DictionaryWork;

        var newer = await store.TrainDictionaryAsync(None);
        Assert.Equal(PayloadCodec.FirstDictionaryId + 1, newer!.Id);
        List<TrainingSample> second = [.. Enumerable.Range(0, 10).Select(_ => Some.Sample())];
        await t.Store.WriteAsync(second, null, None);

        var named = (await t.PayloadsAsync(PayloadCodec.Zstd)).Select(p => PayloadCodec.DictionaryIdOf(p)).ToList();
        Assert.Equal([.. Enumerable.Repeat(PayloadCodec.FirstDictionaryId, 30), .. Enumerable.Repeat(newer.Id, 10)], named);
        var reopened = t.OpenAnother();
        await reopened.MigrateAsync(None);
        Assert.Equal([.. first.Concat(second).Select(Shape)], (await ReadAllAsync(reopened)).Select(Shape));
    }

    [Fact]
    public async Task TrainDictionaryAsync_TwoInstancesAtOnce_OneDictionaryWhichBothUse()
    {
        var t = await NewAsync(new StorageOptions { CompressionThreshold = 0, DictionaryFrom = 0 });
        await t.Store.WriteAsync([.. Enumerable.Range(0, 30).Select(_ => Some.Sample())], null, None);
        // Three instances opened before any dictionary: none knows of one.
        var instances = new List<DbTrainingStore> { (DbTrainingStore)t.Store };
        for (var i = 0; i < 2; i++)
        {
            var opened = t.OpenAnother();
            await opened.MigrateAsync(None);
            instances.Add((DbTrainingStore)opened);
        }

        // Two at once (whichever commits second finds the id taken), then the third after them, knowing of neither.
        var trained = (await Task.WhenAll(instances[0].TrainDictionaryAsync(None), instances[1].TrainDictionaryAsync(None))).ToList();
        trained.Add(await instances[2].TrainDictionaryAsync(None));
        Assert.Equal(1, await t.ScalarAsync("SELECT COUNT(*) FROM payload_dictionaries"));
        Assert.All(trained, d => Assert.Equal(PayloadCodec.FirstDictionaryId, d!.Id));
        Assert.All(trained, d => Assert.Equal(trained[0]!.Content, d!.Content));
        Assert.All(instances, s => Assert.Equal(PayloadCodec.FirstDictionaryId, s.Codec.Current!.Id));
    }

    [Fact]
    public async Task WriteAsync_BatchPreparedBeforeTheDictionaryCommittedAfterIt_ItsGzipPayloadsConvertedToo()
    {
        var t = await NewAsync(new StorageOptions { CompressionThreshold = 0, DictionaryFrom = 30 });
        var store = (DbTrainingStore)t.Store;
        await t.Store.WriteAsync([.. Enumerable.Range(0, 20).Select(_ => Some.Sample())], null, None);
        var late = store.Prepare([.. Enumerable.Range(0, 10).Select(_ => Some.Sample())]); // GZip: no dictionary yet
        await t.Store.WriteAsync([.. Enumerable.Range(0, 15).Select(_ => Some.Sample())], null, None);
        await store.DictionaryWork;
        Assert.Equal(0, await t.CountGzipPayloadsAsync());

        await store.WriteAsync(late, null, None);
        await store.DictionaryWork;

        Assert.Equal(0, await t.CountGzipPayloadsAsync());
        Assert.Equal(45, (await t.PayloadsAsync(PayloadCodec.Zstd)).Count);
        Assert.Equal(45, (await ReadAllAsync(t.Store)).Count);
    }

    /// <summary>
    /// Holds the store's next dictionary training before it starts: <c>Started</c> completes once it is held, and the
    /// training goes on (or, with <paramref name="fail"/>, fails) when <c>Release</c> is set.
    /// </summary>
    private static (Task Started, TaskCompletionSource Release) HoldTraining(DbTrainingStore store, bool fail = false)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.BeforeTraining = async () =>
        {
            started.TrySetResult();
            await release.Task;
            if (fail)
            {
                throw new InvalidOperationException("training failed");
            }
        };
        return (started.Task, release);
    }

    /// <summary>
    /// While the first dictionary trains, new payloads are stored plain (the conversion re-encodes them anyway: GZip would
    /// be work done twice), read like any other, and converted with the GZip ones once it is there.
    /// </summary>
    [Fact]
    public async Task WriteAsync_WhileTheFirstDictionaryTrains_PayloadsStoredPlainThenConverted()
    {
        var t = await NewAsync(new StorageOptions { CompressionThreshold = 0, DictionaryFrom = 30 });
        var store = (DbTrainingStore)t.Store;
        var (training, release) = HoldTraining(store);
        List<TrainingSample> first = [.. Enumerable.Range(0, 30).Select(_ => Some.Sample())];
        await t.Store.WriteAsync(first, null, None); // 30 held: the dictionary work starts
        await training;

        List<TrainingSample> meanwhile = [.. Enumerable.Range(0, 10).Select(_ => Some.Sample())];
        await t.Store.WriteAsync(meanwhile, null, None);
        Assert.Equal(10, await t.ScalarAsync($"SELECT COUNT(*) FROM samples WHERE payload_encoding = {PayloadCodec.Plain}"));
        Assert.Equal(30, await t.CountGzipPayloadsAsync());
        Assert.True((await t.Store.GetStatsAsync(None)).Compressed);
        Assert.Equal([.. first.Concat(meanwhile).Select(Shape)], (await ReadAllAsync(t.Store)).Select(Shape));

        release.SetResult();
        await store.DictionaryWork;

        Assert.Equal(40, (await t.PayloadsAsync(PayloadCodec.Zstd)).Count);
        Assert.Equal(0, await t.ScalarAsync($"SELECT COUNT(*) FROM samples WHERE payload_encoding <> {PayloadCodec.Zstd}"));
        Assert.Equal([.. first.Concat(meanwhile).Select(Shape)], (await ReadAllAsync(t.Store)).Select(Shape));
        await AssertStatsMatchSamplesAsync(t);
    }

    /// <summary>A training that fails leaves what it stored plain readable; writes go back to GZip, and the retry converts both.</summary>
    [Fact]
    public async Task WriteAsync_FirstDictionaryTrainingFails_PlainPayloadsStayReadableWritesGoBackToGzip()
    {
        var t = await NewAsync(new StorageOptions { CompressionThreshold = 0, DictionaryFrom = 20 });
        var store = (DbTrainingStore)t.Store;
        var (training, release) = HoldTraining(store, fail: true);
        List<TrainingSample> written = [.. Enumerable.Range(0, 20).Select(_ => Some.Sample())];
        await t.Store.WriteAsync(written, null, None);
        await training;
        List<TrainingSample> meanwhile = [.. Enumerable.Range(0, 5).Select(_ => Some.Sample())];
        await t.Store.WriteAsync(meanwhile, null, None);
        release.SetResult();
        await store.DictionaryWork; // failed, logged

        List<TrainingSample> after = [.. Enumerable.Range(0, 5).Select(_ => Some.Sample())];
        await t.Store.WriteAsync(after, null, None);
        Assert.Equal(5, await t.ScalarAsync($"SELECT COUNT(*) FROM samples WHERE payload_encoding = {PayloadCodec.Plain}"));
        Assert.Equal(25, await t.CountGzipPayloadsAsync());
        Assert.Equal([.. written.Concat(meanwhile).Concat(after).Select(Shape)], (await ReadAllAsync(t.Store)).Select(Shape));

        store.BeforeTraining = null;
        await t.Store.WriteAsync([.. Enumerable.Range(0, 15).Select(_ => Some.Sample())], null, None); // 45 held: tried again
        await store.DictionaryWork;
        Assert.Equal(1, await t.ScalarAsync("SELECT COUNT(*) FROM payload_dictionaries"));
        Assert.Equal(0, await t.ScalarAsync($"SELECT COUNT(*) FROM samples WHERE payload_encoding <> {PayloadCodec.Zstd}"));
        await AssertStatsMatchSamplesAsync(t);
    }

    [Fact]
    public async Task WriteAsync_DictionaryWorkFails_WritesGoOnInGzipAndItIsTriedAgainDictionaryFromSamplesLater()
    {
        var t = await NewAsync(new StorageOptions { CompressionThreshold = 0, DictionaryFrom = 20 });
        var store = (DbTrainingStore)t.Store;
        await t.ExecuteAsync("ALTER TABLE payload_dictionaries RENAME TO payload_dictionaries_away"); // the work's SQL fails

        List<TrainingSample> written = [.. Enumerable.Range(0, 25).Select(_ => Some.Sample())];
        await t.Store.WriteAsync(written, null, None);
        await store.DictionaryWork; // failed, logged
        await t.ExecuteAsync("ALTER TABLE payload_dictionaries_away RENAME TO payload_dictionaries");
        List<TrainingSample> more = [.. Enumerable.Range(0, 10).Select(_ => Some.Sample())];
        Assert.Equal(new WriteResult(10, 0), await t.Store.WriteAsync(more, null, None)); // 35 held: not tried again before 45
        await store.DictionaryWork;
        Assert.Equal(0, await t.ScalarAsync("SELECT COUNT(*) FROM payload_dictionaries"));
        Assert.Equal(35, await t.CountGzipPayloadsAsync());

        List<TrainingSample> last = [.. Enumerable.Range(0, 10).Select(_ => Some.Sample())];
        await t.Store.WriteAsync(last, null, None); // 45 held: tried again
        await store.DictionaryWork;

        Assert.Equal(1, await t.ScalarAsync("SELECT COUNT(*) FROM payload_dictionaries"));
        Assert.Equal(0, await t.CountGzipPayloadsAsync());
        Assert.Equal([.. written.Concat(more).Concat(last).Select(Shape)], (await ReadAllAsync(t.Store)).Select(Shape));
        await AssertStatsMatchSamplesAsync(t);
    }

    [Fact]
    public async Task WriteAsync_DictionaryFromZero_KeepsGzip()
    {
        var t = await NewAsync(new StorageOptions { CompressionThreshold = 0, DictionaryFrom = 0 });
        await t.Store.WriteAsync([.. Enumerable.Range(0, 40).Select(_ => Some.Sample())], null, None);
        await ((DbTrainingStore)t.Store).DictionaryWork;
        Assert.Equal(0, await t.ScalarAsync("SELECT COUNT(*) FROM payload_dictionaries"));
        Assert.Equal(40, await t.CountGzipPayloadsAsync());
    }

    /// <summary>
    /// The capture writer prepares a batch before writing it and writes the same prepared batch again after a failed
    /// attempt: writing (here compressing inside the transaction, as the threshold is crossed) must leave it unchanged.
    /// </summary>
    [Fact]
    public async Task WriteAsync_PreparedBatchCompressedInTheTransaction_PreparedBatchUnchangedAndReusable()
    {
        var t = await NewAsync(compressionThreshold: 3);
        var batch = Enumerable.Range(0, 5).Select(_ => Some.Sample()).ToList();
        var prepared = t.Store.Prepare(batch);
        Assert.NotNull(prepared.Prepared); // a real store masks and encodes up front
        Assert.All(prepared.Prepared!.Payloads, p => Assert.Equal((byte)'{', p![0])); // compression not known on yet: plain JSON

        Assert.Equal(new WriteResult(5, 0), await t.Store.WriteAsync(prepared, null, None));
        Assert.All(prepared.Prepared.Payloads, p => Assert.Equal((byte)'{', p![0]));
        Assert.Equal(5, await t.CountGzipPayloadsAsync());

        // Written again (as a retry would, here into a second store): read back exactly, not compressed twice.
        var other = await NewAsync(compressionThreshold: 3);
        Assert.Equal(new WriteResult(5, 0), await other.Store.WriteAsync(prepared, null, None));
        var read = await ReadAllAsync(other.Store);
        Assert.Equal(batch.Select(s => s.Context.Description).Order(), read.Select(s => s.Context.Description).Order());
        Assert.Equal(batch.Select(s => s.Suggestions[0].Text).Order(), read.Select(s => s.Suggestions[0].Text).Order());
    }

    [Fact]
    public async Task WriteAsync_SecondInstanceCrossesThreshold_FirstInstanceStillReadsEverything()
    {
        var t = await NewAsync(compressionThreshold: 5);
        var other = t.OpenAnother();
        await t.Store.WriteAsync(Enumerable.Range(0, 3).Select(_ => Some.Sample()).ToList(), null, None);
        await other.WriteAsync(Enumerable.Range(0, 3).Select(_ => Some.Sample()).ToList(), null, None); // this one switches compression on
        await t.Store.WriteAsync([Some.Sample()], null, None); // its own flag is stale: the store's says compressed

        Assert.Equal(0, await t.ScalarAsync("SELECT COUNT(*) FROM samples WHERE payload_encoding = 0"));
        Assert.Equal(7, await t.CountGzipPayloadsAsync());
        Assert.Equal(7, (await ReadAllAsync(t.Store)).Count);
    }

    [Fact]
    public async Task MigrateAsync_RunTwice_AppliesOnceAndKeepsData()
    {
        var t = await NewAsync();
        await t.Store.WriteAsync([Some.Sample()], null, None);
        var applied = await t.ScalarAsync("SELECT COUNT(*) FROM schema_migrations");
        await t.Store.MigrateAsync(None);
        await t.OpenAnother().MigrateAsync(None);
        Assert.Equal(8, applied); // 0001_initial … 0007_drop_unread_indexes, 0008_archive
        Assert.Equal(applied, await t.ScalarAsync("SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal(1, (await t.Store.GetStatsAsync(None)).TotalSamples);
    }

    [Fact]
    public async Task MigrateAsync_SamplesKeepTheIndexesTheStoreReads()
    {
        var t = await NewAsync();
        var indexes = await t.IndexesAsync("samples");

        // Erasure by ticket, the newest first and retention by time, the GZip conversion, and the unique hash.
        Assert.Contains("ix_samples_ticket_key", indexes);
        Assert.Contains("ix_samples_created_at", indexes);
        Assert.Contains("ix_samples_plain_payload", indexes);
        Assert.Contains(indexes, i => i is "ux_samples_context_hash" or "sqlite_autoindex_samples_1");
        // Nothing reads samples by these; each cost every captured sample an index insert (0007).
        Assert.DoesNotContain("ix_samples_issue_type", indexes);
        Assert.DoesNotContain("ix_samples_status", indexes);
        Assert.DoesNotContain("ix_samples_language", indexes);
    }

    [Fact]
    public async Task MigrateAsync_SeveralInstancesAtOnceOnAnEmptyDatabase_EachMigrationAppliedOnce()
    {
        var t = await NewAsync(new StorageOptions(), migrate: false);
        var instances = Enumerable.Range(0, 4).Select(_ => t.OpenAnother()).ToList();
        await Task.WhenAll(instances.Select(i => Task.Run(() => i.MigrateAsync(None))));

        Assert.Equal(8, await t.ScalarAsync("SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal(3, await t.ScalarAsync("SELECT COUNT(*) FROM store_meta"));
        await instances[0].WriteAsync([Some.Sample()], null, None);
        Assert.Equal(1, (await instances[3].GetStatsAsync(None)).TotalSamples);
    }

    [Fact]
    public async Task MigrateAsync_FeedbackMigrationOnOlderStore_BackfillsShownCountsFromSamples()
    {
        var t = await NewAsync(compressionThreshold: 3); // some payloads GZip, some plain
        var samples = new[]
        {
            Some.Sample(suggestions: 1), Some.Sample(suggestions: 3), Some.Sample(suggestions: 2, engine: "ollama"),
            Some.Sample(suggestions: 3, engine: "ollama"), Some.Sample(suggestions: 0),
        };
        await t.Store.WriteAsync(samples[..2], null, None);
        await t.Store.WriteAsync(samples[2..], null, None);
        var liveStats = await t.Store.GetStatsAsync(None);
        var live = liveStats.Feedback;

        // Turn the database into what a store before 0003 looked like (no feedback, no shown counts, no shards), then migrate it again.
        await t.ExecuteAsync("CREATE TABLE stats_totals (id integer PRIMARY KEY, samples bigint NOT NULL, suggestions bigint NOT NULL, comments bigint NOT NULL)");
        await t.ExecuteAsync("INSERT INTO stats_totals SELECT 1, SUM(samples), SUM(suggestions), SUM(comments) FROM stats_shards");
        await t.ExecuteAsync("CREATE TABLE stats_counts (dimension text NOT NULL, value text NOT NULL, count bigint NOT NULL, PRIMARY KEY (dimension, value))");
        await t.ExecuteAsync("INSERT INTO stats_counts SELECT dimension, value, SUM(count) FROM stats_shard_counts WHERE dimension NOT LIKE 'shown_%' GROUP BY dimension, value");
        await t.ExecuteAsync("DROP TABLE stats_shards");
        await t.ExecuteAsync("DROP TABLE stats_shard_counts");
        await t.ExecuteAsync("DROP TABLE feedback");
        await t.ExecuteAsync("DELETE FROM schema_migrations WHERE version IN (3, 5)");
        Assert.Equal(0, await t.ScalarAsync("SELECT COUNT(*) FROM stats_counts WHERE dimension LIKE 'shown_%'"));
        await t.Store.MigrateAsync(None);

        var migrated = await t.Store.GetStatsAsync(None);
        // 0005 moved the totals and counts into shard 0: every figure as before.
        Assert.Equal(StoreCopy.StatsLines(liveStats), StoreCopy.StatsLines(migrated));
        var backfilled = migrated.Feedback;
        Assert.Equal(live.ByEngine, backfilled.ByEngine);
        Assert.Equal(live.ByType, backfilled.ByType);
        Assert.Equal(live.ByModel, backfilled.ByModel);
        // By hand: rules 1 + 3 (+ 0), ollama 2 + 3; types cycle diagnostic, action, resolution.
        Assert.Equal(4, backfilled.ByEngine["rules"].Shown);
        Assert.Equal(5, backfilled.ByEngine["ollama"].Shown);
        Assert.Equal(4, backfilled.ByType["diagnostic"].Shown);
        Assert.Equal(3, backfilled.ByType["action"].Shown);
        Assert.Equal(2, backfilled.ByType["resolution"].Shown);
        Assert.Equal(5, backfilled.ByModel["llama3.2"].Shown);
    }

    [Fact]
    public async Task WriteAsync_ConcurrentWritersOfTwoInstancesSameHashesInOtherOrders_EachStoredOnce()
    {
        var t = await NewAsync();
        var instances = new[] { t.Store, t.OpenAnother() };
        var samples = Enumerable.Range(0, 200).Select(i => Some.Sample(suggestions: 1 + i % 3)).ToList();
        // Overlapping batches in opposite orders: with row locks taken in batch order, two of them would deadlock.
        var batches = new[]
        {
            samples, Enumerable.Reverse(samples).ToList(), samples.Where((_, i) => i % 2 == 0).ToList(), Enumerable.Reverse(samples).Where((_, i) => i % 3 == 0).ToList(),
        };
        var results = await Task.WhenAll(batches.Select((batch, i) => Task.Run(async () =>
        {
            var written = new WriteResult();
            foreach (var chunk in batch.Chunk(50))
            {
                var r = await instances[i % 2].WriteAsync(chunk, null, None);
                written = new WriteResult(written.Written + r.Written, written.Duplicates + r.Duplicates);
            }
            return written;
        })));

        Assert.Equal(200, results.Sum(r => r.Written));
        Assert.Equal(batches.Sum(b => b.Count) - 200, results.Sum(r => r.Duplicates));
        Assert.Equal(200, await t.ScalarAsync("SELECT COUNT(*) FROM samples"));
        Assert.Equal(200, (await instances[1].GetStatsAsync(None)).TotalSamples);
        await AssertStatsMatchSamplesAsync(t);
    }

    [Fact]
    public async Task WriteAsync_WithMasker_PersonalDataNeverStoredAndCounted()
    {
        var t = await NewAsync(masker: Masker());
        var sample = Some.Sample(Some.Context(summary: "Mail from ana.perez@example.com", description: "Call +34 612 345 678 from 10.1.2.3"));
        await t.Store.WriteAsync([sample], null, None);

        var stored = Assert.Single(await ReadAllAsync(t.Store));
        Assert.Equal(sample.ContextHash, stored.ContextHash); // hashed on the original text
        Assert.DoesNotContain("ana.perez@example.com", stored.Context.Summary, StringComparison.Ordinal);
        Assert.Contains("<email>", stored.Context.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("10.1.2.3", stored.Context.Description, StringComparison.Ordinal);
        var masked = (await t.Store.GetStatsAsync(None)).Masked;
        Assert.True(masked.GetValueOrDefault("email") >= 1);
        Assert.True(masked.GetValueOrDefault("ip") >= 1);
    }

    [Fact]
    public async Task WriteFeedbackAsync_SameAgentAgain_ReplacesAndAcceptanceCountsOncePerAgent()
    {
        var t = await NewAsync(masker: Masker());
        var sample = Some.Sample(suggestions: 3);
        await t.Store.WriteAsync([sample], null, None);

        Assert.False(await t.Store.WriteFeedbackAsync(Feedback(sample, 0, FeedbackActions.Dismissed), None));
        Assert.True(await t.Store.WriteFeedbackAsync(Feedback(sample, 0, FeedbackActions.Accepted), None));
        Assert.False(await t.Store.WriteFeedbackAsync(Feedback(sample, 0, FeedbackActions.Accepted, agent: "luis"), None));
        Assert.False(await t.Store.WriteFeedbackAsync(
            Feedback(sample, 1, FeedbackActions.Edited, finalText: "Escribe a soporte@example.com 🙂"), None));

        var stats = (await t.Store.GetStatsAsync(None)).Feedback;
        Assert.Equal(3, stats.Total);
        Assert.Equal(2, stats.ByAction[FeedbackActions.Accepted]);
        Assert.Equal(1, stats.ByAction[FeedbackActions.Edited]);
        Assert.Equal(0, stats.ByAction[FeedbackActions.Dismissed]);
        Assert.Equal(new AcceptanceCounts(3, 2, 1, 0), stats.ByEngine["rules"]);
        Assert.Equal(1.0, stats.ByEngine["rules"].AcceptanceRate);
        Assert.Equal(1, (await t.Store.GetStatsAsync(None)).Masked["email"]);

        var read = Assert.Single(await ReadAllAsync(t.Store));
        Assert.Equal(3, read.Feedback.Count);
        var edited = Assert.Single(read.Feedback, f => f.Action == FeedbackActions.Edited);
        Assert.Equal("Escribe a <email> 🙂", edited.FinalText);
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 9, 30, 15, 123, TimeSpan.Zero), edited.CreatedAt);
        Assert.Equal(sample.Context.TicketKey, edited.TicketKey);
    }

    [Fact]
    public async Task FindRecentAsync_SeveralSamples_NewestFirstByCreationUpToTheLimit()
    {
        var t = await NewAsync();
        var day = new DateTimeOffset(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
        var ticket = Enumerable.Range(0, 3).Select(i => Some.Sample(Some.Context(key: "FIND-1", summary: $"Step {i}"), at: day.AddMinutes(i))).ToList();
        var keyless = Some.Sample(Some.Context(summary: "Asked without a key") with { TicketKey = null }, at: day.AddMinutes(10));
        var imported = Some.Sample(Some.Context(key: "OLD-1", summary: "History imported last"), at: day.AddYears(-1)); // written last, created long ago
        await t.Store.WriteAsync([.. ticket, keyless, imported], null, None);

        var found = await t.Store.FindRecentAsync("FIND-1", 2, None);
        Assert.Equal([ticket[2].ContextHash, ticket[1].ContextHash], found.Select(s => s.ContextHash));
        var any = await t.Store.FindRecentAsync(null, 3, None);
        Assert.Equal([keyless.ContextHash, ticket[2].ContextHash, ticket[1].ContextHash], any.Select(s => s.ContextHash));
        Assert.Equal(keyless.Suggestions.Select(s => s.Text), any[0].Suggestions.Select(s => s.Text));
        Assert.Null(await t.Store.FindSampleAsync("0123456789abcdef0123456789abcdef", None));
        Assert.Empty(await t.Store.FindRecentAsync("NONE-1", 5, None));
    }

    [Fact]
    public async Task ListSamplesAsync_PagesAndSearch_NewestFirstWithFeedbackAndTotals()
    {
        var t = await NewAsync(compressionThreshold: 0); // payloads compressed: the search must not need them
        var day = new DateTimeOffset(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
        // Written out of time order: the list follows creation time, not insertion.
        var samples = Enumerable.Range(0, 7).Select(i => Some.Sample(Some.Context(key: i % 2 == 0 ? $"WEB-{i}" : $"OPS-{i}"), at: day.AddHours(i))).ToList();
        samples.Add(Some.Sample(Some.Context(key: "web_100%"), at: day.AddHours(-1)));
        await t.Store.WriteAsync([.. samples.AsEnumerable().Reverse()], null, None);
        await t.Store.WriteFeedbackAsync(Feedback(samples[6], 1, FeedbackActions.Edited, finalText: "Done differently"), None);
        await t.Store.WriteFeedbackAsync(Feedback(samples[0], 0, FeedbackActions.Accepted), None);

        var first = await t.Store.ListSamplesAsync(1, 3, null, None);
        Assert.Equal(8, first.Total);
        Assert.Equal([samples[6].ContextHash, samples[5].ContextHash, samples[4].ContextHash], first.Samples.Select(s => s.ContextHash));
        var edited = Assert.Single(first.Samples[0].Feedback);
        Assert.Equal((1, FeedbackActions.Edited, "Done differently"), (edited.Position, edited.Action, edited.FinalText));
        Assert.Empty(first.Samples[1].Feedback);
        Assert.Equal(samples[6].Context.Summary, first.Samples[0].Context.Summary); // payload decoded

        var last = await t.Store.ListSamplesAsync(3, 3, "", None);
        Assert.Equal([samples[0].ContextHash, samples[7].ContextHash], last.Samples.Select(s => s.ContextHash));
        Assert.Equal(FeedbackActions.Accepted, Assert.Single(last.Samples[0].Feedback).Action);
        Assert.Empty((await t.Store.ListSamplesAsync(4, 3, null, None)).Samples);

        // Any case, anywhere in the key; % and _ are literal characters, not wildcards.
        var web = await t.Store.ListSamplesAsync(1, 10, "web-", None);
        Assert.Equal(4, web.Total);
        Assert.Equal([6, 4, 2, 0], web.Samples.Select(s => samples.IndexOf(samples.First(x => x.ContextHash == s.ContextHash))));
        Assert.Equal(samples[7].ContextHash, Assert.Single((await t.Store.ListSamplesAsync(1, 10, "0%", None)).Samples).ContextHash);
        Assert.Equal(samples[7].ContextHash, Assert.Single((await t.Store.ListSamplesAsync(1, 10, "WEB_", None)).Samples).ContextHash);
        // The start of a context hash finds its sample.
        var byHash = await t.Store.ListSamplesAsync(1, 10, samples[3].ContextHash[..10].ToUpperInvariant(), None);
        Assert.Equal(samples[3].ContextHash, Assert.Single(byHash.Samples).ContextHash);
        Assert.Equal(0, (await t.Store.ListSamplesAsync(1, 10, "no such ticket", None)).Total);
    }

    [Fact]
    public async Task CountSamplesPerDayAsync_SamplesOnSeveralDays_CountsByUtcDayOldestFirst()
    {
        var t = await NewAsync();
        Assert.Empty(await t.Store.CountSamplesPerDayAsync(None));
        var day = new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);
        DateTimeOffset[] times =
        [
            day.AddDays(2).AddHours(23).AddMinutes(59), day.AddHours(0.5), day.AddHours(12), day.AddDays(2),
            // 01:30 on the 23rd at UTC+3 is still the 22nd in UTC.
            new DateTimeOffset(2026, 11, 23, 1, 30, 0, TimeSpan.FromHours(3)),
        ];
        await t.Store.WriteAsync(times.Select(at => Some.Sample(at: at)).ToList(), null, None);

        var days = await t.Store.CountSamplesPerDayAsync(None);
        Assert.Equal([new DailyCount("2026-11-20", 2), new DailyCount("2026-11-22", 3)], days);
    }

    private static AgentReply Reply(string commentId, string key, string outcome, bool? isInternal, string? hash = null, int? position = null) => new()
    {
        CommentId = commentId, TicketKey = key, Source = AgentReplySources.Webhook, Outcome = outcome, Internal = isInternal, ContextHash = hash,
        Position = position, Similarity = position is null ? null : 0.75, ReceivedAt = DateTimeOffset.Parse("2026-03-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task RecordAgentReplyAsync_SameCommentFromTwoInstances_RecordedOnceReadBackAndCounted()
    {
        var t = await NewAsync();
        var sample = Some.Sample();
        var reply = Reply("10042", "SD-1", AgentReplyOutcomes.Edited, isInternal: true, sample.ContextHash, 1);

        Assert.False(await t.Store.HasAgentReplyAsync("10042", None));
        Assert.True(await t.Store.RecordAgentReplyAsync(reply, None));
        Assert.False(await t.OpenAnother().RecordAgentReplyAsync(reply with { Outcome = AgentReplyOutcomes.Written }, None));
        Assert.True(await t.Store.RecordAgentReplyAsync(Reply("10043", "SD-1", AgentReplyOutcomes.Ignored, isInternal: null), None));
        Assert.True(await t.Store.RecordAgentReplyAsync(Reply("10044", "SD-2", AgentReplyOutcomes.Edited, isInternal: false, "b", 0), None));

        Assert.True(await t.OpenAnother().HasAgentReplyAsync("10042", None));
        var replies = await t.Store.ReadAgentRepliesAsync(None);
        Assert.Equal(reply, replies.Single(r => r.CommentId == "10042"));
        Assert.Equal(3, replies.Count);
        Assert.Equal(
            [new AgentReplyCount(AgentReplyOutcomes.Edited, false, 1), new AgentReplyCount(AgentReplyOutcomes.Edited, true, 1), new AgentReplyCount(AgentReplyOutcomes.Ignored, null, 1)],
            (await t.Store.CountAgentRepliesAsync(None)).OrderBy(c => c.Outcome, StringComparer.Ordinal).ThenBy(c => c.Internal));
    }

    [Fact]
    public async Task ForgetTicketAsync_JiraComments_UnlinkedFromTheTicketButStillDeduplicated()
    {
        var t = await NewAsync();
        var sample = Some.Sample(Some.Context() with { TicketKey = "GONE-8" });
        await t.Store.WriteAsync([sample], null, None);
        await t.Store.RecordAgentReplyAsync(Reply("20001", "GONE-8", AgentReplyOutcomes.Written, isInternal: false, sample.ContextHash, 3), None);
        await t.Store.RecordAgentReplyAsync(Reply("20002", "KEEP-1", AgentReplyOutcomes.Accepted, isInternal: false, "k", 0), None);

        await t.Store.ForgetTicketAsync("GONE-8", None);

        var replies = await t.Store.ReadAgentRepliesAsync(None);
        var gone = replies.Single(r => r.CommentId == "20001");
        Assert.Equal(("", null, null), (gone.TicketKey, gone.ContextHash, gone.Position));
        Assert.Equal(("KEEP-1", "k"), (replies.Single(r => r.CommentId == "20002").TicketKey, replies.Single(r => r.CommentId == "20002").ContextHash));
        Assert.Equal(0, await t.ScalarAsync("SELECT COUNT(*) FROM jira_comments WHERE ticket_key = 'GONE-8'"));
        Assert.False(await t.Store.RecordAgentReplyAsync(Reply("20001", "GONE-8", AgentReplyOutcomes.Written, isInternal: false), None));
    }

    [Fact]
    public async Task ForgetTicketAsync_TicketWithFeedback_DeletedEverywhereStatsExact()
    {
        var t = await NewAsync(compressionThreshold: 5);
        var ticket = Enumerable.Range(0, 3).Select(i => Some.Sample(Some.Context(key: "GONE-7", summary: $"Printer {i} KOALASENTENCE"), engine: "ollama")).ToList();
        var others = Enumerable.Range(0, 10).Select(i => Some.Sample(Some.Context(issueType: i % 2 == 0 ? "Incident" : "Bug"))).ToList();
        await t.Store.WriteAsync([.. ticket.Take(2), .. others.Take(2)], null, None); // plain
        await t.Store.WriteAsync([ticket[2], .. others.Skip(2)], null, None);      // crosses the threshold
        await t.Store.WriteFeedbackAsync(Feedback(ticket[0], 0, FeedbackActions.Accepted), None);
        await t.Store.WriteFeedbackAsync(Feedback(ticket[1], 1, FeedbackActions.Edited, finalText: "done") with { TicketKey = null }, None);
        await t.Store.WriteFeedbackAsync(Feedback(others[0], 0, FeedbackActions.Accepted), None);

        var result = await t.Store.ForgetTicketAsync("GONE-7", None);

        Assert.Equal(3, result.Samples);
        Assert.Equal(2, result.Feedback);
        Assert.True(result.Scrubbed);
        Assert.Equal(ticket.Select(s => s.ContextHash).Order(), result.ContextHashes.Order());
        Assert.Empty(await t.Store.FindRecentAsync("GONE-7", 10, None));
        Assert.Equal(0, await t.ScalarAsync("SELECT COUNT(*) FROM samples WHERE ticket_key = 'GONE-7'"));
        Assert.Equal(1, await t.ScalarAsync("SELECT COUNT(*) FROM feedback"));
        var stats = await t.Store.GetStatsAsync(None);
        Assert.Equal(10, stats.TotalSamples);
        Assert.False(stats.ByEngine.ContainsKey("ollama"));
        await AssertStatsMatchSamplesAsync(t);

        var again = await t.Store.ForgetTicketAsync("GONE-7", None);
        Assert.Equal((0, 0), (again.Samples, again.Feedback));
    }

    [Fact]
    public async Task DeleteOlderThanAsync_MoreThanOneBatch_DeletesEveryOldSampleAndItsFeedbackStatsExact()
    {
        var t = await NewAsync(compressionThreshold: 100);
        var cutoff = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var old = Enumerable.Range(0, RetentionBatch * 2 + 17)
            .Select(i => Some.Sample(Some.Context(issueType: i % 3 == 0 ? "Incident" : "Bug"), suggestions: i % 4, at: cutoff.AddMinutes(-1 - i)))
            .ToList();
        // One microsecond after the cutoff: kept (both stores keep microseconds).
        var young = Enumerable.Range(0, 30).Select(i => Some.Sample(at: cutoff.AddTicks(10 + i * TimeSpan.TicksPerSecond), engine: i % 2 == 0 ? "ollama" : "rules")).ToList();
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
        await t.Store.WriteAsync(interleaved, null, None);
        // Over 1,000 samples a dictionary is trained and payloads converted in the background; a transaction of that work
        // in flight during the VACUUM would rightly make Scrubbed false (see ScrubAsync).
        await ((DbTrainingStore)t.Store).DictionaryWork;
        await t.Store.WriteFeedbackAsync(Feedback(old[1501], 0, FeedbackActions.Accepted, at: cutoff.AddDays(3)), None); // recent feedback on an old sample
        await t.Store.WriteFeedbackAsync(Feedback(old[1], 0, FeedbackActions.Accepted) with
        {
            ContextHash = "0123456789abcdef0123456789abcdef", TicketKey = "GONE-1", CreatedAt = cutoff.AddDays(-1),
        }, None); // old, its sample never stored
        await t.Store.WriteFeedbackAsync(Feedback(young[3], 0, FeedbackActions.Dismissed, at: cutoff.AddDays(1)), None);

        var result = await t.Store.DeleteOlderThanAsync(cutoff, None);

        Assert.Equal(old.Count, result.Samples);
        Assert.Equal(2, result.Feedback);
        Assert.True(result.Scrubbed);
        Assert.Equal(young.Select(s => s.ContextHash).Order(), (await ReadAllAsync(t.Store)).Select(s => s.ContextHash).Order());
        Assert.Equal(1, await t.ScalarAsync($"SELECT COUNT(*) FROM feedback WHERE context_hash = '{young[3].ContextHash}'"));
        Assert.Equal(1, await t.ScalarAsync("SELECT COUNT(*) FROM feedback"));
        await AssertStatsMatchSamplesAsync(t);

        var again = await t.Store.DeleteOlderThanAsync(cutoff, None);
        Assert.Equal((0, 0), (again.Samples, again.Feedback));
    }

    [Fact]
    public async Task ReadAllAsync_WritersDuringTheStream_ReadsItsSnapshotAndWritersAreNotBlocked()
    {
        var t = await NewAsync();
        await t.Store.WriteAsync(Enumerable.Range(0, 300).Select(_ => Some.Sample()).ToList(), null, None);
        var read = 0;
        await foreach (var _ in t.Store.ReadAllAsync(None))
        {
            if (read++ == 10)
            {
                var write = t.OpenAnother().WriteAsync([Some.Sample()], null, None);
                Assert.True(await Task.WhenAny(write, Task.Delay(TimeSpan.FromSeconds(20))) == write, "a streaming reader blocked the writer");
                await write;
            }
        }
        Assert.InRange(read, 300, 301);
        Assert.Equal(301, (await t.Store.GetStatsAsync(None)).TotalSamples);
    }

    [Fact]
    public async Task GetStatsAsync_AnotherInstanceCommitsDuringTheReads_TotalsCountsAndFeedbackFromOneSnapshot()
    {
        var t = await NewAsync();
        var writer = t.OpenAnother();
        using var stop = new CancellationTokenSource();
        // Each round commits a sample, then feedback on it: any one snapshot holds as many feedback rows as samples, or one less.
        var writes = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var sample = Some.Sample();
                await writer.WriteAsync([sample], null, None);
                await writer.WriteFeedbackAsync(Feedback(sample, 0, FeedbackActions.Accepted), None);
            }
        }, None);
        try
        {
            // Read until the writer has visibly committed between reads several times; no timing assumed.
            var seen = new HashSet<long>();
            for (var reads = 0; reads < 50 || seen.Count < 5; reads++)
            {
                if (writes.IsCompleted)
                {
                    await writes;
                    Assert.Fail("the writer stopped");
                }
                var stats = await t.Store.GetStatsAsync(None);
                seen.Add(stats.TotalSamples);
                Assert.Equal(stats.TotalSamples, stats.ByEngine.Values.Sum());
                Assert.Equal(stats.TotalSuggestions, stats.Feedback.ByEngine.Values.Sum(e => e.Shown));
                Assert.InRange(stats.Feedback.Total, stats.TotalSamples - 1, stats.TotalSamples);
            }
        }
        finally
        {
            await stop.CancelAsync();
        }
        await writes;
    }
}

public sealed class SqliteStoreTests : StoreContractTests
{
    private protected override async Task<StoreUnderTest> NewAsync(StorageOptions options, PersonalDataMasker? masker = null, bool migrate = true)
    {
        var t = new SqliteStoreUnderTest(TempDir.Create(), options, masker);
        if (migrate)
        {
            await t.Store.MigrateAsync(CancellationToken.None);
        }
        return t;
    }

    [Fact]
    public async Task MigrateAsync_NewFile_SmallPagesAndWal()
    {
        var t = await NewAsync(new StorageOptions());
        Assert.Equal(4096, await t.ScalarAsync("PRAGMA page_size"));
        // The durability the README promises: WAL in the file, synchronous=FULL on every connection the store writes with;
        // and the longer WAL capture writes faster with.
        Assert.Equal(("wal", 2L, 10_000L), await ((SqliteTrainingStore)t.Store).ConnectionSettingsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Synchronous_Normal_IsWhatTheStoresConnectionsRunWith()
    {
        var t = await NewAsync(new StorageOptions { Synchronous = "normal" });
        Assert.Equal(("wal", 1L, 10_000L), await ((SqliteTrainingStore)t.Store).ConnectionSettingsAsync(CancellationToken.None));
    }
}

public sealed class PostgresStoreTests : StoreContractTests
{
    private protected override async Task<StoreUnderTest> NewAsync(StorageOptions options, PersonalDataMasker? masker = null, bool migrate = true)
    {
        var t = new PostgresStoreUnderTest(await TestPostgres.CreateDatabaseAsync(), options, masker);
        if (migrate)
        {
            await t.Store.MigrateAsync(CancellationToken.None);
        }
        return t;
    }

    [Fact]
    public async Task MigrateAsync_NewDatabase_TimestampsAndPayloadsInNativeTypes()
    {
        var t = await NewAsync(new StorageOptions());
        Assert.Equal(1, await t.ScalarAsync(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'samples' AND column_name = 'created_at' AND data_type = 'timestamp with time zone'"));
        Assert.Equal(1, await t.ScalarAsync(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'samples' AND column_name = 'payload' AND data_type = 'bytea'"));
    }

    [Fact]
    public async Task ForgetTicketAsync_ReaderHoldsOlderSnapshot_NotScrubbedUntilCalledAgainAfterIt()
    {
        var t = (PostgresStoreUnderTest)await NewAsync(new StorageOptions());
        await t.Store.WriteAsync([Some.Sample(Some.Context(key: "HELD-1")), Some.Sample()], null, CancellationToken.None);
        await using var reader = new NpgsqlConnection(t.ConnectionString);
        await reader.OpenAsync();
        var tx = await reader.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead);
        async Task<long> CountAsync()
        {
            await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM samples", reader, tx);
            return (long)(await command.ExecuteScalarAsync())!;
        }
        Assert.Equal(2, await CountAsync()); // the snapshot is taken here, before the erasure

        var held = await t.Store.ForgetTicketAsync("HELD-1", CancellationToken.None);
        Assert.Equal(1, held.Samples);
        Assert.False(held.Scrubbed);
        Assert.Equal(2, await CountAsync()); // what VACUUM could not reclaim: the old snapshot still reads the row
        await tx.CommitAsync();
        await tx.DisposeAsync();

        var again = await t.Store.ForgetTicketAsync("HELD-1", CancellationToken.None);
        Assert.Equal((0, 0, true), (again.Samples, again.Feedback, again.Scrubbed));
        Assert.Equal(1, await t.ScalarAsync("SELECT COUNT(*) FROM samples"));
    }
}
