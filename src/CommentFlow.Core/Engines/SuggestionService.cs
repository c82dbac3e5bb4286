using CommentFlow.OwnModel;
using CommentFlow.Caching;
using CommentFlow.Capture;
using CommentFlow.Configuration;
using CommentFlow.Domain;
using CommentFlow.Engines.Local;
using CommentFlow.Engines.Ollama;
using Microsoft.Extensions.Options;

namespace CommentFlow.Engines;

/// <summary>
/// Answers a suggestion request: cache, then the engines in the configured order until one gives a usable answer,
/// then hands the sample to capture. Nothing here touches the database.
/// </summary>
internal sealed class SuggestionService(
    OllamaEngine ollama,
    RulesEngine rules,
    LocalEngine local,
    ShadowEvaluator shadow,
    IOptions<LocalOptions> localOptions,
    OllamaStatus ollamaStatus,
    EngineCounters counters,
    SuggestionCache cache,
    CaptureQueue capture,
    IOptions<CommentFlowOptions> options,
    TimeProvider time)
{
    public async Task<SuggestionOutcome> SuggestAsync(TicketContext context, int maxSuggestions, CancellationToken cancellationToken)
    {
        var hash = context.Hash();
        if (cache.TryGet(hash, maxSuggestions, out var cached))
        {
            // Not captured again: the first answer for this context already was, and the store would skip it as a duplicate.
            counters.Cached();
            return new SuggestionOutcome(hash, cached.Suggestions.Take(maxSuggestions).ToList(), cached.Engine, cached.Model, Cached: true, Fallback: null);
        }

        var started = time.GetTimestamp();
        var (answer, failed) = await AnswerAsync(context, maxSuggestions, cancellationToken);
        var latency = time.GetElapsedTime(started);
        counters.Answered(answer.Engine, latency);
        if (failed is not null)
        {
            counters.FellBack(failed.Engine, failed.Failure!);
        }

        cache.Set(hash, new CachedAnswer(answer.Suggestions, answer.Engine, answer.Model, maxSuggestions, context.TicketKey));
        await capture.EnqueueAsync(
            TrainingSample.From(context, hash, answer.Suggestions, answer.Model, answer.Engine, latency.TotalMilliseconds, time.GetUtcNow()),
            cancellationToken);

        var fallback = failed is null ? null : new FallbackInfo(failed.Engine, failed.Failure!);
        return new SuggestionOutcome(hash, answer.Suggestions, answer.Engine, answer.Model, Cached: false, fallback);
    }

    /// <summary>The engines in the configured order; returns the answer and, when one was tried and failed, that failure.</summary>
    private async Task<(EngineResult Answer, EngineResult? Failed)> AnswerAsync(TicketContext context, int max, CancellationToken cancellationToken)
    {
        var mode = options.Value.Engine;
        if (mode == EngineModes.Rules)
        {
            return (rules.Suggest(context, max), null);
        }
        if (mode == EngineModes.Ollama)
        {
            return await OllamaThenAsync(context, max, fallback: null, cancellationToken);
        }

        var own = local.Suggest(context, max);
        if (mode == EngineModes.Local)
        {
            return own.Succeeded ? (own, null) : (rules.Suggest(context, max), own);
        }
        if (mode == EngineModes.Auto && own.Failure == LocalEngine.NoModel)
        {
            // Before any model is trained, auto means: Ollama when it is up, else rules, without a fallback notice.
            return ollamaStatus.IsAvailable ? await OllamaThenAsync(context, max, fallback: null, cancellationToken) : (rules.Suggest(context, max), null);
        }

        // Hybrid: the own model when it is confident, else Ollama (watched by the own model in the shadow), else the own model anyway.
        if (own.Succeeded && own.Suggestions.Max(s => s.Confidence) >= localOptions.Value.Threshold)
        {
            return (own, null);
        }
        return await OllamaThenAsync(context, max, own.Succeeded ? own : null, cancellationToken);
    }

    private async Task<(EngineResult Answer, EngineResult? Failed)> OllamaThenAsync(TicketContext context, int max, EngineResult? fallback, CancellationToken cancellationToken)
    {
        if (!ollamaStatus.IsAvailable)
        {
            // Known down: no request, no latency. Saying so matters only where Ollama was what the mode wanted.
            return (fallback ?? rules.Suggest(context, max), EngineResult.Failed(EngineNames.Ollama, ollama.Model, FailureReasons.Unavailable));
        }
        var result = await ollama.SuggestAsync(context, max, cancellationToken);
        if (result.Succeeded)
        {
            shadow.Offer(context, result);
            return (result, null);
        }
        return (fallback ?? rules.Suggest(context, max), result);
    }
}

internal sealed record SuggestionOutcome(
    string ContextHash,
    IReadOnlyList<Suggestion> Suggestions,
    string Engine,
    string Model,
    bool Cached,
    FallbackInfo? Fallback);

/// <summary>The engine that was tried and could not answer, and why.</summary>
internal sealed record FallbackInfo(string From, string Reason);
