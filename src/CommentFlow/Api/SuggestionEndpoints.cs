using CommentFlow.Api.Access;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Jira;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CommentFlow.Api;

internal static class SuggestionEndpoints
{
    public static RouteGroupBuilder MapSuggestions(this IEndpointRouteBuilder api)
    {
        var group = api.MapGroup("").RequireAuthorization(AccessPolicies.Agent);
        group.MapPost("/suggestions", SuggestAsync)
            .WithName("Suggest")
            .WithSummary("Suggest the next comments for a ticket; the answer is captured as a training sample. A ticket_key alone reads the ticket from Jira.")
            .Accepts<SuggestionRequest>("application/json");
        return group;
    }

    private const string Invalid = "The suggestion request is invalid.";

    private static async Task<Results<Ok<SuggestionsResponse>, ValidationProblem, ProblemHttpResult>> SuggestAsync(
        HttpRequest request, SuggestionService service, CancellationToken cancellationToken)
    {
        var input = await JsonBody.ReadAsync(request, ApiJsonContext.Default.SuggestionRequest, Invalid, cancellationToken);
        if (!input.TryGet(out var body, out var problem))
        {
            return problem;
        }
        string? source = null;
        if (!string.IsNullOrWhiteSpace(body.TicketKey) && string.IsNullOrWhiteSpace(body.Summary) && string.IsNullOrWhiteSpace(body.Description))
        {
            // Resolved only here: requests that carry their ticket never touch Jira, however it is doing.
            var jira = request.HttpContext.RequestServices.GetRequiredService<JiraClient>();
            if (!jira.IsConfigured)
            {
                return TypedResults.ValidationProblem(JsonBody.Error("summary", "A summary or a description is required. " + JiraEndpoints.NotConfigured("A ticket_key alone")), title: Invalid);
            }
            if (!JiraClient.IsIssueKey(body.TicketKey))
            {
                return TypedResults.ValidationProblem(JsonBody.Error("ticket_key", JiraEndpoints.InvalidKey), title: Invalid);
            }
            try
            {
                body = JiraEndpoints.WithTicket(body, await jira.GetIssueWithLastCommentsAsync(body.TicketKey, JiraEndpoints.LastComments, cancellationToken));
            }
            catch (JiraException ex)
            {
                return JiraEndpoints.Problem(request.HttpContext, ex);
            }
            source = JiraEndpoints.SourceJira;
        }
        // Checked only now: a request by ticket key is checked as Jira completed it.
        if (!JsonBody.Check<SuggestionRequest, ValidSuggestionRequest>(body, SuggestionValidation.Validate, Invalid).TryGet(out var valid, out problem))
        {
            return problem;
        }

        var outcome = await service.SuggestAsync(valid.Context, valid.MaxSuggestions, cancellationToken);
        return TypedResults.Ok(new SuggestionsResponse
        {
            RequestId = Guid.CreateVersion7().ToString("N"),
            Suggestions = outcome.Suggestions.Select((s, i) => new SuggestionDto(SuggestionId.Format(outcome.ContextHash, i), s.Text, s.Type, s.Confidence)).ToList(),
            Cached = outcome.Cached,
            CacheHash = outcome.ContextHash[..8],
            ContextHash = outcome.ContextHash,
            Engine = outcome.Engine,
            Model = outcome.Model,
            Fallback = outcome.Fallback is { } f ? new FallbackDto(f.From, f.Reason) : null,
            Source = source,
        });
    }
}
