using CommentFlow.Dataset;
using CommentFlow.Storage;

namespace CommentFlow.Privacy;

/// <summary>Erasure of a ticket, shared by the HTTP endpoint and <c>commentflow forget</c>.</summary>
internal static class Erasure
{
    /// <summary>Erases the ticket from the store, then deletes every dataset snapshot that holds one of its samples.</summary>
    public static async Task<(ErasureResult Store, IReadOnlyList<string> Snapshots)> ForgetTicketAsync(
        ITrainingStore store, SnapshotStore snapshots, string ticketKey, CancellationToken cancellationToken)
    {
        var result = await store.ForgetTicketAsync(ticketKey, cancellationToken);
        var hashes = result.ContextHashes.ToHashSet(StringComparer.Ordinal);
        var deleted = await snapshots.DeleteHoldingAsync(s => s.Context.TicketKey == ticketKey || hashes.Contains(s.ContextHash), cancellationToken);
        return (result, deleted);
    }

    /// <summary>The same limit as a ticket key in a suggestion request: a longer one can never have been stored.</summary>
    public const int MaxTicketKeyLength = 200;

    /// <summary>Why the key cannot be erased, or null when it can.</summary>
    public static string? ValidateTicketKey(string? ticketKey) =>
        string.IsNullOrWhiteSpace(ticketKey) ? "A ticket_key is required."
        : ticketKey.Length > MaxTicketKeyLength ? $"A ticket_key has at most {MaxTicketKeyLength} characters."
        : null;
}
