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

    /// <summary>What agents did with the suggestions; filled when the store reads samples for training and exports.</summary>
    public IReadOnlyList<SuggestionFeedback> Feedback { get; init; } = [];

    /// <summary>Confidence given to a suggestion an agent accepted, and to an agent's edited text: a person vouched for it.</summary>
    public const double KeptConfidence = 1.0;

    /// <summary>Confidence left to a dismissed suggestion: below every cleaning threshold, and ranked under anything kept.</summary>
    public const double DismissedConfidence = 0.05;

    /// <summary>The latest feedback on each suggestion, whichever agent gave it; null where there is none.</summary>
    public SuggestionFeedback?[] LatestFeedback()
    {
        var latest = new SuggestionFeedback?[Suggestions.Count];
        foreach (var f in Feedback)
        {
            if (f.Action != FeedbackActions.Written && f.Position >= 0 && f.Position < latest.Length && (latest[f.Position] is not { } seen || f.CreatedAt >= seen.CreatedAt))
            {
                latest[f.Position] = f;
            }
        }
        return latest;
    }

    /// <summary>
    /// The suggestions as the agents judged them, which is what training and exports learn from: an edited one becomes
    /// the agent's text, an accepted one keeps its text, both with <see cref="KeptConfidence"/>; a dismissed one keeps
    /// its text with <see cref="DismissedConfidence"/>; the others are unchanged. Replies agents wrote themselves for this
    /// context (<see cref="FeedbackActions.Written"/>) follow, with <see cref="KeptConfidence"/>, at their own positions.
    /// </summary>
    public IReadOnlyList<Suggestion> Reviewed()
    {
        if (Feedback.Count == 0)
        {
            return Suggestions;
        }
        var latest = LatestFeedback();
        return Suggestions.Select((s, i) => latest[i] switch
        {
            { Action: FeedbackActions.Edited, FinalText: { } text } => s with { Text = text, Confidence = KeptConfidence },
            { Action: FeedbackActions.Accepted } => s with { Confidence = KeptConfidence },
            { Action: FeedbackActions.Dismissed } => s with { Confidence = Math.Min(s.Confidence, DismissedConfidence) },
            _ => s,
        }).Concat(Written().Select(f => new Suggestion(f.FinalText!, WrittenType, KeptConfidence))).ToList();
    }

    /// <summary>Agents' own replies for this context, in the order they were given.</summary>
    public IEnumerable<SuggestionFeedback> Written() =>
        Feedback.Where(f => f.Action == FeedbackActions.Written && !string.IsNullOrWhiteSpace(f.FinalText)).OrderBy(f => f.CreatedAt);

    /// <summary>An agent's reply has no suggestion type; history replies have none either.</summary>
    public const string WrittenType = "";

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
