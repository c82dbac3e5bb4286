using CommentFlow.Api.Access;
using CommentFlow.Caching;
using CommentFlow.Domain;
using CommentFlow.Feedback;
using CommentFlow.Jira;
using CommentFlow.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CommentFlow.Api;

/// <summary>Posting a comment to Jira, and what the suggestion endpoint needs to read a ticket from Jira by its key.</summary>
internal static class JiraEndpoints
{
    public const string SourceJira = "jira";

    /// <summary>How many of a ticket's newest comments a suggestion by key reads, as the agent's front end sends them.</summary>
    public const int LastComments = 10;

    private const string Invalid = "The Jira comment is invalid.";

    public static RouteGroupBuilder MapJira(this IEndpointRouteBuilder api)
    {
        var group = api.MapGroup("").RequireAuthorization(AccessPolicies.Agent);
        group.MapPost("/jira/comment", PostCommentAsync)
            .WithName("PostJiraComment")
            .WithSummary("Posts a suggestion (as given or edited) or a text to a Jira ticket, an internal note unless internal is false, and records the feedback.")
            .Accepts<JiraCommentRequest>("application/json");
        return group;
    }

    public static string NotConfigured(string what) =>
        $"{what} needs Jira, and Jira is not configured ({JiraOptions.Section}:BaseUrl is empty).";

    public static string InvalidKey => "ticket_key must be a Jira issue key such as SD-123 (or an issue id).";

    /// <summary>A request naming only a ticket key, read from Jira: the ticket's fields and its last comments, cut to the request limits.</summary>
    public static SuggestionRequest WithTicket(SuggestionRequest request, JiraIssue issue) => request with
    {
        TicketKey = issue.Key.Length > 0 ? issue.Key : request.TicketKey,
        Summary = Cut(issue.Summary, SuggestionValidation.MaxTextLength),
        Description = Cut(issue.Description, SuggestionValidation.MaxTextLength),
        IssueType = Cut(issue.IssueType, SuggestionValidation.MaxShortFieldLength),
        Status = Cut(issue.Status, SuggestionValidation.MaxShortFieldLength),
        Priority = Cut(issue.Priority, SuggestionValidation.MaxShortFieldLength),
        AllComments = [.. issue.Comments.Comments.Select(c => Cut(c.Body, SuggestionValidation.MaxTextLength)).Where(c => c!.Length > 0)],
        RecentComments = null,
    };

    /// <summary>
    /// Jira's failure as the caller's problem: an unknown ticket is 404; Jira unreachable, timing out or still rate-limiting
    /// is 503 (with its Retry-After); any other answer of Jira's is 502. The detail is Jira's own message, never credentials.
    /// </summary>
    public static ProblemHttpResult Problem(HttpContext http, JiraException ex)
    {
        var (status, title) = ex.IsNotFound ? (StatusCodes.Status404NotFound, "The ticket is not in Jira, or the service's Jira user cannot see it.")
            : ex.IsUnavailable ? (StatusCodes.Status503ServiceUnavailable, "Jira is unavailable.")
            : (StatusCodes.Status502BadGateway, "Jira answered with an error.");
        if (status == StatusCodes.Status503ServiceUnavailable && ex.RetryAfter is { } wait)
        {
            http.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return TypedResults.Problem(ex.Message, statusCode: status, title: title, extensions: new Dictionary<string, object?>
        {
            ["jira_status"] = ex.Status,
            ["jira_messages"] = ex.JiraMessages,
        });
    }

    private static async Task<Results<Ok<JiraCommentResponse>, ValidationProblem, ProblemHttpResult>> PostCommentAsync(
        HttpRequest request, JiraClient jira, FeedbackService feedback, SuggestionCache cache, ITrainingStore store, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var input = await JsonBody.ReadAsync(request, ApiJsonContext.Default.JiraCommentRequest, b => Validate(b, jira.IsConfigured), Invalid, cancellationToken);
        if (!input.TryGet(out var body, out var problem))
        {
            return problem;
        }
        var key = body.TicketKey!;

        // The suggestion is found before anything is posted, so an unknown id posts nothing.
        FoundSuggestion? found;
        string text;
        if (body.SuggestionId is not null)
        {
            _ = SuggestionId.TryParse(body.SuggestionId, out var hash, out var position);
            found = await feedback.FindAsync(new FeedbackTarget.ById(hash!, position), cancellationToken);
            if (found is null)
            {
                return TypedResults.ValidationProblem(JsonBody.Error("suggestion_id", "No suggestion with this id was given."), title: Invalid);
            }
            if (found.TicketKey is { } given && !string.Equals(given, key, StringComparison.OrdinalIgnoreCase))
            {
                return TypedResults.ValidationProblem(JsonBody.Error("suggestion_id", "This suggestion was given for another ticket."), title: Invalid);
            }
            // The store holds texts masked; the cache still has the answer as it was shown, which is what the agent means to post.
            text = body.Text ?? cache.Find(hash!)?.Suggestions.ElementAtOrDefault(position)?.Text ?? found.Suggestion.Text;
        }
        else
        {
            text = body.Text!;
            found = await feedback.FindAsync(new FeedbackTarget.ByTicket(key, text, OtherTickets: false), cancellationToken);
        }

        var internalNote = body.Internal ?? true;
        JiraComment posted;
        try
        {
            posted = await jira.AddCommentAsync(key, text, internalNote, cancellationToken);
        }
        catch (JiraException ex)
        {
            return Problem(request.HttpContext, ex);
        }

        FeedbackResponse? recorded = null;
        if (found is not null)
        {
            var same = Normalize(text) == Normalize(cache.Find(found.ContextHash)?.Suggestions.ElementAtOrDefault(found.Position)?.Text ?? found.Suggestion.Text);
            var outcome = await feedback.RecordAsync(new FeedbackTarget.ById(found.ContextHash, found.Position),
                same ? FeedbackActions.Accepted : FeedbackActions.Edited, text, body.Agent?.Trim() ?? "", cancellationToken);
            if (outcome.Stored is { } stored)
            {
                recorded = new FeedbackResponse(stored.SuggestionId, stored.Action, stored.Agent, outcome.Replaced);
                // Jira's webhook (or the poller) will bring this comment back: it is counted here, once.
                if (posted.Id.Length > 0)
                {
                    await store.RecordAgentReplyAsync(new AgentReply
                    {
                        CommentId = posted.Id, TicketKey = key, Source = AgentReplySources.Post, Outcome = stored.Action, Internal = internalNote,
                        ContextHash = stored.ContextHash, Position = stored.Position, ReceivedAt = time.GetUtcNow(),
                    }, cancellationToken);
                }
            }
        }
        return TypedResults.Ok(new JiraCommentResponse(key, posted.Id, internalNote, recorded));
    }

    private static (JiraCommentRequest? Valid, Dictionary<string, string[]>? Errors) Validate(JiraCommentRequest request, bool configured)
    {
        var errors = new Dictionary<string, string[]>();
        if (!configured)
        {
            errors["ticket_key"] = [NotConfigured("Posting a comment")];
        }
        else if (!JiraClient.IsIssueKey(request.TicketKey))
        {
            errors["ticket_key"] = [InvalidKey];
        }
        if (request.SuggestionId is null && request.Text is null)
        {
            errors["suggestion_id"] = ["suggestion_id, or text, is required."];
        }
        if (request.SuggestionId is not null && !SuggestionId.TryParse(request.SuggestionId, out _, out _))
        {
            errors["suggestion_id"] = ["suggestion_id must be a suggestion's id as returned with it: '<context_hash>:<position>'."];
        }
        if (request.Text is not null && (string.IsNullOrWhiteSpace(request.Text) || request.Text.Length > SuggestionValidation.MaxTextLength))
        {
            errors["text"] = [$"text must not be blank, and at most {SuggestionValidation.MaxTextLength} characters."];
        }
        if (request.Agent is { Length: > SuggestionValidation.MaxShortFieldLength })
        {
            errors["agent"] = [$"agent is longer than {SuggestionValidation.MaxShortFieldLength} characters."];
        }
        return errors.Count > 0 ? (null, errors) : (request, null);
    }

    private static string Normalize(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private static string? Cut(string? text, int max) => text is { Length: > 0 } && text.Length > max ? text[..max] : text;
}
