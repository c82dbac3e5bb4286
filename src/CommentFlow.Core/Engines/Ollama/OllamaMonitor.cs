using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OllamaSharp;

namespace CommentFlow.Engines.Ollama;

/// <summary>
/// Keeps <see cref="OllamaStatus"/> current by polling <c>/api/tags</c>, so requests never pay for a probe.
/// It also warms the model up the first time Ollama is seen, and starts <c>ollama serve</c> when asked to.
/// None of this blocks start-up.
/// </summary>
internal sealed partial class OllamaMonitor(
    IOllamaApiClient api,
    IChatClient chat,
    OllamaStatus status,
    IOptions<OllamaOptions> options,
    TimeProvider time,
    ILogger<OllamaMonitor> logger) : BackgroundService
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private readonly SemaphoreSlim _warmUpLock = new(1, 1);
    private Process? _started;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.StatusIntervalSeconds);
        var first = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ProbeAsync(stoppingToken);
                if (first && status.Current.State == OllamaState.Down && options.Value.AutoStart)
                {
                    TryAutoStart();
                }
                first = false;
                if (status.IsAvailable && options.Value.WarmUp && !status.Current.WarmedUp)
                {
                    await WarmUpAsync(stoppingToken);
                }
                await Task.Delay(_started is not null && !status.IsAvailable ? TimeSpan.FromMilliseconds(500) : interval, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogMonitorFailed(logger, ex);
                await Task.Delay(interval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Asks <c>/api/tags</c> whether Ollama is up and has the configured model.</summary>
    public async Task ProbeAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        var before = status.Current.State;
        try
        {
            var models = (await api.ListLocalModelsAsync(timeout.Token)).Select(m => m.Name).ToList();
            var model = options.Value.Model;
            var present = models.Any(m => m == model || m == model + ":latest");
            status.Set(present ? OllamaState.Up : OllamaState.ModelMissing, present ? null : $"model '{model}' is not pulled", models);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            status.Set(OllamaState.Down, ex.Message, []);
        }
        if (status.Current.State != before)
        {
            LogStateChanged(logger, options.Value.Url, status.Current.StateName, status.Current.Error);
        }
    }

    /// <summary>Loads the model with a one-token request. Returns how long it took, or null when Ollama is not available.</summary>
    public async Task<TimeSpan?> WarmUpAsync(CancellationToken cancellationToken)
    {
        if (!status.IsAvailable)
        {
            return null;
        }
        await _warmUpLock.WaitAsync(cancellationToken);
        try
        {
            var started = time.GetTimestamp();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.TimeoutSeconds));
            await chat.GetResponseAsync("ping", new ChatOptions { ModelId = options.Value.Model, MaxOutputTokens = 1 }, timeout.Token);
            var elapsed = time.GetElapsedTime(started);
            status.MarkWarmedUp();
            LogWarmedUp(logger, options.Value.Model, elapsed.TotalMilliseconds);
            return elapsed;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogWarmUpFailed(logger, ex, options.Value.Model);
            return null;
        }
        finally
        {
            _warmUpLock.Release();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_started is { HasExited: false })
        {
            _started.Kill(entireProcessTree: true);
        }
        _started?.Dispose();
    }

    public override void Dispose()
    {
        _warmUpLock.Dispose();
        base.Dispose();
    }

    private void TryAutoStart()
    {
        var binary = FindOnPath("ollama");
        if (binary is null)
        {
            LogAutoStartMissing(logger);
            return;
        }
        var url = new Uri(options.Value.Url);
        var info = new ProcessStartInfo(binary, "serve")
        {
            UseShellExecute = false,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
        };
        info.Environment["OLLAMA_HOST"] = $"{url.Host}:{url.Port}";
        _started = Process.Start(info);
        LogAutoStarted(logger, binary, url.Authority);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Ollama at {Url} is {State} {Error}")]
    private static partial void LogStateChanged(ILogger logger, string url, string state, string? error);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Ollama model {Model} warmed up in {ElapsedMs:F0} ms")]
    private static partial void LogWarmedUp(ILogger logger, string model, double elapsedMs);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Ollama warm-up of {Model} failed")]
    private static partial void LogWarmUpFailed(ILogger logger, Exception exception, string model);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "Started {Binary} serve for {Authority}")]
    private static partial void LogAutoStarted(ILogger logger, string binary, string authority);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "Ollama:AutoStart is on but no 'ollama' binary is on the PATH")]
    private static partial void LogAutoStartMissing(ILogger logger);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Error, Message = "Ollama status probe failed")]
    private static partial void LogMonitorFailed(ILogger logger, Exception exception);
}
