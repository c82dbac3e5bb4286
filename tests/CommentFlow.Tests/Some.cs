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

    /// <summary>
    /// Ollama-answered tickets in three topics whose comment type follows the topic (diagnostic, action, resolution, in
    /// turn), each topic with one answer: a classifier can learn the types and retrieval finds the answer.
    /// </summary>
    public static List<TrainingSample> TopicSamples(int count = 90)
    {
        (string Summary, string Type, string Answer)[] topics =
        [
            ("Cannot log in, password rejected", "diagnostic", "Which account is it and what message do you see?"),
            ("Server disk full on the database host", "action", "Freed space on the data volume and rotated the logs."),
            ("Thanks, the report works again", "resolution", "Glad it works again, closing the ticket."),
        ];
        return Enumerable.Range(0, count).Select(i =>
        {
            var (summary, type, answer) = topics[i % 3];
            var context = new TicketContext { TicketKey = $"IT-{i}", Summary = $"{summary} #{i}", Description = $"ticket {i}", Language = "en" };
            return TrainingSample.From(context, context.Hash(), [new Suggestion(answer, type, 0.9)], "llama3.2", "ollama", 900, DateTimeOffset.UnixEpoch);
        }).ToList();
    }

    public static TrainingSample Sample(TicketContext? context = null, int suggestions = 3, string engine = "rules", DateTimeOffset? at = null)
    {
        context ??= Context();
        return TrainingSample.From(context, context.Hash(),
            Enumerable.Range(0, suggestions).Select(i => new Suggestion($"Suggestion {i} for {context.Summary}", SuggestionTypes.All[i % 3], 0.5 + i * 0.1)).ToList(),
            engine == "rules" ? "rules-v1" : "llama3.2", engine, 12.5, at ?? new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));
    }
}
