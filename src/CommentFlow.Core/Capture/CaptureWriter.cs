using CommentFlow.Domain;
using CommentFlow.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CommentFlow.Capture;

/// <summary>
/// The single reader of the capture queue: takes what is queued (up to a batch), writes it in one transaction,
/// retries a failed batch with capped exponential back-off, and on stop drains the queue before returning.
/// Invariant: a sample leaves the writer's hands only as written, duplicate, or (drain timed out) lost.
/// </summary>
internal sealed partial class CaptureWriter(
    CaptureQueue queue,
    ITrainingStore store,
    IOptions<CaptureOptions> options,
    TimeProvider time,
    ILogger<CaptureWriter> logger) : IHostedService, IDisposable
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    // Cancelled only when the drain deadline passes; stopping itself just closes the queue and lets the loop run dry.
    private readonly CancellationTokenSource _abandon = new();
    private Task _loop = Task.CompletedTask;

    // Completed and replaced after every batch the writer is done with; FlushAsync waits on it.
    private TaskCompletionSource _batchDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Starts the loop with no cancellation token on purpose: a <see cref="BackgroundService"/> whose stop comes before its
    /// loop was scheduled never runs the loop at all, and whatever was queued would never be drained.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task RunAsync()
    {
        var batch = new List<TrainingSample>(options.Value.BatchSize);
        var reader = queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_abandon.Token))
            {
                batch.Clear();
                while (batch.Count < options.Value.BatchSize && reader.TryRead(out var sample))
                {
                    batch.Add(sample);
                }
                await WriteWithRetryAsync(batch, _abandon.Token);
                SignalBatchDone();
            }
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            var lost = batch.Count + queue.Depth;
            while (reader.TryRead(out _)) { }
            queue.Counters.OnLost(lost);
            LogDrainTimedOut(logger, lost);
            SignalBatchDone();
        }
    }

    /// <summary>
    /// Completes once every sample enqueued before the call has left the writer's hands (written, duplicate or lost), so
    /// an erasure that follows also finds what was still queued. Samples enqueued after the call are not waited for.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        // The queue is FIFO with one reader, so once as many samples are done as had been enqueued, those are done.
        var target = queue.Counters.Enqueued;
        while (true)
        {
            // Take the signal before reading the counters: the writer updates the counters before it completes the signal.
            var signal = Volatile.Read(ref _batchDone).Task;
            var done = queue.Counters.Written + queue.Counters.Duplicates + queue.Counters.Lost;
            if (done >= target)
            {
                return;
            }
            await signal.WaitAsync(cancellationToken);
        }
    }

    private void SignalBatchDone() =>
        Interlocked.Exchange(ref _batchDone, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        queue.Complete();
        var deadline = TimeSpan.FromSeconds(options.Value.DrainTimeoutSeconds);
        using var timer = new CancellationTokenSource(deadline, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        await using (linked.Token.Register(_abandon.Cancel))
        {
            await _loop;
        }
        LogDrained(logger, queue.Counters.Written, queue.Counters.Duplicates, queue.Counters.Lost);
    }

    public void Dispose() => _abandon.Dispose();

    private async Task WriteWithRetryAsync(List<TrainingSample> batch, CancellationToken cancellationToken)
    {
        var delay = FirstRetryDelay;
        while (true)
        {
            try
            {
                var result = await store.WriteAsync(batch, progress: null, cancellationToken);
                queue.Counters.OnWritten(result.Written, result.Duplicates);
                queue.Counters.OnWriteSucceeded();
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                queue.Counters.OnFailedWrite(ex, time.GetUtcNow());
                LogWriteFailed(logger, ex, batch.Count, delay.TotalMilliseconds);
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Error, Message = "Writing a batch of {Count} samples failed; retrying in {DelayMs} ms")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, int count, double delayMs);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "Capture drain timed out: {Lost} queued samples were not written")]
    private static partial void LogDrainTimedOut(ILogger logger, int lost);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Capture stopped: {Written} written, {Duplicates} duplicates, {Lost} lost")]
    private static partial void LogDrained(ILogger logger, long written, long duplicates, long lost);
}
