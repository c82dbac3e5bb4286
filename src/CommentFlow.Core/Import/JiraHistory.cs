using CommentFlow.Domain;
using CommentFlow.Jira;

namespace CommentFlow.Import;

/// <summary>What one issue's history became: the samples, and how its comments were counted.</summary>
/// <param name="ReporterComments">The reporter's (and a service project's customers') comments: context for the later ones, never a suggestion (<see cref="Jira.JiraUser.IsCustomerOf"/>).</param>
/// <param name="UnknownAuthorComments">Comments without an author Jira names (deleted or anonymous users): context only, since they may be the reporter's.</param>
internal sealed record JiraHistoryResult(IReadOnlyList<TrainingSample> Samples, int Comments, int ReporterComments, int UnknownAuthorComments)
{
    public int Public => Samples.Count(s => s.Model == JiraHistory.PublicModel);
    public int Internal => Samples.Count(s => s.Model == JiraHistory.InternalModel);
}

/// <summary>
/// A Jira issue's history as training samples, the same for <c>import-jira</c> and <c>import-tickets --format jira</c>:
/// every agent comment is the answer to the ticket as it stood when the comment was written, i.e. the comments before
/// it (everyone's, internal notes included: the agent saw them) and the status of that moment, read back from the
/// changelog. The reporter's comments (and those whose author is unknown) are context only.
/// </summary>
internal static class JiraHistory
{
    /// <summary>Imported history has one engine, as for the CSV import.</summary>
    public const string Engine = HistoryImport.HistoryModel;

    /// <summary>The model says who saw the comment: a public reply, an internal note, or a project without Jira Service Management.</summary>
    public const string PublicModel = "agent-public";
    public const string InternalModel = "agent-internal";
    public const string AgentModel = "agent";

    /// <summary>The confidence of an answer an agent really wrote.</summary>
    public const double AgentConfidence = 1.0;

    /// <param name="now">The time of a comment Jira gives none for.</param>
    public static JiraHistoryResult Build(JiraIssue issue, IReadOnlyList<JiraComment> comments, DateTimeOffset now)
    {
        // Jira's order, oldest first (the comment pages are read with orderBy=created); empty bodies (attachments only) say nothing.
        var ordered = comments.Where(c => c.Body.Trim().Length > 0).ToList();
        var baseContext = new TicketContext
        {
            TicketKey = issue.Key.Length > 0 ? issue.Key : null,
            Summary = issue.Summary,
            Description = issue.Description,
            IssueType = issue.IssueType ?? TicketContext.DefaultIssueType,
            Priority = issue.Priority ?? TicketContext.DefaultPriority,
        };

        var samples = new List<TrainingSample>();
        int reporter = 0, unknown = 0;
        for (var i = 0; i < ordered.Count; i++)
        {
            var comment = ordered[i];
            if (comment.Author is null || (comment.Author.AccountId is null && comment.Author.Name is null))
            {
                unknown++;
                continue;
            }
            if (comment.Author.IsCustomerOf(issue.Reporter))
            {
                reporter++;
                continue;
            }
            var context = baseContext with
            {
                Status = StatusAt(issue.StatusChanges, comment.Created, issue.Status) ?? TicketContext.DefaultStatus,
                Comments = [.. ordered.Take(i).Select(c => c.Body)],
            };
            var model = comment.Internal switch { true => InternalModel, false => PublicModel, null => AgentModel };
            samples.Add(TrainingSample.From(context, context.Hash(), [new Suggestion(comment.Body, "", AgentConfidence)], model, Engine, 0, comment.Created ?? now));
        }
        return new JiraHistoryResult(samples, ordered.Count, reporter, unknown);
    }

    /// <summary>
    /// The status at <paramref name="at"/>: where the last change before it led, or, before any change, where the first
    /// one started; without changes (or a time), today's. A change at the very instant of the comment (a transition
    /// screen with a comment) is taken as made with it, so the comment was written in the status before.
    /// </summary>
    public static string? StatusAt(IReadOnlyList<JiraStatusChange> changes, DateTimeOffset? at, string? current)
    {
        if (at is not { } time || changes.Count == 0)
        {
            return current;
        }
        var before = changes.LastOrDefault(c => c.At < time);
        return before is not null ? before.To ?? current : changes[0].From ?? current;
    }
}
