using CommentFlow.Caching;
using CommentFlow.Domain;
using CommentFlow.Privacy;
using CommentFlow.Storage;

namespace CommentFlow.Feedback;

/// <summary>Which suggestion a piece of feedback is about: by id, by context hash and text, or (the legacy save call) by ticket key and text.</summary>
internal abstract record FeedbackTarget
{
    public sealed record ById(string ContextHash, int Position) : FeedbackTarget;

    public sealed record ByText(string ContextHash, string Text) : FeedbackTarget;

    public sealed record ByTicket(string TicketKey, string Text) : FeedbackTarget;
}

internal sealed record FoundSuggestion(string ContextHash, int Position, Suggestion Suggestion, string Engine, string Model, string? TicketKey);

internal sealed record FeedbackOutcome(SuggestionFeedback? Stored, bool Replaced, string? Error)
{
    public static FeedbackOutcome Unknown(string error) => new(null, false, error);
}

/// <summary>
/// Finds the suggestion feedback is about and stores what the agent did. The store is asked first; an answer the
/// capture writer has not stored yet is found in the suggestion cache, so feedback given at once is not refused.
/// </summary>
internal sealed class FeedbackService(ITrainingStore store, SuggestionCache cache, PersonalDataMasker masker, TimeProvider time)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _recorded = new();

    /// <summary>Feedback recorded since start, by action (for the metrics; the store's stats hold the totals).</summary>
    public IReadOnlyDictionary<string, long> Recorded => _recorded;

    /// <summary>How many of a ticket's samples the legacy save call searches for the text, newest first.</summary>
    private const int TicketSamplesSearched = 50;

    public async Task<FeedbackOutcome> RecordAsync(FeedbackTarget target, string action, string? finalText, string agent, CancellationToken cancellationToken)
    {
        if (await FindAsync(target, cancellationToken) is not var (hash, position, suggestion, engine, model, ticketKey))
        {
            return FeedbackOutcome.Unknown(target switch
            {
                FeedbackTarget.ById => "No suggestion with this id was given: its context hash is neither stored nor cached, or the answer had fewer suggestions.",
                FeedbackTarget.ByText => "No suggestion with this text was given for this context hash.",
                _ => "No suggestion with this text was given for this ticket.",
            });
        }

        var feedback = new SuggestionFeedback
        {
            ContextHash = hash,
            Position = position,
            Agent = agent,
            Action = action,
            FinalText = action == FeedbackActions.Edited ? finalText : null,
            TicketKey = ticketKey,
            Engine = engine,
            Model = model,
            SuggestionType = StatsDelta.ShownTypeOf(suggestion.Type),
            CreatedAt = time.GetUtcNow(),
        };
        var replaced = await store.WriteFeedbackAsync(feedback, cancellationToken);
        _recorded.AddOrUpdate(action, 1, (_, n) => n + 1);
        return new FeedbackOutcome(feedback, replaced, null);
    }

    /// <summary>The suggestion a target names, from the store or, not yet written, the cache; null when none was given.</summary>
    public async Task<FoundSuggestion?> FindAsync(
        FeedbackTarget target, CancellationToken cancellationToken)
    {
        if (target is FeedbackTarget.ByTicket byTicket)
        {
            foreach (var sample in await store.FindByTicketKeyAsync(byTicket.TicketKey, TicketSamplesSearched, cancellationToken))
            {
                if (IndexOf(sample.Suggestions, byTicket.Text) is >= 0 and var i)
                {
                    return new(sample.ContextHash, i, sample.Suggestions[i], sample.Engine, sample.Model, sample.Context.TicketKey);
                }
            }
            return null;
        }

        var hash = target is FeedbackTarget.ById id ? id.ContextHash : ((FeedbackTarget.ByText)target).ContextHash;
        var (suggestions, engineName, modelName, key) = await store.FindSampleAsync(hash, cancellationToken) is { } stored
            ? (stored.Suggestions, stored.Engine, stored.Model, stored.Context.TicketKey)
            : cache.Find(hash) is { } cached
                ? (cached.Suggestions, cached.Engine, cached.Model, cached.TicketKey)
                : (null, "", "", null);
        if (suggestions is null)
        {
            return null;
        }
        var position = target is FeedbackTarget.ById byId ? byId.Position : IndexOf(suggestions, ((FeedbackTarget.ByText)target).Text);
        return position >= 0 && position < suggestions.Count ? new(hash, position, suggestions[position], engineName, modelName, key) : null;
    }

    /// <summary>Stored texts are masked: a client's text matches as given or once masked the same way.</summary>
    private int IndexOf(IReadOnlyList<Suggestion> suggestions, string text)
    {
        text = text.Trim();
        var masked = masker.MaskField(text).Text;
        for (var i = 0; i < suggestions.Count; i++)
        {
            var candidate = suggestions[i].Text.Trim();
            if (candidate == text || candidate == masked)
            {
                return i;
            }
        }
        return -1;
    }
}
