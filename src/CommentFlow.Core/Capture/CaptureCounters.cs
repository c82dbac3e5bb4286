namespace CommentFlow.Capture;

/// <summary>
/// Every sample handed to capture ends in exactly one of: written, duplicate, quarantined (refused by the store for what
/// it holds, kept on disk), dropped (queue full or closed), or lost (still queued when the drain timed out). Failed
/// writes count attempts, which are retried.
/// </summary>
internal sealed class CaptureCounters
{
    private long _enqueued;
    private long _written;
    private long _duplicates;
    private long _dropped;
    private long _failedWrites;
    private long _lost;
    private long _quarantined;
    private WriterFailure? _failure;

    public long Enqueued => Interlocked.Read(ref _enqueued);
    public long Written => Interlocked.Read(ref _written);
    public long Duplicates => Interlocked.Read(ref _duplicates);
    public long Dropped => Interlocked.Read(ref _dropped);
    public long FailedWrites => Interlocked.Read(ref _failedWrites);
    public long Lost => Interlocked.Read(ref _lost);
    public long Quarantined => Interlocked.Read(ref _quarantined);
    internal void OnQuarantined() => Interlocked.Increment(ref _quarantined);

    internal void OnEnqueued() => Interlocked.Increment(ref _enqueued);
    internal long OnDropped() => Interlocked.Increment(ref _dropped);
    internal void OnWritten(int written, int duplicates)
    {
        Interlocked.Add(ref _written, written);
        Interlocked.Add(ref _duplicates, duplicates);
    }
    internal void OnFailedWrite(Exception error, DateTimeOffset at)
    {
        Interlocked.Increment(ref _failedWrites);
        // Kept from the first failure of a run of failures, so operators see how long the writer has been stuck.
        Interlocked.CompareExchange(ref _failure, new WriterFailure(error.GetBaseException().Message, at), null);
    }

    internal void OnWriteSucceeded() => Volatile.Write(ref _failure, null);

    /// <summary>Set while the writer's latest attempt failed (it keeps retrying), null once a batch is written again.</summary>
    public WriterFailure? Failure => Volatile.Read(ref _failure);
    internal void OnLost(int count) => Interlocked.Add(ref _lost, count);
}

/// <summary>Why the writer cannot write (the store's message, e.g. "database or disk is full"), since when.</summary>
internal sealed record WriterFailure(string Message, DateTimeOffset Since);
