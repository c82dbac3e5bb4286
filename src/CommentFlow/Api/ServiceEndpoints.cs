using CommentFlow.Api.Access;
using CommentFlow.Caching;
using CommentFlow.Capture;
using CommentFlow.Configuration;
using CommentFlow.Engines.Ollama;
using CommentFlow.Jira;
using CommentFlow.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CommentFlow.Api;

/// <summary>The earlier service's smaller endpoints, kept so its front end keeps working.</summary>
internal static class ServiceEndpoints
{
    public static IEndpointRouteBuilder MapServiceEndpoints(this IEndpointRouteBuilder api)
    {
        var agent = api.MapGroup("").RequireAuthorization(AccessPolicies.Agent);
        var admin = api.MapGroup("").RequireAuthorization(AccessPolicies.Admin);
        // The earlier service's health, answered without a key like /health: it names no data, only whether things are up.
        var anonymous = api.MapGroup("").AllowAnonymous();
        agent.MapGet("/cache/stats", CacheStats).WithName("GetCacheStats").WithSummary("Entries, hits and misses of the suggestion cache.");
        admin.MapPost("/cache/clear", ClearCache).WithName("ClearCache").WithSummary("Empties the suggestion cache.");
        agent.MapGet("/warmup", WarmUpAsync).WithName("WarmUp").WithSummary("Loads the Ollama model now, so the next request does not wait for it.");
        anonymous.MapGet("/health", HealthAsync).WithName("GetServiceHealth").WithSummary("Engines, store, capture and whether Jira is configured, at a glance.");
        return api;
    }

    internal static OllamaDto OllamaOf(OllamaStatus status, OllamaOptions options)
    {
        var s = status.Current;
        return new OllamaDto(s.StateName, options.Url, options.Model, s.WarmedUp, s.Models, s.Error, s.CheckedAt);
    }

    private static Ok<CacheStatsResponse> CacheStats(SuggestionCache cache)
    {
        var s = cache.Statistics();
        return TypedResults.Ok(new CacheStatsResponse(new CacheStatsDto(cache.Enabled, s.Entries, s.Hits, s.Misses, s.HitRate, s.TtlSeconds, s.MaxEntries),
            new LegacyCacheStatsDto(s.Held, s.Valid, s.Expired, s.TtlSeconds)));
    }

    private static Ok<CacheClearResponse> ClearCache(SuggestionCache cache) => TypedResults.Ok(new CacheClearResponse(cache.Clear()));

    private static async Task<Ok<WarmupResponse>> WarmUpAsync(OllamaMonitor monitor, OllamaStatus status, IOptions<OllamaOptions> options, CancellationToken cancellationToken)
    {
        await monitor.ProbeAsync(cancellationToken);
        var elapsed = await monitor.WarmUpAsync(cancellationToken);
        var message = elapsed is not null ? $"Model {options.Value.Model} is loaded."
            : status.IsAvailable ? $"Warm-up of {options.Value.Model} failed; see the service log."
            : "Ollama is not available; suggestions come from the fallback engine.";
        return TypedResults.Ok(new WarmupResponse(elapsed is not null, message, OllamaOf(status, options.Value), elapsed?.TotalMilliseconds));
    }

    private static async Task<Ok<ServiceHealthResponse>> HealthAsync(
        ITrainingStore store, CaptureQueue capture, OllamaStatus status, IOptions<OllamaOptions> ollama,
        IOptions<CommentFlowOptions> options, IOptions<JiraOptions> jira, CancellationToken cancellationToken)
    {
        bool reachable;
        try
        {
            await store.PingAsync(cancellationToken);
            reachable = true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            reachable = false;
        }
        return TypedResults.Ok(new ServiceHealthResponse(reachable ? "healthy" : "degraded", options.Value.Engine,
            OllamaOf(status, ollama.Value), store.Provider, reachable, DatasetEndpoints.CaptureOf(capture), new JiraHealthDto(jira.Value.IsConfigured)));
    }
}
