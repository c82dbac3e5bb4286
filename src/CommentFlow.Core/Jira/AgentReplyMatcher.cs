using CommentFlow.Domain;
using CommentFlow.Training;

namespace CommentFlow.Jira;

/// <param name="Candidate">Index of the closest suggestion among those given; -1 when there were none.</param>
internal readonly record struct ReplyMatch(string Outcome, int Candidate, double Similarity);

/// <summary>
/// Tells what an agent's posted comment did with the suggestions shown for the ticket: the same text (whitespace aside) was
/// accepted, a close one edited, anything else written from scratch.
/// </summary>
internal static class AgentReplyMatcher
{
    /// <summary>
    /// ROUGE-L F1 over lower-cased word tokens (<see cref="TextMetrics.RougeL(string, string)"/>) at or above which a reply is
    /// an edit of a suggestion. Measured on replies built from suggestions (AgentReplyMatcherTests, docs/jira.md): a
    /// greeting and sign-off added, words changed, a detail added or a sentence cut score 0.73–0.91; replies on the same
    /// tickets written without the suggestion score 0.07–0.38. 0.5 sits in the gap.
    /// </summary>
    public const double EditedThreshold = 0.5;

    public static string Normalize(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    public static double Similarity(string a, string b) => TextMetrics.RougeL(a, b);

    /// <param name="posted">The comment as posted, and as masked the way stored texts are (a stored suggestion is masked).</param>
    public static ReplyMatch Classify(IReadOnlyList<string> posted, IReadOnlyList<string> shown)
    {
        var forms = posted.Select(Normalize).Distinct().ToList();
        var best = new ReplyMatch(AgentReplyOutcomes.Written, -1, 0);
        for (var i = 0; i < shown.Count; i++)
        {
            var candidate = Normalize(shown[i]);
            if (forms.Contains(candidate, StringComparer.Ordinal))
            {
                return new ReplyMatch(AgentReplyOutcomes.Accepted, i, 1);
            }
            var similarity = forms.Max(f => Similarity(f, candidate));
            if (similarity > best.Similarity || best.Candidate < 0)
            {
                best = new ReplyMatch(similarity >= EditedThreshold ? AgentReplyOutcomes.Edited : AgentReplyOutcomes.Written, i, Math.Round(similarity, 4));
            }
        }
        return best;
    }
}
