using CommentFlow.Domain;

namespace CommentFlow.Tests;

/// <summary>Test data with sensible defaults.</summary>
internal static class Some
{
    private static int _counter;

    public static TicketContext Context(string? summary = null, string description = "Users report an error", IReadOnlyList<string>? comments = null,
        string issueType = "Bug", string status = "Open", string priority = "High", string? key = null) => new()
    {
        TicketKey = key ?? $"SD-{Interlocked.Increment(ref _counter)}",
        Summary = summary ?? $"Ticket {Guid.NewGuid():N}",
        Description = description,
        IssueType = issueType,
        Status = status,
        Priority = priority,
        Comments = comments ?? ["First look", "Asked for logs"],
    };

    public static TrainingSample Sample(TicketContext? context = null, int suggestions = 3, string engine = "rules", DateTimeOffset? at = null)
    {
        context ??= Context();
        return TrainingSample.From(context, context.Hash(),
            Enumerable.Range(0, suggestions).Select(i => new Suggestion($"Suggestion {i} for {context.Summary}", SuggestionTypes.All[i % 3], 0.5 + i * 0.1)).ToList(),
            engine == "rules" ? "rules-v1" : "llama3.2", engine, 12.5, at ?? new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));
    }
}
