using System.Text.Json.Serialization;
using CommentFlow.Domain;

namespace CommentFlow.Api;

/// <summary>The suggestion request, as the earlier service's front end sends it.</summary>
internal sealed record SuggestionRequest
{
    public string? TicketKey { get; init; }
    public string? Summary { get; init; }
    public string? Description { get; init; }
    public string? IssueType { get; init; }
    public string? Status { get; init; }
    public string? Priority { get; init; }
    public List<string?>? AllComments { get; init; }

    /// <summary>Alias of <see cref="AllComments"/>, used when that is absent.</summary>
    public List<string?>? RecentComments { get; init; }
    public int? MaxSuggestions { get; init; }
}

/// <param name="Id">Stable: the context hash and the position, what feedback names the suggestion by.</param>
internal sealed record SuggestionDto(string Id, string Text, string Type, double Confidence);

internal sealed record FallbackDto(string From, string Reason);

internal sealed record SuggestionsResponse
{
    public bool Success { get; init; } = true;

    /// <summary>This response's own id, for correlating logs and client reports; suggestion ids stay stable across responses.</summary>
    public required string RequestId { get; init; }
    public required IReadOnlyList<SuggestionDto> Suggestions { get; init; }
    public int Count => Suggestions.Count;
    public required bool Cached { get; init; }
    public required string CacheHash { get; init; }
    public required string ContextHash { get; init; }
    public required string Engine { get; init; }
    public required string Model { get; init; }

    /// <summary>Present when an engine was tried and could not answer.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FallbackDto? Fallback { get; init; }

    /// <summary>"jira" when the ticket was read from Jira by its key; absent when the request carried the ticket.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Source { get; init; }
}

internal sealed record StatsDto
{
    public required long TotalSamples { get; init; }
    public required long TotalSuggestions { get; init; }
    public required long TotalComments { get; init; }
    public required double AvgSuggestionsPerSample { get; init; }
    public required double AvgCommentsPerSample { get; init; }
    public required IReadOnlyDictionary<string, long> ByIssueType { get; init; }
    public required IReadOnlyDictionary<string, long> ByStatus { get; init; }
    public required IReadOnlyDictionary<string, long> ByPriority { get; init; }
    public required IReadOnlyDictionary<string, long> ByEngine { get; init; }
    public required IReadOnlyDictionary<string, long> ByModel { get; init; }
    public required IReadOnlyDictionary<string, long> ByLanguage { get; init; }
    public required IReadOnlyDictionary<string, long> Masked { get; init; }
    public required CommentFlow.Storage.FeedbackStats Feedback { get; init; }
    public required bool Compressed { get; init; }
    public required long ArchivedSamples { get; init; }
    public required DateTimeOffset Created { get; init; }
    public required DateTimeOffset LastModified { get; init; }
    public required string Storage { get; init; }
}

internal sealed record FeedbackRequest
{
    public string? SuggestionId { get; init; }
    public string? ContextHash { get; init; }
    public string? Text { get; init; }
    public string? Action { get; init; }
    public string? FinalText { get; init; }
    public string? Agent { get; init; }
}

/// <summary>A comment to post on a Jira ticket: a suggestion by id (its text, or <c>Text</c> when the agent edited it), or a text.</summary>
internal sealed record JiraCommentRequest
{
    public string? TicketKey { get; init; }
    public string? SuggestionId { get; init; }
    public string? Text { get; init; }

    /// <summary>Default true: an internal note, never a reply the customer sees by accident.</summary>
    public bool? Internal { get; init; }
    public string? Agent { get; init; }
}

/// <param name="Feedback">What was recorded about the suggestion posted; null when the text matched no suggestion of the ticket.</param>
internal sealed record JiraCommentResponse(string TicketKey, string CommentId, bool Internal, FeedbackResponse? Feedback)
{
    public bool Success => true;
}

/// <summary>The earlier service's save call.</summary>
internal sealed record LegacySaveRequest
{
    public string? TicketKey { get; init; }
    public string? Text { get; init; }
    public string? Type { get; init; }
    public string? Action { get; init; }
}

/// <param name="Replaced">True when this agent's earlier feedback on the suggestion was replaced.</param>
internal sealed record FeedbackResponse(string SuggestionId, string Action, string Agent, bool Replaced)
{
    public bool Success => true;
}

/// <param name="WriterError">The store's error while the writer cannot write (it retries with back-off), else null.</param>
/// <param name="WriterFailingSince">When the current run of failed writes began, else null.</param>
internal sealed record CaptureDto(long Enqueued, long Written, long Duplicates, long Dropped, long FailedWrites, long Lost, long Quarantined, int QueueDepth, int QueueCapacity,
    string? WriterError, DateTimeOffset? WriterFailingSince);

internal sealed record StatsResponse(StatsDto Stats, CaptureDto Capture, CommentFlow.Engines.EngineCountersSnapshot Engines)
{
    public bool Success => true;

    /// <summary>The retention job since start; absent where no job runs (the command line).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RetentionDto? Retention { get; init; }

    /// <summary>Jira comments taken in: since start (webhook, poller) and stored in all; absent on the command line.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JiraStatsDto? Jira { get; init; }
}

/// <param name="Deliveries">Webhook deliveries accepted since start (signature good), duplicates included.</param>
/// <param name="PolledComments">Comments the poller found new since start.</param>
/// <param name="Stored">Jira comments in the store, by outcome (accepted, edited, written, ignored).</param>
/// <param name="StoredInternal">Of the stored agent replies (not ignored), internal notes; <paramref name="StoredPublic"/> the public ones.</param>
/// <param name="PollCursor">Where the poller resumes; null before its first pass.</param>
internal sealed record JiraStatsDto(long Deliveries, long PolledComments, long Accepted, long Edited, long Written, long Ignored, long RefusedSignatures,
    long Duplicates, long Polls, long PollFailures, IReadOnlyDictionary<string, long> Stored, long StoredInternal, long StoredPublic, DateTimeOffset? PollCursor);

/// <param name="Outcome">accepted, edited, written or ignored; null when the event carries no comment CommentFlow uses.</param>
/// <param name="Duplicate">True when this comment was taken in before: nothing new was recorded.</param>
internal sealed record JiraWebhookResponse(string Event, string? CommentId, string? Outcome, bool Duplicate)
{
    public bool Success => true;
}

/// <param name="DeletedTotal">Samples deleted by retention since start.</param>
internal sealed record RetentionDto(int Days, DateTimeOffset? LastRun, long DeletedTotal, long FeedbackDeletedTotal);

internal sealed record ErasureResponse(string TicketKey, int SamplesDeleted, int FeedbackDeleted, bool Scrubbed, int SnapshotsDeleted)
{
    public bool Success => true;
}

internal sealed record ExportResponse(string Path, int Samples, int Rows)
{
    public bool Success => true;
    public string Message => "Training data exported successfully";
}

internal sealed record CacheStatsDto(bool Enabled, long Entries, long Hits, long Misses, double HitRate, int TtlSeconds, int MaxEntries);

/// <summary>The earlier service's cache figures: entries held (expired ones until the cache's next scan), unexpired, expired.</summary>
internal sealed record LegacyCacheStatsDto(long TotalEntries, long ValidEntries, long ExpiredEntries, int TtlSeconds);

/// <param name="CacheStats">The earlier front end reads this shape; <paramref name="Cache"/> is today's.</param>
internal sealed record CacheStatsResponse(CacheStatsDto Cache, LegacyCacheStatsDto CacheStats)
{
    public bool Success => true;
}

internal sealed record CacheClearResponse(int Cleared)
{
    public bool Success => true;
    public string Message => "Cache cleared";
}

internal sealed record OllamaDto(string State, string Url, string Model, bool WarmedUp, IReadOnlyList<string> Models, string? Error, DateTimeOffset? CheckedAt);

internal sealed record WarmupResponse(bool Success, string Message, OllamaDto Ollama, double? DurationMs);

internal sealed record ServiceHealthResponse(string Status, string Engine, OllamaDto Ollama, string Storage, bool StoreReachable, CaptureDto Capture, JiraHealthDto Jira)
{
    public bool Success => true;
}

/// <param name="Configured">Jira:BaseUrl is set: the dashboard offers loading tickets from Jira and posting to it. Never the address or credentials.</param>
internal sealed record JiraHealthDto(bool Configured);

internal sealed record ModelDto(string Version, DateTimeOffset CreatedAt, int Samples, int RetrievalItems, string DataFingerprint,
    string? SnapshotId, bool GateOverridden, int Neighbours, double Temperature, double CrossValidatedRougeL, double? TypeMacroF1, string? TypeTrainer, bool Active);

/// <summary>The registry after a promote or rollback; every instance on the models folder serves <c>Active</c> within Local:ReloadSeconds.</summary>
internal sealed record ModelChangeResponse(string? Active, IReadOnlyList<string> Previous)
{
    public bool Success => true;
}

internal sealed record ModelsResponse(string? Active, string? Serving, IReadOnlyList<ModelDto> Versions, CommentFlow.Engines.Local.ShadowStats Shadow)
{
    public bool Success => true;
}

internal sealed record TrainingJobDto(string Id, string State, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, string? Progress, string? Version,
    string? Error, bool Refused, bool Promote, bool Force, string? SnapshotId, double? CrossValidatedRougeL)
{
    public static TrainingJobDto Of(CommentFlow.Training.TrainingJob job) => new(job.Id, job.State.ToString().ToLowerInvariant(), job.StartedAt, job.FinishedAt,
        job.Progress, job.Version, job.Error, job.Refused, job.Promote, job.Request.Force, job.SnapshotId ?? job.Request.SnapshotId, job.Manifest?.CrossValidatedRougeL);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, MaxDepth = 32)]
[JsonSerializable(typeof(SuggestionRequest))]
[JsonSerializable(typeof(SuggestionsResponse))]
[JsonSerializable(typeof(FeedbackRequest))]
[JsonSerializable(typeof(LegacySaveRequest))]
[JsonSerializable(typeof(FeedbackResponse))]
[JsonSerializable(typeof(JiraCommentRequest))]
[JsonSerializable(typeof(JiraCommentResponse))]
[JsonSerializable(typeof(JiraWebhookResponse))]
[JsonSerializable(typeof(StatsResponse))]
[JsonSerializable(typeof(ExportResponse))]
[JsonSerializable(typeof(CacheStatsResponse))]
[JsonSerializable(typeof(CacheClearResponse))]
[JsonSerializable(typeof(WarmupResponse))]
[JsonSerializable(typeof(ServiceHealthResponse))]
[JsonSerializable(typeof(ModelsResponse))]
[JsonSerializable(typeof(ModelChangeResponse))]
[JsonSerializable(typeof(TrainingJobDto))]
[JsonSerializable(typeof(ErasureResponse))]
[JsonSerializable(typeof(SamplesResponse))]
[JsonSerializable(typeof(DailyResponse))]
[JsonSerializable(typeof(ActivityResponse))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
