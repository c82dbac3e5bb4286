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

    /// <summary>The suggestions of the sample that survive every switched-on rule (none when the sample itself is dropped).</summary>
    public IReadOnlyList<Suggestion> Clean(TrainingSample sample)
    {
        if (options.DropRulesEngine && sample.Engine == EngineNames.Rules)
        {
            Removed[RulesEngine] += sample.Suggestions.Count;
            return [];
        }
        var kept = new List<Suggestion>(sample.Suggestions.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in sample.Suggestions)
        {
            var reason =
                s.Confidence < options.MinConfidence ? LowConfidence
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
