namespace CommentFlow.Domain;

/// <summary>
/// One suggested comment. <see cref="Type"/> is a string rather than an enum because imported
/// history may carry types we do not know; engines only ever produce the three in <see cref="SuggestionTypes"/>.
/// </summary>
internal sealed record Suggestion(string Text, string Type, double Confidence);

internal static class SuggestionTypes
{
    /// <summary>Asks the reporter for information.</summary>
    public const string Diagnostic = "diagnostic";
    /// <summary>An immediate step the agent takes.</summary>
    public const string Action = "action";
    /// <summary>Closes the ticket or confirms the fix.</summary>
    public const string Resolution = "resolution";

    public static IReadOnlyList<string> All { get; } = [Diagnostic, Action, Resolution];

    /// <summary>Maps any casing of a known type to its canonical form; null when unknown.</summary>
    public static string? Normalize(string? type) => type?.Trim().ToLowerInvariant() switch
    {
        Diagnostic => Diagnostic,
        Action => Action,
        Resolution => Resolution,
        _ => null,
    };
}
