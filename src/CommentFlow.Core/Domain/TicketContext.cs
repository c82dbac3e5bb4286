namespace CommentFlow.Domain;

/// <summary>What the agent sees when asking for a suggestion. Comments are oldest first.</summary>
internal sealed record TicketContext
{
    public const string DefaultIssueType = "Unknown";
    public const string DefaultStatus = "Open";
    public const string DefaultPriority = "Medium";

    public string? TicketKey { get; init; }
    public string Summary { get; init; } = "";
    public string Description { get; init; } = "";
    public string IssueType { get; init; } = DefaultIssueType;
    public string Status { get; init; } = DefaultStatus;
    public string Priority { get; init; } = DefaultPriority;
    public IReadOnlyList<string> Comments { get; init; } = [];

    /// <summary>ISO 639-1 code when known (imports carry it); null otherwise. Not part of the hash.</summary>
    public string? Language { get; init; }

    /// <summary>The support queue or team, when known. Not part of the hash.</summary>
    public string? Queue { get; init; }

    public string Hash() => ContextHash.Compute(Summary, Description, Comments);
}
