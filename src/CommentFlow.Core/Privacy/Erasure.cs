namespace CommentFlow.Privacy;

/// <summary>The one rule an erasure request must meet, shared by the HTTP endpoint and <c>commentflow forget</c>.</summary>
internal static class Erasure
{
    /// <summary>The same limit as a ticket key in a suggestion request: a longer one can never have been stored.</summary>
    public const int MaxTicketKeyLength = 200;

    /// <summary>Why the key cannot be erased, or null when it can.</summary>
    public static string? ValidateTicketKey(string? ticketKey) =>
        string.IsNullOrWhiteSpace(ticketKey) ? "A ticket_key is required."
        : ticketKey.Length > MaxTicketKeyLength ? $"A ticket_key has at most {MaxTicketKeyLength} characters."
        : null;
}
