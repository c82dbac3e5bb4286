namespace CommentFlow.Domain;

/// <summary>One captured answer: the whole input, the whole output, who produced it and how fast.</summary>
internal sealed record TrainingSample
{
    public required string ContextHash { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required TicketContext Context { get; init; }
    public required IReadOnlyList<Suggestion> Suggestions { get; init; }
    public required string Model { get; init; }
    public required string Engine { get; init; }
    public double LatencyMs { get; init; }

    public static TrainingSample From(TicketContext context, string hash, IReadOnlyList<Suggestion> suggestions,
        string model, string engine, double latencyMs, DateTimeOffset now) => new()
    {
        ContextHash = hash,
        CreatedAt = now,
        Context = context,
        Suggestions = suggestions,
        Model = model,
        Engine = engine,
        LatencyMs = latencyMs,
    };
}
