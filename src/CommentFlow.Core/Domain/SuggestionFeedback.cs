using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace CommentFlow.Domain;

internal static class FeedbackActions
{
    /// <summary>Posted as suggested.</summary>
    public const string Accepted = "accepted";

    /// <summary>Posted after changes: the agent's text is the gold comment for that context.</summary>
    public const string Edited = "edited";

    /// <summary>Not used.</summary>
    public const string Dismissed = "dismissed";

    /// <summary>
    /// An agent's own reply posted in Jira for this context, none of the suggestions: <c>FinalText</c> is the reply, and
    /// <c>Position</c> is past the sample's suggestions (it names no suggestion). Recorded from Jira only, never by clients.
    /// </summary>
    public const string Written = "written";

    public static IReadOnlyList<string> All { get; } = [Accepted, Edited, Dismissed, Written];

    /// <summary>What a client may send to the feedback endpoints.</summary>
    public static IReadOnlyList<string> Given { get; } = [Accepted, Edited, Dismissed];

    /// <summary>Accepted or edited: the agent kept the suggestion's idea.</summary>
    public static bool IsKept(string action) => action is Accepted or Edited;
}

/// <summary>What one agent did with one suggestion. The suggestion's engine, model and type are copied for the acceptance rates.</summary>
internal sealed record SuggestionFeedback
{
    public required string ContextHash { get; init; }
    public required int Position { get; init; }

    /// <summary>"" when the client did not name the agent: such feedback replaces earlier anonymous feedback.</summary>
    public string Agent { get; init; } = "";
    public required string Action { get; init; }
    public string? FinalText { get; init; }
    public string? TicketKey { get; init; }
    public required string Engine { get; init; }
    public required string Model { get; init; }
    public required string SuggestionType { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }

    public string SuggestionId => Domain.SuggestionId.Format(ContextHash, Position);
}

/// <summary>A suggestion's stable id: its sample's context hash and its position in the answer, "hash:position".</summary>
internal static class SuggestionId
{
    public static string Format(string contextHash, int position) => $"{contextHash}:{position.ToString(CultureInfo.InvariantCulture)}";

    public static bool TryParse(string? id, [NotNullWhen(true)] out string? contextHash, out int position)
    {
        contextHash = null;
        position = -1;
        var colon = id?.LastIndexOf(':') ?? -1;
        if (colon < 0 || !ContextHash.IsValid(id![..colon])
            || !int.TryParse(id.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out position) || position > 1_000)
        {
            position = -1;
            return false;
        }
        contextHash = id[..colon];
        return true;
    }
}
