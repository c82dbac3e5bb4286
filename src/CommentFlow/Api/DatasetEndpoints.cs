using CommentFlow.Api.Access;
using CommentFlow.Capture;
using CommentFlow.Configuration;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Export;
using CommentFlow.Jira;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CommentFlow.Api;

internal static class DatasetEndpoints
{
    public const string TrainingDatasetFile = "training_dataset.json";

    public static IEndpointRouteBuilder MapDataset(this IEndpointRouteBuilder api)
    {
        // Aggregates for the agents' front end; writing the whole dataset to disk is an operator's call.
        var agent = api.MapGroup("").RequireAuthorization(AccessPolicies.Agent);
        var admin = api.MapGroup("").RequireAuthorization(AccessPolicies.Admin);
        agent.MapGet("/ml-stats", GetStatsAsync)
            .WithName("GetStats")
            .WithSummary("Totals and distributions of the training store, and the capture counters.");
        admin.MapPost("/export-training-data", ExportAsync)
            .WithName("ExportTrainingData")
            .WithSummary("Writes data/ml_models/training_dataset.json: one row per suggestion.");
        return api;
    }

    internal static async Task<StatsResponse> BuildStatsAsync(ITrainingStore store, CaptureQueue capture, EngineCounters engines, CancellationToken cancellationToken)
    {
        var s = await store.GetStatsAsync(cancellationToken);
        return new StatsResponse(
            new StatsDto
            {
                TotalSamples = s.TotalSamples,
                TotalSuggestions = s.TotalSuggestions,
                TotalComments = s.TotalComments,
                AvgSuggestionsPerSample = s.AvgSuggestionsPerSample,
                AvgCommentsPerSample = s.AvgCommentsPerSample,
                ByIssueType = s.ByIssueType,
                ByStatus = s.ByStatus,
                ByPriority = s.ByPriority,
                ByEngine = s.ByEngine,
                ByModel = s.ByModel,
                ByLanguage = s.ByLanguage,
                Masked = s.Masked,
                Feedback = s.Feedback,
                Compressed = s.Compressed,
                ArchivedSamples = s.ArchivedSamples,
                Created = s.Created,
                LastModified = s.LastModified,
                Storage = store.Provider,
            },
            CaptureOf(capture),
            engines.Snapshot());
    }

    internal static CaptureDto CaptureOf(CaptureQueue capture)
    {
        var c = capture.Counters;
        var failure = c.Failure;
        return new CaptureDto(c.Enqueued, c.Written, c.Duplicates, c.Dropped, c.FailedWrites, c.Lost, c.Quarantined, capture.Depth, capture.Capacity,
            failure?.Message, failure?.Since);
    }

    private static async Task<Ok<StatsResponse>> GetStatsAsync(ITrainingStore store, CaptureQueue capture, EngineCounters engines, RetentionStatus retention,
        JiraCounters jira, CancellationToken cancellationToken)
    {
        var r = retention.Snapshot();
        return TypedResults.Ok(await BuildStatsAsync(store, capture, engines, cancellationToken) with
        {
            Retention = new RetentionDto(r.Days, r.LastRun, r.DeletedTotal, r.FeedbackDeletedTotal),
            Jira = await JiraStatsAsync(store, jira, cancellationToken),
        });
    }

    private static async Task<JiraStatsDto> JiraStatsAsync(ITrainingStore store, JiraCounters jira, CancellationToken cancellationToken)
    {
        var stored = await store.CountAgentRepliesAsync(cancellationToken);
        var replies = stored.Where(c => c.Outcome != AgentReplyOutcomes.Ignored).ToList();
        long Since(string outcome) => jira.Outcomes.GetValueOrDefault(outcome);
        return new JiraStatsDto(jira.Deliveries, jira.PolledComments, Since(AgentReplyOutcomes.Accepted), Since(AgentReplyOutcomes.Edited),
            Since(AgentReplyOutcomes.Written), Since(AgentReplyOutcomes.Ignored), jira.RefusedSignatures, jira.Duplicates, jira.Polls, jira.PollFailures,
            AgentReplyOutcomes.All.ToDictionary(o => o, o => stored.Where(c => c.Outcome == o).Sum(c => c.Count)),
            replies.Where(c => c.Internal == true).Sum(c => c.Count), replies.Where(c => c.Internal != true).Sum(c => c.Count),
            await JiraPoller.ReadCursorAsync(store, cancellationToken));
    }

    private static async Task<Ok<ExportResponse>> ExportAsync(ITrainingStore store, IOptions<CommentFlowOptions> options, CancellationToken cancellationToken)
    {
        // The path is fixed under DataDir: a client never chooses where the server writes.
        var path = Path.Combine(options.Value.ResolveModelsDir(), TrainingDatasetFile);
        var (samples, rows) = await AtomicFile.WriteAsync(path, stream => TrainingDatasetWriter.WriteAsync(stream, store.ReadAllAsync(cancellationToken), cancellationToken));
        return TypedResults.Ok(new ExportResponse(path, samples, rows));
    }
}
