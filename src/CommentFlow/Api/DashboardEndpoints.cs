using System.Globalization;
using System.Net.Mime;
using CommentFlow.Api.Access;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Export;
using CommentFlow.Legacy;
using CommentFlow.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CommentFlow.Api;

/// <summary>
/// Read-only views the dashboard needs and no other endpoint gives: a page of samples, samples per day, recent activity
/// by engine, and the exports as downloads. Aggregates take an agent key (like ml-stats); sample text takes an admin key.
/// </summary>
internal static class DashboardEndpoints
{
    public const int MaxPageSize = 200;
    public const int MaxPage = 1_000_000;
    public const int DefaultPageSize = 20;
    public const int MaxQueryLength = 200;
    public static IReadOnlyList<string> ExportFormats { get; } = ["seed", "legacy", "jsonl", "chat", "csv"];

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder api)
    {
        var agent = api.MapGroup("").RequireAuthorization(AccessPolicies.Agent);
        var admin = api.MapGroup("").RequireAuthorization(AccessPolicies.Admin);
        admin.MapGet("/samples", ListSamplesAsync)
            .WithName("ListSamples")
            .WithSummary("A page of stored samples, newest first, with their suggestions and feedback (?page=1&size=20&q=…: q matches a ticket key anywhere or the start of a context hash).")
            .WithIntegerQueryParameter("page", "Page number, from 1 (default 1).", 1, MaxPage)
            .WithIntegerQueryParameter("size", $"Samples per page (default {DefaultPageSize}).", 1, MaxPageSize)
            .WithQueryParameter("q", "Search: part of a ticket key (any case), or the start of a context hash.", MaxQueryLength, required: false);
        agent.MapGet("/samples/daily", DailyAsync)
            .WithName("GetSamplesPerDay")
            .WithSummary("Samples stored per UTC day of their creation, oldest first.");
        agent.MapGet("/activity", Activity)
            .WithName("GetActivity")
            .WithSummary("Since the process started (in memory, last 24 h): answers by engine per minute, latency percentiles by engine over its last 1,000 answers, shadow agreement per minute.");
        admin.MapGet("/export", Export)
            .WithName("DownloadExport")
            .WithSummary("The store exported as a download (?format=seed|legacy|jsonl|chat|csv), streamed; the same files as 'commentflow export'.")
            .WithQueryParameter("format", "seed, legacy, jsonl, chat or csv.", 10)
            .Produces<string>(StatusCodes.Status200OK, "application/jsonl", "application/json", "text/csv");
        return api;
    }

    private static async Task<Results<Ok<SamplesResponse>, ValidationProblem>> ListSamplesAsync(HttpRequest request, ITrainingStore store, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var page = ReadInt(request, "page", 1, 1, MaxPage, errors);
        var size = ReadInt(request, "size", DefaultPageSize, 1, MaxPageSize, errors);
        var q = request.Query["q"];
        if (q.Count > 1)
        {
            errors["q"] = ["Give q once."];
        }
        else if (q.ToString().Length > MaxQueryLength)
        {
            errors["q"] = [$"q is at most {MaxQueryLength} characters."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The sample list request is invalid.");
        }
        var result = await store.ListSamplesAsync(page, size, q.ToString().Trim(), cancellationToken);
        return TypedResults.Ok(new SamplesResponse(page, size, result.Total, result.Samples.Select(SampleDto.Of).ToList()));
    }

    private static int ReadInt(HttpRequest request, string name, int fallback, int min, int max, Dictionary<string, string[]> errors)
    {
        var values = request.Query[name];
        if (values.Count == 0)
        {
            return fallback;
        }
        if (values.Count == 1 && int.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }
        errors[name] = [$"{name} is one whole number from {min} to {max}."];
        return fallback;
    }

    private static async Task<Ok<DailyResponse>> DailyAsync(ITrainingStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(new DailyResponse(await store.CountSamplesPerDayAsync(cancellationToken)));

    private static Ok<ActivityResponse> Activity(ActivitySeries activity)
    {
        var snapshot = activity.Snapshot();
        return TypedResults.Ok(new ActivityResponse(snapshot.Minutes, snapshot.Latency));
    }

    private static Results<PushStreamHttpResult, ValidationProblem> Export(HttpRequest request, ITrainingStore store, CancellationToken cancellationToken)
    {
        var format = request.Query["format"];
        if (format.Count != 1 || !ExportFormats.Contains(format.ToString()))
        {
            return TypedResults.ValidationProblem(JsonBody.Error("format", $"format is one of {string.Join(", ", ExportFormats)}."), title: "The export request is invalid.");
        }
        var (file, contentType) = format.ToString() switch
        {
            "legacy" => (LegacyStoreFile.FileName, MediaTypeNames.Application.Json),
            "jsonl" => ("samples.jsonl", "application/jsonl"),
            "chat" => ("chat.jsonl", "application/jsonl"),
            "csv" => ("samples.csv", "text/csv"),
            _ => (DatasetEndpoints.TrainingDatasetFile, MediaTypeNames.Application.Json),
        };
        // Streamed as the store is read: memory stays flat. A fault mid-way cuts the download short (the status is already sent).
        return TypedResults.Stream(async response =>
        {
            // The exporters flush after every sample; the buffer turns that into fewer, larger writes to the response.
            await using var output = new BufferedStream(response, 1 << 16);
            switch (format.ToString())
            {
                case "legacy":
                    await LegacyStoreFile.WriteAsync(output, store.ReadAllAsync(cancellationToken), await store.GetStatsAsync(cancellationToken), TimeZoneInfo.Local, cancellationToken);
                    break;
                case "jsonl":
                    await SampleExporters.WriteJsonLinesAsync(output, store.ReadAllAsync(SampleExporters.JsonLine, cancellationToken), cancellationToken);
                    break;
                case "chat":
                    await SampleExporters.WriteChatAsync(output, store.ReadAllAsync(cancellationToken), null, cancellationToken);
                    break;
                case "csv":
                    await SampleExporters.WriteCsvAsync(output, store.ReadAllAsync(cancellationToken), null, cancellationToken);
                    break;
                default:
                    await TrainingDatasetWriter.WriteAsync(output, store.ReadAllAsync(cancellationToken), cancellationToken);
                    break;
            }
        }, contentType, file);
    }
}

internal sealed record SamplesResponse(int Page, int Size, long Total, IReadOnlyList<SampleDto> Samples)
{
    public bool Success => true;
}

internal sealed record SampleFeedbackDto(string Agent, string Action, string? FinalText, DateTimeOffset CreatedAt);

internal sealed record SampleSuggestionDto(string Id, string Text, string Type, double Confidence, IReadOnlyList<SampleFeedbackDto> Feedback);

internal sealed record SampleDto(string ContextHash, string? TicketKey, DateTimeOffset CreatedAt, string Summary, string Description, string IssueType,
    string Status, string Priority, string? Language, IReadOnlyList<string> Comments, string Engine, string Model, double LatencyMs,
    IReadOnlyList<SampleSuggestionDto> Suggestions)
{
    public static SampleDto Of(TrainingSample s) => new(s.ContextHash, s.Context.TicketKey, s.CreatedAt, s.Context.Summary, s.Context.Description,
        s.Context.IssueType, s.Context.Status, s.Context.Priority, s.Context.Language, s.Context.Comments, s.Engine, s.Model, s.LatencyMs,
        s.Suggestions.Select((g, i) => new SampleSuggestionDto(SuggestionId.Format(s.ContextHash, i), g.Text, g.Type, g.Confidence,
            s.Feedback.Where(f => f.Position == i).Select(f => new SampleFeedbackDto(f.Agent, f.Action, f.FinalText, f.CreatedAt)).ToList())).ToList());
}

internal sealed record DailyResponse(IReadOnlyList<DailyCount> Days)
{
    public bool Success => true;
}

internal sealed record ActivityResponse(IReadOnlyList<ActivityMinute> Minutes, IReadOnlyDictionary<string, LatencyPercentiles> Latency)
{
    public bool Success => true;
}
