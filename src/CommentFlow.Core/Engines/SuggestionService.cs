using CommentFlow.Caching;
using CommentFlow.Capture;
using CommentFlow.Configuration;
using CommentFlow.Domain;
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
    OllamaStatus ollamaStatus,
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
            return new SuggestionOutcome(hash, cached.Suggestions.Take(maxSuggestions).ToList(), cached.Engine, cached.Model, Cached: true, Fallback: null);
        }

        var started = time.GetTimestamp();
        EngineResult? failed = null;
        EngineResult answer;
        if (ShouldAskOllama())
        {
            var result = await ollama.SuggestAsync(context, maxSuggestions, cancellationToken);
            if (result.Succeeded)
            {
                answer = result;
            }
            else
            {
                failed = result;
                answer = rules.Suggest(context, maxSuggestions);
            }
        }
        else
        {
            if (options.Value.Engine == EngineModes.Ollama)
            {
                // Ollama was asked for explicitly and is known to be down: say so rather than answering silently from rules.
                failed = EngineResult.Failed(EngineNames.Ollama, ollama.Model, FailureReasons.Unavailable);
            }
            answer = rules.Suggest(context, maxSuggestions);
        }
        var latency = time.GetElapsedTime(started);

        cache.Set(hash, new CachedAnswer(answer.Suggestions, answer.Engine, answer.Model, maxSuggestions));
        await capture.EnqueueAsync(
            TrainingSample.From(context, hash, answer.Suggestions, answer.Model, answer.Engine, latency.TotalMilliseconds, time.GetUtcNow()),
            cancellationToken);

        var fallback = failed is null ? null : new FallbackInfo(failed.Engine, failed.Failure!);
        return new SuggestionOutcome(hash, answer.Suggestions, answer.Engine, answer.Model, Cached: false, fallback);
    }

    private bool ShouldAskOllama() => options.Value.Engine switch
    {
        EngineModes.Rules => false,
        _ => ollamaStatus.IsAvailable,
    };
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
