using CommentFlow.Caching;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using Microsoft.Extensions.Logging;

namespace CommentFlow.Jira;

/// <summary>A comment taken in from Jira, and what became of it; <see cref="Duplicate"/> when its id was taken in before.</summary>
internal sealed record RecordedReply(string CommentId, string Outcome, bool Duplicate, string? ContextHash, int? Position, double? Similarity);

/// <summary>
/// Turns a comment posted in Jira (from the webhook or the poller) into training data, once per comment id. The
/// reporter's comments (and a service project's customers') are ignored. An agent's comment is compared with the
/// suggestions shown for the ticket (<see cref="AgentReplyMatcher"/>): accepted or edited is feedback on that suggestion;
/// written is joined to the ticket's newest answer as a <see cref="FeedbackActions.Written"/> reply, or, when the ticket
/// got no suggestions, stored as a new sample (engine and model <see cref="EngineNames.Agent"/>, confidence 1) of the
/// ticket as it was just before the comment. The store masks every text it is given.
/// </summary>
internal sealed partial class AgentReplyRecorder(ITrainingStore store, SuggestionCache cache, PersonalDataMasker masker, JiraCounters counters,
    TimeProvider time, ILogger<AgentReplyRecorder> logger)
{
    /// <summary>How many of the ticket's newest samples are searched for the suggestions shown.</summary>
    private const int TicketSamplesSearched = 50;

    /// <summary>How many comments before the reply a new sample's context keeps, as a suggestion by key reads them.</summary>
    public const int ContextComments = 10;

    // Webhook and poller may bring the same comment at once; one at a time keeps the check-then-write of one process simple
    // (the store's unique comment id still decides between processes).
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <param name="commentsBefore">The ticket's comments before this one, oldest first, asked only when a new sample is needed.</param>
    public async Task<RecordedReply> RecordAsync(JiraIssue issue, JiraComment comment, string source,
        Func<CancellationToken, Task<IReadOnlyList<JiraComment>>> commentsBefore, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await RecordLockedAsync(issue, comment, source, commentsBefore, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<RecordedReply> RecordLockedAsync(JiraIssue issue, JiraComment comment, string source,
        Func<CancellationToken, Task<IReadOnlyList<JiraComment>>> commentsBefore, CancellationToken cancellationToken)
    {
        if (await store.HasAgentReplyAsync(comment.Id, cancellationToken))
        {
            counters.Duplicate();
            return new RecordedReply(comment.Id, "", true, null, null, null);
        }

        var text = comment.Body.Trim();
        var now = time.GetUtcNow();
        var at = comment.Created ?? now;
        var reply = new AgentReply
        {
            CommentId = comment.Id, TicketKey = issue.Key, Source = source, Outcome = AgentReplyOutcomes.Ignored, Internal = comment.Internal, ReceivedAt = now,
        };

        if (text.Length == 0 || IsCustomer(issue, comment.Author))
        {
            return await FinishAsync(reply, cancellationToken);
        }

        var shown = await ShownAsync(issue.Key, cancellationToken);
        var agent = AgentOf(comment.Author);
        var masked = masker.MaskField(text).Text;
        var flat = shown.SelectMany(a => a.Suggestions.Select((s, i) => (Answer: a, Position: i, s.Text))).ToList();
        var match = AgentReplyMatcher.Classify([text, masked], [.. flat.Select(f => f.Text)]);
        reply = reply with { Outcome = match.Outcome, Similarity = match.Candidate >= 0 ? match.Similarity : null };

        if (match.Outcome is AgentReplyOutcomes.Accepted or AgentReplyOutcomes.Edited)
        {
            var (answer, position, _) = flat[match.Candidate];
            await store.WriteFeedbackAsync(Feedback(answer, position, match.Outcome, match.Outcome == AgentReplyOutcomes.Edited ? text : null, agent, issue.Key, at,
                StatsDelta.ShownTypeOf(answer.Suggestions[position].Type)), cancellationToken);
            return await FinishAsync(reply with { ContextHash = answer.ContextHash, Position = position }, cancellationToken);
        }

        if (shown.Count > 0)
        {
            // Joined to the newest answer given for the ticket before the reply: what the agent had in front of them.
            var answer = shown.FirstOrDefault(a => a.CreatedAt is not { } c || c <= at) ?? shown[0];
            return await FinishAsync(await WrittenAsync(reply, answer, text, agent, issue.Key, at, cancellationToken), cancellationToken);
        }

        var context = new TicketContext
        {
            TicketKey = issue.Key,
            Summary = issue.Summary,
            Description = issue.Description,
            IssueType = issue.IssueType ?? TicketContext.DefaultIssueType,
            Status = issue.Status ?? TicketContext.DefaultStatus,
            Priority = issue.Priority ?? TicketContext.DefaultPriority,
            Comments = [.. (await commentsBefore(cancellationToken)).Select(c => c.Body).Where(b => b.Length > 0).TakeLast(ContextComments)],
        };
        var sample = TrainingSample.From(context, context.Hash(), [new Suggestion(text, TrainingSample.WrittenType, TrainingSample.KeptConfidence)],
            EngineNames.Agent, EngineNames.Agent, 0, at);
        if ((await store.WriteAsync([sample], null, cancellationToken)).Written == 1)
        {
            return await FinishAsync(reply with { ContextHash = sample.ContextHash, Position = 0 }, cancellationToken);
        }
        // The context is stored already: an earlier attempt at this comment that stopped before the end, or another sample of it.
        var stored = await store.FindSampleAsync(sample.ContextHash, cancellationToken);
        if (stored is null || (stored.Engine == EngineNames.Agent && stored.Suggestions.Any(s => s.Text == masked || s.Text == text)))
        {
            return await FinishAsync(reply with { ContextHash = sample.ContextHash, Position = 0 }, cancellationToken);
        }
        var joined = new ShownAnswer(stored.ContextHash, stored.Suggestions, stored.Engine, stored.Model, stored.CreatedAt);
        return await FinishAsync(await WrittenAsync(reply, joined, text, agent, issue.Key, at, cancellationToken), cancellationToken);
    }

    private async Task<AgentReply> WrittenAsync(AgentReply reply, ShownAnswer answer, string text, string agent, string key, DateTimeOffset at,
        CancellationToken cancellationToken)
    {
        // Past the answer's suggestions: a written reply names none of them.
        var position = answer.Suggestions.Count;
        await store.WriteFeedbackAsync(Feedback(answer, position, FeedbackActions.Written, text, agent, key, at, StatsDelta.ShownTypeOf(TrainingSample.WrittenType)),
            cancellationToken);
        return reply with { ContextHash = answer.ContextHash, Position = position };
    }

    private static SuggestionFeedback Feedback(ShownAnswer answer, int position, string action, string? finalText, string agent, string key,
        DateTimeOffset at, string type) => new()
    {
        ContextHash = answer.ContextHash,
        Position = position,
        Agent = agent,
        Action = action,
        FinalText = finalText,
        TicketKey = key,
        Engine = answer.Engine,
        Model = answer.Model,
        SuggestionType = type,
        CreatedAt = at,
    };

    private async Task<RecordedReply> FinishAsync(AgentReply reply, CancellationToken cancellationToken)
    {
        // The comment's row comes last: every write before it is idempotent, so a failure in between is repaired by the retry.
        if (!await store.RecordAgentReplyAsync(reply, cancellationToken))
        {
            counters.Duplicate();
            return new RecordedReply(reply.CommentId, reply.Outcome, true, reply.ContextHash, reply.Position, reply.Similarity);
        }
        counters.Recorded(reply.Outcome);
        LogRecorded(logger, reply.Source, reply.Outcome, reply.Similarity);
        return new RecordedReply(reply.CommentId, reply.Outcome, false, reply.ContextHash, reply.Position, reply.Similarity);
    }

    /// <summary>An unnamed author may be the reporter: never taken as an agent.</summary>
    private static bool IsCustomer(JiraIssue issue, JiraUser? author) => author is null || author.IsCustomerOf(issue.Reporter);

    /// <summary>Feedback names the agent by Jira's id (Cloud's account id, Data Center's user name), never by a person's name.</summary>
    private static string AgentOf(JiraUser? author) => "jira:" + (author?.AccountId ?? author?.Name ?? "unknown");

    private sealed record ShownAnswer(string ContextHash, IReadOnlyList<Suggestion> Suggestions, string Engine, string Model, DateTimeOffset? CreatedAt);

    /// <summary>The answers given for the ticket, newest first: the cache's (not stored yet, perhaps) then the store's; agents' own replies are not suggestions.</summary>
    private async Task<List<ShownAnswer>> ShownAsync(string key, CancellationToken cancellationToken)
    {
        var answers = cache.Recent()
            .Where(c => string.Equals(c.Answer.TicketKey, key, StringComparison.OrdinalIgnoreCase))
            .Select(c => new ShownAnswer(c.ContextHash, c.Answer.Suggestions, c.Answer.Engine, c.Answer.Model, null))
            .ToList();
        foreach (var s in await store.FindRecentAsync(key, TicketSamplesSearched, cancellationToken))
        {
            if (s.Engine != EngineNames.Agent && !answers.Any(a => a.ContextHash == s.ContextHash))
            {
                answers.Add(new ShownAnswer(s.ContextHash, s.Suggestions, s.Engine, s.Model, s.CreatedAt));
            }
        }
        return answers;
    }

    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "Jira comment from the {Source}: {Outcome} (similarity {Similarity})")]
    private static partial void LogRecorded(ILogger logger, string source, string outcome, double? similarity);
}
