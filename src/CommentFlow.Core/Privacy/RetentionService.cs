using CommentFlow.Dataset;
using CommentFlow.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CommentFlow.Privacy;

/// <summary>
/// Deletes samples older than <see cref="RetentionOptions.Days"/>: once at start, then every interval. Does nothing when
/// retention is off. A failed run is logged and the next interval tries again; stopping the host ends the loop.
/// Suggestion-cache entries are not evicted: they expire within minutes, retention deletes samples days old.
/// </summary>
internal sealed partial class RetentionService(
    ITrainingStore store,
    SnapshotStore snapshots,
    IOptions<RetentionOptions> options,
    RetentionStatus status,
    TimeProvider time,
    ILogger<RetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retention = options.Value;
        if (retention.Days == 0)
        {
            return;
        }
        // Created before the first run, so a clock advanced once that run is over always reaches the next tick.
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(retention.IntervalMinutes), time);
        try
        {
            do
            {
                await RunOnceAsync(retention.Days, stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    private async Task RunOnceAsync(int days, CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        try
        {
            var cutoff = now.AddDays(-days);
            var result = await store.DeleteOlderThanAsync(cutoff, stoppingToken);
            // Snapshots are copies: one holding a sample past retention goes too.
            var deleted = await snapshots.DeleteHoldingAsync(s => s.CreatedAt < cutoff, stoppingToken);
            status.Completed(now, result.Samples, result.Feedback);
            LogRun(logger, result.Samples, result.Feedback, deleted.Count, days);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            LogRunFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information,
        Message = "Retention run: {Samples} samples, {Feedback} feedback rows and {Snapshots} dataset snapshots older than {Days} days deleted")]
    private static partial void LogRun(ILogger logger, int samples, int feedback, int snapshots, int days);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Error, Message = "Retention run failed; the next interval tries again")]
    private static partial void LogRunFailed(ILogger logger, Exception exception);
}

/// <summary>What the retention job has done since start, for <c>ml-stats</c>.</summary>
internal sealed class RetentionStatus(IOptions<RetentionOptions> options)
{
    private readonly Lock _lock = new();
    private DateTimeOffset? _lastRun;
    private long _deletedSamples;
    private long _deletedFeedback;

    public int Days => options.Value.Days;

    public RetentionSnapshot Snapshot()
    {
        lock (_lock)
        {
            return new RetentionSnapshot(Days, _lastRun, _deletedSamples, _deletedFeedback);
        }
    }

    internal void Completed(DateTimeOffset at, int samples, int feedback)
    {
        lock (_lock)
        {
            _lastRun = at;
            _deletedSamples += samples;
            _deletedFeedback += feedback;
        }
    }
}

internal sealed record RetentionSnapshot(int Days, DateTimeOffset? LastRun, long DeletedTotal, long FeedbackDeletedTotal);
