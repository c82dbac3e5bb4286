using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.OwnModel;
using CommentFlow.Storage;
using CommentFlow.Training;

namespace CommentFlow.Dataset;

/// <summary>What the training data looks like, and what cleaning would remove: <c>commentflow dataset report</c>.</summary>
internal sealed record DatasetReport
{
    public required long Samples { get; init; }
    public required long Suggestions { get; init; }
    public required long SuggestionsAfterCleaning { get; init; }
    public required IReadOnlyDictionary<string, long> BySuggestionType { get; init; }
    public required IReadOnlyDictionary<string, long> ByIssueType { get; init; }
    public required IReadOnlyDictionary<string, long> ByStatus { get; init; }
    public required IReadOnlyDictionary<string, long> ByPriority { get; init; }
    public required IReadOnlyDictionary<string, long> ByLanguage { get; init; }
    public required IReadOnlyDictionary<string, long> ByModel { get; init; }

    /// <summary>Suggestions per confidence bucket of width 0.1, keyed by the bucket's lower bound ("0.0" … "0.9").</summary>
    public required IReadOnlyDictionary<string, long> ConfidenceHistogram { get; init; }

    /// <summary>Suggestion text length in characters at the 10th, 50th, 90th and 99th percentile.</summary>
    public required IReadOnlyDictionary<string, int> TextLengthPercentiles { get; init; }
    public required IReadOnlyDictionary<string, long> CleaningRemoves { get; init; }

    /// <summary>
    /// Agents' replies taken in from Jira, the best examples training has: by outcome (accepted, edited, written), by
    /// visibility (public, internal), and the reporters' comments ignored.
    /// </summary>
    public required IReadOnlyDictionary<string, long> AgentReplies { get; init; }

    public static async Task<DatasetReport> BuildAsync(ITrainingStore store, CleaningOptions cleaning, CancellationToken cancellationToken)
    {
        var cleaner = new DatasetCleaner(cleaning, await AgentReplyIndex.ReadAsync(store, cancellationToken));
        var counts = new Dictionary<string, Dictionary<string, long>>();
        void Count(string dimension, string value)
        {
            if (!counts.TryGetValue(dimension, out var d))
            {
                counts[dimension] = d = [];
            }
            d[value] = d.GetValueOrDefault(value) + 1;
        }
        var lengths = new List<int>();
        long samples = 0, suggestions = 0, kept = 0;
        var histogram = Enumerable.Range(0, 10).ToDictionary(i => $"{i / 10.0:0.0}", _ => 0L);
        await foreach (var s in store.ReadAllAsync(cancellationToken))
        {
            samples++;
            Count("issue_type", s.Context.IssueType);
            Count("status", s.Context.Status);
            Count("priority", s.Context.Priority);
            Count("language", s.Context.Language ?? LanguageDetector.Detect(TicketText.Of(s.Context)));
            Count("model", s.Model);
            foreach (var g in s.Suggestions)
            {
                suggestions++;
                Count("type", SuggestionTypes.Normalize(g.Type) ?? "unknown");
                histogram[$"{Math.Clamp((int)(g.Confidence * 10), 0, 9) / 10.0:0.0}"]++;
                lengths.Add(g.Text.Length);
            }
            kept += cleaner.Clean(s).Count;
        }
        lengths.Sort();
        int Percentile(double p) => lengths.Count == 0 ? 0 : lengths[(int)Math.Round(p * (lengths.Count - 1))];
        IReadOnlyDictionary<string, long> By(string dimension) =>
            counts.TryGetValue(dimension, out var d) ? d.OrderByDescending(kv => kv.Value).ToDictionary() : new Dictionary<string, long>();

        return new DatasetReport
        {
            Samples = samples,
            Suggestions = suggestions,
            SuggestionsAfterCleaning = kept,
            BySuggestionType = By("type"),
            ByIssueType = By("issue_type"),
            ByStatus = By("status"),
            ByPriority = By("priority"),
            ByLanguage = By("language"),
            ByModel = By("model"),
            ConfidenceHistogram = histogram,
            TextLengthPercentiles = new Dictionary<string, int> { ["p10"] = Percentile(0.1), ["p50"] = Percentile(0.5), ["p90"] = Percentile(0.9), ["p99"] = Percentile(0.99) },
            CleaningRemoves = cleaner.Removed,
            AgentReplies = AgentReplyCounts(await store.CountAgentRepliesAsync(cancellationToken)),
        };
    }

    private static Dictionary<string, long> AgentReplyCounts(IReadOnlyList<AgentReplyCount> counts)
    {
        var replies = counts.Where(c => c.Outcome != AgentReplyOutcomes.Ignored).ToList();
        return new Dictionary<string, long>
        {
            ["total"] = replies.Sum(c => c.Count),
            [AgentReplyOutcomes.Accepted] = replies.Where(c => c.Outcome == AgentReplyOutcomes.Accepted).Sum(c => c.Count),
            [AgentReplyOutcomes.Edited] = replies.Where(c => c.Outcome == AgentReplyOutcomes.Edited).Sum(c => c.Count),
            [AgentReplyOutcomes.Written] = replies.Where(c => c.Outcome == AgentReplyOutcomes.Written).Sum(c => c.Count),
            ["public"] = replies.Where(c => c.Internal != true).Sum(c => c.Count),
            ["internal"] = replies.Where(c => c.Internal == true).Sum(c => c.Count),
            ["ignored_reporter"] = counts.Where(c => c.Outcome == AgentReplyOutcomes.Ignored).Sum(c => c.Count),
        };
    }
}
