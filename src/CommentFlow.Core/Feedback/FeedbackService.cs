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

    /// <param name="OtherTickets">Whether another ticket's answer may match: the earlier front end's save names a ticket
    /// its suggestions were never asked for under; a comment posted to Jira is this ticket's only.</param>
    public sealed record ByTicket(string TicketKey, string Text, bool OtherTickets = true) : FeedbackTarget;
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

    /// <summary>
    /// How many of the newest samples, whatever their key, the legacy save call searches when neither the ticket's samples
    /// nor the cache hold the text: its front end asks without a key, and an agent clicks within minutes of the answer.
    /// </summary>
    private const int RecentSamplesSearched = 500;

    /// <summary>The key the earlier front end sends when it does not know the ticket: it names no ticket.</summary>
    public const string UnknownTicketKey = "unknown";

    public async Task<FeedbackOutcome> RecordAsync(FeedbackTarget target, string action, string? finalText, string agent, CancellationToken cancellationToken)
    {
        if (await FindAsync(target, cancellationToken) is not var (hash, position, suggestion, engine, model, ticketKey))
        {
            return FeedbackOutcome.Unknown(target switch
            {
                FeedbackTarget.ById => "No suggestion with this id was given: its context hash is neither stored nor cached, or the answer had fewer suggestions.",
                FeedbackTarget.ByText => "No suggestion with this text was given for this context hash.",
                _ => "No recent answer suggested this text: not this ticket's, not a cached one, not one of the newest stored.",
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
            return await FindByTicketAsync(byTicket, cancellationToken);
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
        var position = target is FeedbackTarget.ById byId ? byId.Position : Match(((FeedbackTarget.ByText)target).Text).IndexIn(suggestions);
        return position >= 0 && position < suggestions.Count ? new(hash, position, suggestions[position], engineName, modelName, key) : null;
    }

    /// <summary>
    /// The earlier front end asks for suggestions without a key and names the ticket (or "unknown") only when saving, so
    /// the text is searched for among the ticket's samples, then the cached answers (newest first, the ticket's and
    /// keyless ones before others), then the newest samples whatever their key. Feedback on a keyless answer takes the
    /// key the save named, so erasing that ticket erases it too.
    /// </summary>
    private async Task<FoundSuggestion?> FindByTicketAsync(
        FeedbackTarget.ByTicket target, CancellationToken cancellationToken)
    {
        var match = Match(target.Text);
        var named = target.TicketKey == UnknownTicketKey ? null : target.TicketKey;
        FoundSuggestion? Found(string hash, IReadOnlyList<Suggestion> suggestions, string engine, string model, string? key) =>
            match.IndexIn(suggestions) is >= 0 and var i ? new(hash, i, suggestions[i], engine, model, key ?? named) : null;

        var found = named is null ? null : await FirstInAsync(named, TicketSamplesSearched);
        found ??= cache.Recent()
            .Select(c => Found(c.ContextHash, c.Answer.Suggestions, c.Answer.Engine, c.Answer.Model, c.Answer.TicketKey))
            .Where(f => f is not null && (target.OtherTickets || string.Equals(f.TicketKey, named, StringComparison.OrdinalIgnoreCase)))
            .OrderByDescending(f => named is not null && f!.TicketKey == named) // stable: newest first within each
            .FirstOrDefault();
        return found ?? (target.OtherTickets ? await FirstInAsync(null, RecentSamplesSearched) : null);

        async Task<FoundSuggestion?> FirstInAsync(string? ticketKey, int limit) =>
            (await store.FindRecentAsync(ticketKey, limit, cancellationToken))
                .Select(s => Found(s.ContextHash, s.Suggestions, s.Engine, s.Model, s.Context.TicketKey))
                .FirstOrDefault(f => f is not null);
    }

    private TextMatch Match(string text)
    {
        text = text.Trim();
        return new TextMatch(text, masker.MaskField(text).Text);
    }

    /// <summary>Stored texts are masked: a client's text matches as given or once masked the same way.</summary>
    private readonly record struct TextMatch(string Text, string Masked)
    {
        public int IndexIn(IReadOnlyList<Suggestion> suggestions)
        {
            for (var i = 0; i < suggestions.Count; i++)
            {
                var candidate = suggestions[i].Text.Trim();
                if (candidate == Text || candidate == Masked)
                {
                    return i;
                }
            }
            return -1;
        }
    }
}
