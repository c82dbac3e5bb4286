using CommentFlow.Domain;
using CommentFlow.Engines;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CommentFlow.Api;

internal static class SuggestionEndpoints
{
    public static RouteGroupBuilder MapSuggestions(this RouteGroupBuilder group)
    {
        group.MapPost("/suggestions", SuggestAsync)
            .WithName("Suggest")
            .WithSummary("Suggest the next comments for a ticket; the answer is captured as a training sample.")
            .Accepts<SuggestionRequest>("application/json");
        return group;
    }

    private static async Task<Results<Ok<SuggestionsResponse>, ValidationProblem>> SuggestAsync(
        HttpRequest request, SuggestionService service, CancellationToken cancellationToken)
    {
        var (body, errors) = await JsonBody.ReadAsync(request, ApiJsonContext.Default.SuggestionRequest, cancellationToken);
        if (errors is not null)
        {
            return TypedResults.ValidationProblem(errors, title: "The suggestion request is invalid.");
        }
        var (context, max, invalid) = SuggestionValidation.Validate(body!);
        if (invalid is not null)
        {
            return TypedResults.ValidationProblem(invalid, title: "The suggestion request is invalid.");
        }

        var outcome = await service.SuggestAsync(context!, max, cancellationToken);
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
        });
    }
}
