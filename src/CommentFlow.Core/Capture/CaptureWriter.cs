using System.Threading.Channels;
using CommentFlow.Domain;
using CommentFlow.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CommentFlow.Capture;

/// <summary>
/// The single reader of the capture queue: takes what is queued (up to a batch), has the store prepare it (mask, encode)
/// while the previous batch is being written, writes it in one transaction, and on stop drains the queue before returning.
/// A batch the store cannot take (connection, lock, disk full) is retried with capped exponential back-off; one it refuses
/// for what it holds (<see cref="StoreFaults.IsContentFault"/>) is halved until the refused samples are alone: the rest
/// is written, those go to the <see cref="Quarantine"/>. One bad sample never stops capture.
/// Invariant: a sample leaves the writer's hands only as written, duplicate, quarantined, or (drain timed out) lost.
/// </summary>
internal sealed partial class CaptureWriter(
    CaptureQueue queue,
    ITrainingStore store,
    Quarantine quarantine,
    IOptions<CaptureOptions> options,
    TimeProvider time,
    ILogger<CaptureWriter> logger) : IHostedService, IDisposable
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    // Cancelled only when the drain deadline passes; stopping itself just closes the queue and lets the loop run dry.
    private readonly CancellationTokenSource _abandon = new();
    private Task _loop = Task.CompletedTask;

    // Samples taken off the queue and not yet written, refused as duplicates or counted lost.
    private long _taken;

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

    // Two stages, so the disk and the CPU work at once: one prepares the next batch (masking and encoding, on every core)
    // while the other writes the current one. One prepared batch waits at most, and batches are written in queue order,
    // so the counters still move in FIFO order (FlushAsync relies on it).
    private async Task RunAsync()
    {
        var prepared = Channel.CreateBounded<PreparedBatch>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        var preparing = Task.Run(() => PrepareAsync(prepared.Writer), CancellationToken.None);
        try
        {
            while (await prepared.Reader.WaitToReadAsync(_abandon.Token))
            {
                while (prepared.Reader.TryRead(out var batch))
                {
                    await WriteWithRetryAsync(batch, _abandon.Token);
                    Interlocked.Add(ref _taken, -batch.Count);
                    SignalBatchDone();
                }
            }
            await preparing;
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            await preparing.ContinueWith(_ => { }, TaskScheduler.Default);
            // Whatever was taken off the queue and not written (being prepared, waiting, being written), and what is still queued.
            var lost = (int)Interlocked.Exchange(ref _taken, 0) + queue.Depth;
            while (queue.Reader.TryRead(out _)) { }
            queue.Counters.OnLost(lost);
            LogDrainTimedOut(logger, lost);
            SignalBatchDone();
        }
    }

    private async Task PrepareAsync(ChannelWriter<PreparedBatch> output)
    {
        var reader = queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_abandon.Token))
            {
                var batch = new List<TrainingSample>(options.Value.BatchSize);
                while (batch.Count < options.Value.BatchSize && reader.TryRead(out var sample))
                {
                    batch.Add(sample);
                }
                Interlocked.Add(ref _taken, batch.Count);
                PreparedBatch work;
                try
                {
                    work = store.Prepare(batch);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The write stage prepares again inside its retries, where a failure is counted and logged.
                    work = new PreparedBatch(batch);
                }
                await output.WriteAsync(work, _abandon.Token);
            }
        }
        finally
        {
            output.TryComplete();
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
            var done = queue.Counters.Written + queue.Counters.Duplicates + queue.Counters.Quarantined + queue.Counters.Lost;
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
        LogDrained(logger, queue.Counters.Written, queue.Counters.Duplicates, queue.Counters.Quarantined, queue.Counters.Lost);
    }

    public void Dispose() => _abandon.Dispose();

    private async Task WriteWithRetryAsync(PreparedBatch batch, CancellationToken cancellationToken)
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
            catch (Exception ex) when (StoreFaults.IsContentFault(ex))
            {
                queue.Counters.OnFailedWrite(ex, time.GetUtcNow());
                if (batch.Count == 1)
                {
                    await QuarantineAsync(batch.Samples[0], ex, cancellationToken);
                    return;
                }
                // Each half on its own: the good samples are written, the refused ones end up alone.
                var half = batch.Count / 2;
                await WriteWithRetryAsync(new PreparedBatch(batch.Samples.Take(half).ToList()), cancellationToken);
                await WriteWithRetryAsync(new PreparedBatch(batch.Samples.Skip(half).ToList()), cancellationToken);
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

    /// <summary>Kept on disk before it is counted; a quarantine that cannot be written (disk full) is retried like a store.</summary>
    private async Task QuarantineAsync(TrainingSample sample, Exception refusal, CancellationToken cancellationToken)
    {
        var delay = FirstRetryDelay;
        while (true)
        {
            try
            {
                await quarantine.AddAsync(sample, refusal, cancellationToken);
                queue.Counters.OnQuarantined();
                queue.Counters.OnWriteSucceeded(); // the writer is not stuck: the batch is dealt with
                LogQuarantined(logger, refusal, sample.ContextHash, quarantine.FilePath);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogQuarantineFailed(logger, ex, delay.TotalMilliseconds);
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    [LoggerMessage(EventId = 2104, Level = LogLevel.Error, Message = "The store refused sample {ContextHash}; it is quarantined in {Path} (commentflow quarantine replay puts it back)")]
    private static partial void LogQuarantined(ILogger logger, Exception exception, string contextHash, string path);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Error, Message = "Quarantining a refused sample failed; retrying in {DelayMs} ms")]
    private static partial void LogQuarantineFailed(ILogger logger, Exception exception, double delayMs);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Error, Message = "Writing a batch of {Count} samples failed; retrying in {DelayMs} ms")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, int count, double delayMs);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "Capture drain timed out: {Lost} queued samples were not written")]
    private static partial void LogDrainTimedOut(ILogger logger, int lost);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Capture stopped: {Written} written, {Duplicates} duplicates, {Quarantined} quarantined, {Lost} lost")]
    private static partial void LogDrained(ILogger logger, long written, long duplicates, long quarantined, long lost);
}
