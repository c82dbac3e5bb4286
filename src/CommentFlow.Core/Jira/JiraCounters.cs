using CommentFlow.Domain;

namespace CommentFlow.Jira;

/// <summary>What the webhook and the poller took in since start (the store's <c>jira_comments</c> holds the totals).</summary>
internal sealed class JiraCounters
{
    private long _deliveries, _refused, _duplicates, _polled, _polls, _pollFailures;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _outcomes = new(AgentReplyOutcomes.All.ToDictionary(o => o, _ => 0L));

    public long Deliveries => Interlocked.Read(ref _deliveries);
    public long RefusedSignatures => Interlocked.Read(ref _refused);
    public long Duplicates => Interlocked.Read(ref _duplicates);
    public long PolledComments => Interlocked.Read(ref _polled);
    public long Polls => Interlocked.Read(ref _polls);
    public long PollFailures => Interlocked.Read(ref _pollFailures);
    public IReadOnlyDictionary<string, long> Outcomes => _outcomes;

    public void Delivery() => Interlocked.Increment(ref _deliveries);
    public void Refused() => Interlocked.Increment(ref _refused);
    public void Duplicate() => Interlocked.Increment(ref _duplicates);
    public void Polled() => Interlocked.Increment(ref _polled);
    public void Poll() => Interlocked.Increment(ref _polls);
    public void PollFailed() => Interlocked.Increment(ref _pollFailures);
    public void Recorded(string outcome) => _outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
}
