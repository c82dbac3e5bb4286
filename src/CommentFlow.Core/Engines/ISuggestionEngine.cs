using CommentFlow.Domain;

namespace CommentFlow.Engines;

/// <summary>Something that can suggest comments. Failures are values: the router decides what comes next.</summary>
internal interface ISuggestionEngine
{
    string Name { get; }

    Task<EngineResult> SuggestAsync(TicketContext context, int maxSuggestions, CancellationToken cancellationToken);
}

internal sealed record EngineResult
{
    public required string Engine { get; init; }
    public required string Model { get; init; }
    public IReadOnlyList<Suggestion> Suggestions { get; init; } = [];

    /// <summary>A stable reason code when the engine could not give a usable answer; null on success.</summary>
    public string? Failure { get; init; }

    public bool Succeeded => Failure is null && Suggestions.Count > 0;

    public static EngineResult Failed(string engine, string model, string reason) =>
        new() { Engine = engine, Model = model, Failure = reason };
}

/// <summary>The reason codes engines report; they also name the fallback in responses and metrics.</summary>
internal static class FailureReasons
{
    public const string Unavailable = "unavailable";
    public const string Timeout = "timeout";
    public const string HttpError = "http_error";
    public const string ModelError = "model_error";
    public const string ConnectionError = "connection_error";
    public const string MalformedResponse = "malformed_response";
    public const string EmptyResponse = "empty_response";
    public const string InvalidOutput = "invalid_output";
}
