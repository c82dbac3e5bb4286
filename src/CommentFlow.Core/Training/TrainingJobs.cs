using System.Collections.Concurrent;
using CommentFlow.Dataset;
using CommentFlow.OwnModel;
using CommentFlow.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CommentFlow.Training;

/// <summary>
/// Training started over HTTP: one job at a time, in the background, never inside a request. Every job is kept (with its
/// progress, result or error) so a client can poll it. Stopping the service cancels a running job and waits for it (a
/// hosted service), so no job outlives the host or leaves a half-written version behind.
/// </summary>
internal sealed partial class TrainingJobs(
    ITrainingStore store,
    LocalModelHost models,
    IOptions<TrainingOptions> training,
    IOptions<CleaningOptions> cleaning,
    SnapshotStore snapshots,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<TrainingJobs> logger) : IHostedService
{
    private readonly ConcurrentDictionary<string, TrainingJob> _jobs = new();
    private int _running;
    private Task _current = Task.CompletedTask;

    /// <summary>Starts a job, or returns null when one is already running.</summary>
    public TrainingJob? Start(TrainingRequest request)
    {
        if (Interlocked.CompareExchange(ref _running, 1, 0) != 0)
        {
            return null;
        }
        var job = new TrainingJob(Guid.NewGuid().ToString("N")[..12], time.GetUtcNow(), request);
        _jobs[job.Id] = job;
        job.Task = _current = Task.Run(() => RunAsync(job), CancellationToken.None);
        return job;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The running job saw <see cref="IHostApplicationLifetime.ApplicationStopping"/> already; waits for it to end, within the host's shutdown timeout.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _current.WaitAsync(cancellationToken);

    public TrainingJob? Get(string id) => _jobs.GetValueOrDefault(id);

    private async Task RunAsync(TrainingJob job)
    {
        try
        {
            job.State = TrainingJobState.Running;
            var result = await ModelTrainer.TrainAsync(store, snapshots, job.Request, training.Value, cleaning.Value, models.Registry, time,
                new JobProgress(job), lifetime.ApplicationStopping);
            job.SnapshotId = result.Snapshot.Id;
            if (result.Model is not { } manifest)
            {
                // The data gate said no: the job fails with its message, as any other reason not to produce a model.
                job.Error = result.Gate.Message;
                job.Refused = true;
                job.State = TrainingJobState.Failed;
                LogRefused(logger, job.Id, result.Gate.Message);
                return;
            }
            job.Version = manifest.Version;
            job.Manifest = manifest;
            // Serve it now if it became active, rather than at the next poll, and before the job says it is done: a
            // client that sees "succeeded" is answered by the new model.
            models.Refresh();
            job.State = TrainingJobState.Succeeded;
            LogSucceeded(logger, job.Id, manifest.Version);
        }
        catch (Exception ex)
        {
            job.Error = ex.Message;
            job.State = ex is OperationCanceledException ? TrainingJobState.Cancelled : TrainingJobState.Failed;
            LogFailed(logger, ex, job.Id);
        }
        finally
        {
            job.FinishedAt = time.GetUtcNow();
            Volatile.Write(ref _running, 0);
        }
    }

    private sealed class JobProgress(TrainingJob job) : IProgress<string>
    {
        public void Report(string value) => job.Progress = value;
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Training job {Id} produced model {Version}")]
    private static partial void LogSucceeded(ILogger logger, string id, string version);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Training job {Id} refused by the data gate: {Reason}")]
    private static partial void LogRefused(ILogger logger, string id, string reason);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Training job {Id} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string id);
}

internal enum TrainingJobState
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>
/// A training job as clients see it. Written by the job's own task only; readers poll, and a reference or enum write is
/// atomic, so at worst they see the previous step.
/// </summary>
internal sealed class TrainingJob(string id, DateTimeOffset startedAt, TrainingRequest request)
{
    public string Id { get; } = id;
    public DateTimeOffset StartedAt { get; } = startedAt;
    public TrainingRequest Request { get; } = request;
    public bool Promote => Request.Promote;
    public string? SnapshotId { get; set; }

    /// <summary>Failed because the data gate refused the data (<see cref="Error"/> says why), not because of a fault.</summary>
    public bool Refused { get; set; }
    public TrainingJobState State { get; set; }
    public string? Progress { get; set; }
    public string? Version { get; set; }
    public string? Error { get; set; }
    public ModelManifest? Manifest { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    internal Task? Task { get; set; }
}
