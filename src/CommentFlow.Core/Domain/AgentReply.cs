namespace CommentFlow.Domain;

/// <summary>What became of a comment taken in from Jira.</summary>
internal static class AgentReplyOutcomes
{
    /// <summary>The text of a suggestion shown for the ticket, whitespace aside.</summary>
    public const string Accepted = FeedbackActions.Accepted;

    /// <summary>Close to a suggestion shown for the ticket (see <c>AgentReplyMatcher.EditedThreshold</c>).</summary>
    public const string Edited = FeedbackActions.Edited;

    /// <summary>An agent's own text: no suggestion was shown, or none was close.</summary>
    public const string Written = FeedbackActions.Written;

    /// <summary>The reporter's own comment (or an empty one): never training data.</summary>
    public const string Ignored = "ignored";

    public static IReadOnlyList<string> All { get; } = [Accepted, Edited, Written, Ignored];
}

internal static class AgentReplySources
{
    public const string Webhook = "webhook";
    public const string Poll = "poll";

    /// <summary>Posted through <c>/jira/comment</c>, which records its own feedback: Jira's echo of it is not counted again.</summary>
    public const string Post = "post";
}

/// <summary>
/// One Jira comment as CommentFlow took it in, once per <see cref="CommentId"/>. The reply's text is not here: it is the
/// feedback on (<see cref="ContextHash"/>, <see cref="Position"/>) or the agent sample with that hash.
/// </summary>
internal sealed record AgentReply
{
    public required string CommentId { get; init; }
    public required string TicketKey { get; init; }
    public required string Source { get; init; }
    public required string Outcome { get; init; }

    /// <summary>True for an internal note, false for a reply the customer sees, null outside a service project.</summary>
    public bool? Internal { get; init; }
    public string? ContextHash { get; init; }
    public int? Position { get; init; }
    public double? Similarity { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
}

/// <param name="Outcome">One of <see cref="AgentReplyOutcomes"/>.</param>
internal sealed record AgentReplyCount(string Outcome, bool? Internal, long Count);
