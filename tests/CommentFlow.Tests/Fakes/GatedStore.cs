using CommentFlow.Domain;
using CommentFlow.Storage;

namespace CommentFlow.Tests.Fakes;

/// <summary>
/// A real store whose writes wait for the test to open a gate: holds the capture writer mid-batch on demand. A test
/// can also hold a reader (a training job reading its data) with <see cref="BeforeRead"/>.
/// </summary>
internal sealed class GatedStore(ITrainingStore inner) : ITrainingStore
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a write has arrived at the closed gate.</summary>
    public TaskCompletionSource WriteWaiting { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _gate.TrySetResult();

    /// <summary>A write holding a sample this returns an error for fails with it, as a store refusing that sample would.</summary>
    public Func<TrainingSample, Exception?>? Refuse { get; init; }

    /// <summary>How many of the first retention deletes fail (a store fault the retention loop must outlive).</summary>
    public int FailingDeletes { get; init; }
    private int _deletes;

    /// <summary>Awaited before <see cref="ReadAllAsync"/> yields its first sample.</summary>
    public Func<CancellationToken, Task>? BeforeRead { get; init; }

    public string Provider => inner.Provider;
    public Task MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);

    public async Task<WriteResult> WriteAsync(IReadOnlyList<TrainingSample> samples, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        WriteWaiting.TrySetResult();
        await _gate.Task.WaitAsync(cancellationToken);
        if (Refuse is { } refuse && samples.Select(refuse).FirstOrDefault(e => e is not null) is { } refusal)
        {
            throw refusal;
        }
        return await inner.WriteAsync(samples, progress, cancellationToken);
    }

    public Task<StoreStats> GetStatsAsync(CancellationToken cancellationToken) => inner.GetStatsAsync(cancellationToken);
    public async IAsyncEnumerable<TrainingSample> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (BeforeRead is { } before)
        {
            await before(cancellationToken);
        }
        await foreach (var sample in inner.ReadAllAsync(cancellationToken))
        {
            yield return sample;
        }
    }
    public Task PingAsync(CancellationToken cancellationToken) => inner.PingAsync(cancellationToken);
    public Task<ErasureResult> ForgetTicketAsync(string ticketKey, CancellationToken cancellationToken) => inner.ForgetTicketAsync(ticketKey, cancellationToken);
    public Task<ErasureResult> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        Interlocked.Increment(ref _deletes) <= FailingDeletes
            ? throw new InvalidOperationException("injected store fault")
            : inner.DeleteOlderThanAsync(cutoff, cancellationToken);
    public Task<SamplePage> ListSamplesAsync(int page, int size, string? query, CancellationToken cancellationToken) => inner.ListSamplesAsync(page, size, query, cancellationToken);
    public Task<IReadOnlyList<DailyCount>> CountSamplesPerDayAsync(CancellationToken cancellationToken) => inner.CountSamplesPerDayAsync(cancellationToken);
    public Task<TrainingSample?> FindSampleAsync(string contextHash, CancellationToken cancellationToken) => inner.FindSampleAsync(contextHash, cancellationToken);
    public Task<IReadOnlyList<TrainingSample>> FindRecentAsync(string? ticketKey, int limit, CancellationToken cancellationToken) => inner.FindRecentAsync(ticketKey, limit, cancellationToken);
    public Task<bool> WriteFeedbackAsync(SuggestionFeedback feedback, CancellationToken cancellationToken) => inner.WriteFeedbackAsync(feedback, cancellationToken);
    public Task<string?> ReadMetaAsync(string key, CancellationToken cancellationToken) => inner.ReadMetaAsync(key, cancellationToken);
    public Task WriteMetaAsync(string key, string value, IReadOnlyDictionary<string, long> addMasked, CancellationToken cancellationToken) => inner.WriteMetaAsync(key, value, addMasked, cancellationToken);
    public IAsyncEnumerable<string> ReadContextHashesAsync(CancellationToken cancellationToken) => inner.ReadContextHashesAsync(cancellationToken);
    public Task<IReadOnlyList<SuggestionFeedback>> ReadFeedbackRowsAsync(CancellationToken cancellationToken) => inner.ReadFeedbackRowsAsync(cancellationToken);
    public Task CopyFeedbackAsync(IReadOnlyList<SuggestionFeedback> feedback, CancellationToken cancellationToken) => inner.CopyFeedbackAsync(feedback, cancellationToken);
    public Task<bool> HasAgentReplyAsync(string commentId, CancellationToken cancellationToken) => inner.HasAgentReplyAsync(commentId, cancellationToken);
    public Task<bool> RecordAgentReplyAsync(AgentReply reply, CancellationToken cancellationToken) => inner.RecordAgentReplyAsync(reply, cancellationToken);
    public Task<IReadOnlyList<AgentReply>> ReadAgentRepliesAsync(CancellationToken cancellationToken) => inner.ReadAgentRepliesAsync(cancellationToken);
    public Task<IReadOnlyList<AgentReplyCount>> CountAgentRepliesAsync(CancellationToken cancellationToken) => inner.CountAgentRepliesAsync(cancellationToken);
}
