using CommentFlow.Privacy;
using CommentFlow.Configuration;
using CommentFlow.Capture;
using CommentFlow.Domain;
using CommentFlow.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CommentFlow.Tests.Capture;

public sealed class CaptureWriterTests
{
    /// <summary>Fails the first <c>failures</c> writes, as a store that is briefly unreachable; then remembers what it got.</summary>
    private sealed class FlakyStore(int failures) : ITrainingStore
    {
        private int _failuresLeft = failures;
        public List<TrainingSample> Written { get; } = [];
        public string Provider => "flaky";
        public Task MigrateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<WriteResult> WriteAsync(IReadOnlyList<TrainingSample> samples, IProgress<int>? progress, CancellationToken cancellationToken)
        {
            if (Interlocked.Decrement(ref _failuresLeft) >= 0)
            {
                throw new IOException("disk I/O error");
            }
            var fresh = samples.Where(s => Written.All(w => w.ContextHash != s.ContextHash)).ToList();
            Written.AddRange(fresh);
            return Task.FromResult(new WriteResult(fresh.Count, samples.Count - fresh.Count));
        }

        public Task<StoreStats> GetStatsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
        public IAsyncEnumerable<TrainingSample> ReadAllAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task PingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task<TrainingSample?> FindSampleAsync(string contextHash, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<IReadOnlyList<TrainingSample>> FindRecentAsync(string? ticketKey, int limit, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<bool> WriteFeedbackAsync(SuggestionFeedback feedback, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<ErasureResult> ForgetTicketAsync(string ticketKey, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<ErasureResult> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<string?> ReadMetaAsync(string key, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task WriteMetaAsync(string key, string value, IReadOnlyDictionary<string, long> addMasked, CancellationToken cancellationToken) => throw new NotSupportedException();
        public IAsyncEnumerable<string> ReadContextHashesAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<IReadOnlyList<SuggestionFeedback>> ReadFeedbackRowsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<bool> HasAgentReplyAsync(string commentId, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<bool> RecordAgentReplyAsync(AgentReply reply, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<IReadOnlyList<AgentReply>> ReadAgentRepliesAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<IReadOnlyList<AgentReplyCount>> CountAgentRepliesAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task CopyFeedbackAsync(IReadOnlyList<SuggestionFeedback> feedback, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<SamplePage> ListSamplesAsync(int page, int size, string? query, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<IReadOnlyList<DailyCount>> CountSamplesPerDayAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private static (CaptureQueue Queue, CaptureWriter Writer) Create(ITrainingStore store, int drainSeconds = 30)
    {
        var options = Options.Create(new CaptureOptions { QueueCapacity = 1_000, BatchSize = 10, DrainTimeoutSeconds = drainSeconds });
        var queue = new CaptureQueue(options, new CaptureCounters(), TimeProvider.System, NullLogger<CaptureQueue>.Instance);
        var quarantine = new Quarantine(Options.Create(new CommentFlowOptions { DataDir = TempDir.Create() }),
            new PersonalDataMasker(Options.Create(new MaskingOptions())), TimeProvider.System);
        return (queue, new CaptureWriter(queue, store, quarantine, options, TimeProvider.System, NullLogger<CaptureWriter>.Instance));
    }

    [Fact]
    public async Task Writer_StoreFailsTwice_RetriesAndLosesNothing()
    {
        var store = new FlakyStore(failures: 2);
        var (queue, writer) = Create(store);
        await writer.StartAsync(CancellationToken.None);
        var samples = Enumerable.Range(0, 25).Select(_ => Some.Sample()).ToList();
        foreach (var s in samples.Append(samples[0]))
        {
            await queue.EnqueueAsync(s, CancellationToken.None);
        }
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(samples.Select(s => s.ContextHash).Order(), store.Written.Select(s => s.ContextHash).Order());
        Assert.Equal(25, queue.Counters.Written);
        Assert.Equal(1, queue.Counters.Duplicates);
        Assert.Equal(2, queue.Counters.FailedWrites);
        Assert.Equal(0, queue.Counters.Lost);
    }

    [Fact]
    public async Task Writer_StoppedRightAfterStart_StillDrainsTheQueue()
    {
        var store = new FlakyStore(failures: 0);
        var (queue, writer) = Create(store);
        for (var i = 0; i < 50; i++)
        {
            await queue.EnqueueAsync(Some.Sample(), CancellationToken.None);
        }
        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(50, store.Written.Count);
        Assert.Equal(50, queue.Counters.Written);
    }

    [Fact]
    public async Task Writer_StoreDownAtShutdown_GivesUpAfterDrainTimeoutAndCountsLost()
    {
        var store = new FlakyStore(failures: int.MaxValue);
        var (queue, writer) = Create(store, drainSeconds: 1);
        await writer.StartAsync(CancellationToken.None);
        for (var i = 0; i < 15; i++)
        {
            await queue.EnqueueAsync(Some.Sample(), CancellationToken.None);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // The store never recovers: without the drain timeout this stop would never return (the guard turns that hang
        // into a failure). Only the lower bound is timed: it kept trying for the whole drain time (less the few
        // milliseconds a timer may fire early).
        await writer.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"gave up after {clock.Elapsed}, before the 1 s drain timeout");
        Assert.Empty(store.Written);
        Assert.True(15 == queue.Counters.Lost, $"lost {queue.Counters.Lost}, enqueued {queue.Counters.Enqueued}, dropped {queue.Counters.Dropped}, failed {queue.Counters.FailedWrites}, depth {queue.Depth}");
        Assert.True(queue.Counters.FailedWrites >= 1);
        Assert.Equal(queue.Counters.Enqueued, queue.Counters.Written + queue.Counters.Duplicates + queue.Counters.Lost);
    }

    [Fact]
    public async Task FlushAsync_StoreFailsTwice_CompletesOnlyOnceEverythingQueuedBeforeIsWritten()
    {
        var store = new FlakyStore(failures: 2);
        var (queue, writer) = Create(store);
        await writer.FlushAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)); // nothing queued: at once
        await writer.StartAsync(CancellationToken.None);
        var samples = Enumerable.Range(0, 25).Select(_ => Some.Sample()).ToList();
        foreach (var s in samples)
        {
            await queue.EnqueueAsync(s, CancellationToken.None);
        }

        await writer.FlushAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        // Two failed attempts and their back-off came first; the flush waited through them.
        Assert.Equal(2, queue.Counters.FailedWrites);
        Assert.Equal(25, queue.Counters.Written);
        Assert.Equal(samples.Select(s => s.ContextHash).Order(), store.Written.Select(s => s.ContextHash).Order());
        await writer.StopAsync(CancellationToken.None);
    }
}
