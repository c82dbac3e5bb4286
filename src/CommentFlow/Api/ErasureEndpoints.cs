using CommentFlow.Api.Access;
using CommentFlow.Caching;
using CommentFlow.Capture;
using CommentFlow.Dataset;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CommentFlow.Api;

/// <summary>Erasure of a ticket's data on request (admin only).</summary>
internal static class ErasureEndpoints
{
    /// <summary>Longest an erasure waits for the capture writer to store what was queued before it.</summary>
    private static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(30);

    public static RouteGroupBuilder MapErasure(this IEndpointRouteBuilder api)
    {
        var group = api.MapGroup("").RequireAuthorization(AccessPolicies.Admin);
        group.MapDelete("/samples", ForgetTicketAsync)
            .WithName("ForgetTicket")
            .WithSummary("Erases every sample and feedback row of a ticket (?ticket_key=…) from the store and says how many.")
            .WithQueryParameter("ticket_key", "The ticket whose samples, feedback and dataset snapshots are erased.", Erasure.MaxTicketKeyLength);
        return group;
    }

    private static async Task<Results<Ok<ErasureResponse>, ValidationProblem, ProblemHttpResult>> ForgetTicketAsync(
        HttpRequest request, ITrainingStore store, SnapshotStore snapshots, CaptureWriter writer, SuggestionCache cache, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var values = request.Query["ticket_key"];
        var error = values.Count > 1 ? "Give one ticket_key per request." : Erasure.ValidateTicketKey(values.ToString());
        if (error is not null)
        {
            return TypedResults.ValidationProblem(JsonBody.Error("ticket_key", error), title: "The erasure request is invalid.");
        }
        var ticketKey = values.ToString();

        // A sample of this ticket may still be in the capture queue: let the writer store it first, so it is erased too.
        using (var timeout = new CancellationTokenSource(FlushTimeout, time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
        {
            try
            {
                await writer.FlushAsync(linked.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                    title: "The capture queue did not drain in time; nothing was erased.",
                    detail: "Samples captured before this request are still waiting to be written (see capture in ml-stats). Retry later.");
            }
        }

        var (result, deleted) = await Erasure.ForgetTicketAsync(store, snapshots, ticketKey, cancellationToken);
        foreach (var hash in result.ContextHashes)
        {
            cache.Remove(hash);
        }
        return TypedResults.Ok(new ErasureResponse(ticketKey, result.Samples, result.Feedback, result.Scrubbed, deleted.Count));
    }
}
