namespace CommentFlow.Capture;

/// <summary>
/// Every sample handed to capture ends in exactly one of: written, duplicate, dropped (queue full or closed),
/// or lost (still queued when the drain timed out). Failed writes count attempts, which are retried.
/// </summary>
internal sealed class CaptureCounters
{
    private long _enqueued;
    private long _written;
    private long _duplicates;
    private long _dropped;
    private long _failedWrites;
    private long _lost;

    public long Enqueued => Interlocked.Read(ref _enqueued);
    public long Written => Interlocked.Read(ref _written);
    public long Duplicates => Interlocked.Read(ref _duplicates);
    public long Dropped => Interlocked.Read(ref _dropped);
    public long FailedWrites => Interlocked.Read(ref _failedWrites);
    public long Lost => Interlocked.Read(ref _lost);

    internal void OnEnqueued() => Interlocked.Increment(ref _enqueued);
    internal long OnDropped() => Interlocked.Increment(ref _dropped);
    internal void OnWritten(int written, int duplicates)
    {
        Interlocked.Add(ref _written, written);
        Interlocked.Add(ref _duplicates, duplicates);
    }
    internal void OnFailedWrite() => Interlocked.Increment(ref _failedWrites);
    internal void OnLost(int count) => Interlocked.Add(ref _lost, count);
}
