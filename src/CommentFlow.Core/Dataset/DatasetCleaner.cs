using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Training;

namespace CommentFlow.Dataset;

/// <summary>Applies the cleaning rules to one sample; counts what each rule removed, for the report.</summary>
internal sealed class DatasetCleaner(CleaningOptions options)
{
    public const string RulesEngine = "rules_engine";
    public const string LowConfidence = "low_confidence";
    public const string TooShort = "too_short";
    public const string UnknownType = "unknown_type";
    public const string NearDuplicate = "near_duplicate";

    public Dictionary<string, long> Removed { get; } = new()
    {
        [RulesEngine] = 0, [LowConfidence] = 0, [TooShort] = 0, [UnknownType] = 0, [NearDuplicate] = 0,
    };

    /// <summary>
    /// The suggestions of the sample, as agents judged them (<see cref="TrainingSample.Reviewed"/>), that survive every
    /// switched-on rule. What an agent accepted or edited is kept whatever engine wrote it; a dismissed one falls under
    /// the confidence rule.
    /// </summary>
    public IReadOnlyList<Suggestion> Clean(TrainingSample sample)
    {
        var reviewed = sample.Reviewed();
        var latest = sample.Feedback.Count == 0 ? null : sample.LatestFeedback();
        bool Vouched(int i) => latest?[i] is { } f && FeedbackActions.IsKept(f.Action);
        var dropEngine = options.DropRulesEngine && sample.Engine == EngineNames.Rules;

        var kept = new List<Suggestion>(reviewed.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < reviewed.Count; i++)
        {
            var s = reviewed[i];
            var reason =
                dropEngine && !Vouched(i) ? RulesEngine
                : s.Confidence < options.MinConfidence ? LowConfidence
                : s.Text.Trim().Length < Math.Max(1, options.MinTextLength) ? TooShort
                : options.DropUnknownTypes && SuggestionTypes.Normalize(s.Type) is null ? UnknownType
                : options.DropNearDuplicates && !seen.Add(string.Join(' ', TextMetrics.Tokens(s.Text))) ? NearDuplicate
                : null;
            if (reason is null)
            {
                kept.Add(s);
            }
            else
            {
                Removed[reason]++;
            }
        }
        return kept;
    }
}
