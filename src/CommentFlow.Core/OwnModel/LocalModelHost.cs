using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CommentFlow.OwnModel;

/// <summary>
/// Holds the active own model and swaps in a newly promoted (or rolled-back) one without a restart: the registry is
/// polled, the new version is loaded off the request path, then published with one reference write. Requests that
/// already hold the old model finish with it.
/// </summary>
internal sealed partial class LocalModelHost(
    ModelRegistry registry,
    IOptions<LocalOptions> options,
    TimeProvider time,
    ILogger<LocalModelHost> logger) : BackgroundService
{
    private volatile LocalModel? _current;

    public LocalModel? Current => _current;

    public ModelRegistry Registry => registry;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Refresh();
            }
            catch (Exception ex)
            {
                // Whatever a damaged or foreign version throws (ML.NET's loader has its own exceptions), the model being
                // served stays and the next poll tries again: the host must never stop over it.
                LogLoadFailed(logger, ex);
            }
            await Task.Delay(TimeSpan.FromSeconds(options.Value.ReloadSeconds), time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// Loads the registry's active version if it is not the one being served. Serialised: the poll and a training job
    /// both call it, and a poll that read the registry just before a job registered its model must not publish its stale
    /// answer after the job published the new one.
    /// </summary>
    public void Refresh()
    {
        lock (_refresh)
        {
            RefreshLocked();
        }
    }

    private readonly Lock _refresh = new();

    private void RefreshLocked()
    {
        var active = Registry.Read().Active;
        if (active == _current?.Manifest.Version)
        {
            return;
        }
        if (active is null)
        {
            _current = null;
            return;
        }
        var started = time.GetTimestamp();
        var model = LocalModel.Load(Registry.PathOf(active));
        _current = model;
        LogLoaded(logger, active, model.Manifest.RetrievalItems, time.GetElapsedTime(started).TotalMilliseconds);
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Own model {Version} loaded: {Items} comments indexed in {ElapsedMs:F0} ms")]
    private static partial void LogLoaded(ILogger logger, string version, int items, double elapsedMs);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Loading the active own model failed; the previous one stays in service")]
    private static partial void LogLoadFailed(ILogger logger, Exception exception);
}
