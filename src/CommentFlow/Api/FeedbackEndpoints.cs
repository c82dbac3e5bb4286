using CommentFlow.Api.Access;
using CommentFlow.Domain;
using CommentFlow.Feedback;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CommentFlow.Api;

internal static class FeedbackEndpoints
{
    public static RouteGroupBuilder MapFeedback(this IEndpointRouteBuilder api)
    {
        var group = api.MapGroup("").RequireAuthorization(AccessPolicies.Agent);
        group.MapPost("/feedback", FeedbackAsync)
            .WithName("Feedback")
            .WithSummary("Records what an agent did with a suggestion: accepted, edited (with the text posted) or dismissed.")
            .Accepts<FeedbackRequest>("application/json");
        group.MapPost("/save", SaveAsync)
            .WithName("SaveLegacy")
            .WithSummary("The earlier service's call when an agent used or copied a suggestion; recorded as accepted.")
            .Accepts<LegacySaveRequest>("application/json");
        return group;
    }

    private static async Task<Results<Ok<FeedbackResponse>, ValidationProblem>> FeedbackAsync(
        HttpRequest request, FeedbackService feedback, CancellationToken cancellationToken)
    {
        var input = await JsonBody.ReadAsync(request, ApiJsonContext.Default.FeedbackRequest, FeedbackValidation.Validate, Invalid, cancellationToken);
        return input.TryGet(out var given, out var problem) ? await RecordAsync(feedback, given, cancellationToken) : problem;
    }

    private static async Task<Results<Ok<FeedbackResponse>, ValidationProblem>> SaveAsync(
        HttpRequest request, FeedbackService feedback, CancellationToken cancellationToken)
    {
        var input = await JsonBody.ReadAsync(request, ApiJsonContext.Default.LegacySaveRequest, FeedbackValidation.Validate, Invalid, cancellationToken);
        return input.TryGet(out var given, out var problem) ? await RecordAsync(feedback, given, cancellationToken) : problem;
    }

    private const string Invalid = "The feedback is invalid.";

    private static async Task<Results<Ok<FeedbackResponse>, ValidationProblem>> RecordAsync(FeedbackService feedback, GivenFeedback given,
        CancellationToken cancellationToken)
    {
        var outcome = await feedback.RecordAsync(given.Target, given.Action, given.FinalText, given.Agent, cancellationToken);
        if (outcome.Stored is not { } stored)
        {
            return TypedResults.ValidationProblem(JsonBody.Error(given.TargetField, outcome.Error!), title: Invalid);
        }
        return TypedResults.Ok(new FeedbackResponse(stored.SuggestionId, stored.Action, stored.Agent, outcome.Replaced));
    }
}

/// <summary>Feedback as checked, from either call: what to record, and the field that named the suggestion (for "not found").</summary>
internal sealed record GivenFeedback(FeedbackTarget Target, string Action, string? FinalText, string Agent, string TargetField);

/// <summary>The limits of a feedback request. A request that breaks one gets a 400 naming the field, and nothing is stored.</summary>
internal static class FeedbackValidation
{
    public static (GivenFeedback? Given, Dictionary<string, string[]>? Errors) Validate(FeedbackRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors[field] = [message];

        FeedbackTarget? target = null;
        if (request.SuggestionId is not null)
        {
            if (request.ContextHash is not null || request.Text is not null)
            {
                Fail("suggestion_id", "Give suggestion_id, or context_hash with text, not both.");
            }
            else if (SuggestionId.TryParse(request.SuggestionId, out var hash, out var position))
            {
                target = new FeedbackTarget.ById(hash, position);
            }
            else
            {
                Fail("suggestion_id", "suggestion_id must be a suggestion's id as returned with it: '<context_hash>:<position>'.");
            }
        }
        else if (request.ContextHash is null && request.Text is null)
        {
            Fail("suggestion_id", "suggestion_id, or context_hash with text, is required.");
        }
        else
        {
            if (!ContextHash.IsValid(request.ContextHash))
            {
                Fail("context_hash", "context_hash must be the 32 lowercase hex characters returned with the suggestions.");
            }
            if (string.IsNullOrWhiteSpace(request.Text))
            {
                Fail("text", "text, the suggestion's text, is required with context_hash.");
            }
            Long("text", request.Text);
            if (errors.Count == 0)
            {
                target = new FeedbackTarget.ByText(request.ContextHash!, request.Text!);
            }
        }

        if (request.Action is null || !FeedbackActions.Given.Contains(request.Action))
        {
            Fail("action", $"action must be one of: {string.Join(", ", FeedbackActions.Given)}.");
        }
        if (request.Action == FeedbackActions.Edited && string.IsNullOrWhiteSpace(request.FinalText))
        {
            Fail("final_text", "final_text, the comment the agent posted, is required when the action is edited.");
        }
        Long("final_text", request.FinalText);
        if (request.Agent is { Length: > SuggestionValidation.MaxShortFieldLength })
        {
            Fail("agent", $"agent is longer than {SuggestionValidation.MaxShortFieldLength} characters.");
        }
        return errors.Count > 0
            ? (null, errors)
            : (new GivenFeedback(target!, request.Action!, request.FinalText, request.Agent?.Trim() ?? "", request.SuggestionId is not null ? "suggestion_id" : "text"), null);

        void Long(string name, string? value)
        {
            if (value is { Length: > SuggestionValidation.MaxTextLength })
            {
                Fail(name, $"{name} is longer than {SuggestionValidation.MaxTextLength} characters.");
            }
        }
    }

    /// <summary>The earlier service's save call: "used" and "copied" both mean the agent took the suggestion.</summary>
    public static (GivenFeedback? Given, Dictionary<string, string[]>? Errors) Validate(LegacySaveRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.TicketKey) || request.TicketKey.Length > SuggestionValidation.MaxShortFieldLength)
        {
            errors["ticket_key"] = [$"ticket_key is required, at most {SuggestionValidation.MaxShortFieldLength} characters."];
        }
        if (string.IsNullOrWhiteSpace(request.Text) || request.Text.Length > SuggestionValidation.MaxTextLength)
        {
            errors["text"] = [$"text, the suggestion's text, is required, at most {SuggestionValidation.MaxTextLength} characters."];
        }
        if (request.Action is not ("used" or "copied"))
        {
            errors["action"] = ["action must be 'used' or 'copied'."];
        }
        return errors.Count > 0
            ? (null, errors)
            : (new GivenFeedback(new FeedbackTarget.ByTicket(request.TicketKey!, request.Text!), FeedbackActions.Accepted, null, "", "text"), null);
    }
}
