using CommentFlow.OwnModel;
using System.Text.Json;
using CommentFlow.Engines.Local;
using CommentFlow.Engines.Ollama;
using CommentFlow.Storage;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CommentFlow.Api;

internal static class HealthChecks
{
    private const string Ready = "ready";

    public static IHostApplicationBuilder AddCommentFlowHealthChecks(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks()
            .AddCheck<StoreHealthCheck>("store", tags: [Ready])
            .AddCheck<CaptureHealthCheck>("capture", tags: [Ready])
            .AddCheck<ModelHealthCheck>("model", tags: [Ready])
            .AddCheck<OllamaHealthCheck>("ollama", tags: [Ready]);
        return builder;
    }

    /// <summary>
    /// <c>/health</c>: the process answers. <c>/health/ready</c>: the store is reachable; the own model and Ollama are
    /// reported (a model that is active but not loaded is "degraded", still 200: rules and Ollama answer meanwhile). Both anonymous.
    /// </summary>
    public static IEndpointRouteBuilder MapCommentFlowHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready), ResponseWriter = WriteAsync }).AllowAnonymous();
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["status"] = report.Status.ToString().ToLowerInvariant(),
            ["checks"] = report.Entries.ToDictionary(
                e => e.Key,
                e => new Dictionary<string, string?> { ["status"] = e.Value.Status.ToString().ToLowerInvariant(), ["description"] = e.Value.Description }),
        }));
    }

    private sealed class StoreHealthCheck(ITrainingStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await store.PingAsync(cancellationToken);
                return HealthCheckResult.Healthy($"{store.Provider} store reachable");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy($"{store.Provider} store unreachable: {ex.Message}");
            }
        }
    }

    // A store that can be read but not written (disk full, read-only, locked) still answers PingAsync: the writer's own
    // failures say so. Degraded, not unhealthy: suggestions are still answered and samples wait in the queue.
    private sealed class CaptureHealthCheck(CommentFlow.Capture.CaptureQueue capture) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(capture.Counters.Failure is { } failure
                ? HealthCheckResult.Degraded($"capture writer failing since {failure.Since:O}, retrying; {capture.Depth} of {capture.Capacity} queued: {failure.Message}")
                : HealthCheckResult.Healthy($"capture writer ok; {capture.Depth} of {capture.Capacity} queued"));
    }

    private sealed class ModelHealthCheck(LocalModelHost models) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var active = models.Registry.Read().Active;
            var serving = models.Current?.Manifest.Version;
            return Task.FromResult(
                active is null ? HealthCheckResult.Healthy("no own model trained yet")
                : active == serving ? HealthCheckResult.Healthy($"own model {serving} loaded")
                : HealthCheckResult.Degraded($"own model {active} is active but not loaded (serving {serving ?? "none"})"));
        }
    }

    // Ollama is optional (rules answer without it), so its state is reported but never makes the service unready.
    private sealed class OllamaHealthCheck(OllamaStatus status) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(HealthCheckResult.Healthy($"ollama {status.Current.StateName}"));
    }
}
