using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Training;

namespace CommentFlow.Dataset;

/// <summary>Applies the cleaning rules to one sample; counts what each rule removed, for the report.</summary>
/// <param name="replies">The agents' replies taken in from Jira (which are internal notes); null: only what samples say themselves.</param>
internal sealed class DatasetCleaner(CleaningOptions options, AgentReplyIndex? replies = null)
{
    public const string RulesEngine = "rules_engine";
    public const string LowConfidence = "low_confidence";
    public const string TooShort = "too_short";
    public const string UnknownType = "unknown_type";
    public const string NearDuplicate = "near_duplicate";
    public const string SupersededByAgent = "superseded_by_agent";
    public const string InternalNote = "internal_note";

    public Dictionary<string, long> Removed { get; } = new()
    {
        [RulesEngine] = 0, [LowConfidence] = 0, [TooShort] = 0, [UnknownType] = 0, [NearDuplicate] = 0, [SupersededByAgent] = 0, [InternalNote] = 0,
    };

    /// <summary>
    /// The suggestions of the sample, as agents judged them (<see cref="TrainingSample.Reviewed"/>), that survive every
    /// switched-on rule. What an agent accepted or edited is kept whatever engine wrote it; a dismissed one falls under
    /// the confidence rule. Agents' replies posted in Jira come first: where one answers the context, the suggestions nobody
    /// vouched for go (<see cref="CleaningOptions.PreferAgentReplies"/>); internal notes go unless
    /// <see cref="CleaningOptions.TrainOnInternalNotes"/>.
    /// </summary>
    public IReadOnlyList<Suggestion> Clean(TrainingSample sample)
    {
        var reviewed = sample.Reviewed();
        var latest = sample.Feedback.Count == 0 ? null : sample.LatestFeedback();
        var shown = sample.Suggestions.Count;
        // Past the suggestions come the replies agents wrote (Reviewed): vouched for by definition.
        bool Vouched(int i) => i >= shown || (latest?[i] is { } f && FeedbackActions.IsKept(f.Action));
        bool Posted(int i) => sample.Engine == EngineNames.Agent || i >= shown || replies?.Find(sample.ContextHash, i) is not null;
        bool Internal(int i) => Posted(i) && replies?.Find(sample.ContextHash, Math.Min(i, shown)) == true;
        var dropEngine = options.DropRulesEngine && sample.Engine == EngineNames.Rules;
        var agentAnswered = options.PreferAgentReplies
            && Enumerable.Range(0, reviewed.Count).Any(i => Posted(i) && Vouched(i) && (options.TrainOnInternalNotes || !Internal(i)));

        var kept = new List<Suggestion>(reviewed.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < reviewed.Count; i++)
        {
            var s = reviewed[i];
            var reason =
                !options.TrainOnInternalNotes && Internal(i) ? InternalNote
                : agentAnswered && !Posted(i) && !Vouched(i) ? SupersededByAgent
                : dropEngine && !Vouched(i) ? RulesEngine
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

/// <summary>
/// Which suggestions of which samples are replies agents posted in Jira, and whether each was an internal note, from the
/// store's <c>jira_comments</c>. A written reply sits at the position past its sample's suggestions; where several agents
/// wrote for one context, one internal note among them marks them all (the safe side for a customer-facing model).
/// </summary>
internal sealed class AgentReplyIndex
{
    private readonly Dictionary<(string Hash, int Position), bool> _internal = [];

    public AgentReplyIndex(IEnumerable<AgentReply> replies)
    {
        foreach (var r in replies)
        {
            if (r.Outcome != AgentReplyOutcomes.Ignored && r.ContextHash is { } hash && r.Position is { } position)
            {
                _internal[(hash, position)] = _internal.GetValueOrDefault((hash, position)) || r.Internal == true;
            }
        }
    }

    public int Count => _internal.Count;

    /// <summary>True: an internal note; false: a public reply (or outside a service project); null: not a reply posted in Jira.</summary>
    public bool? Find(string contextHash, int position) => _internal.TryGetValue((contextHash, position), out var isInternal) ? isInternal : null;

    public static async Task<AgentReplyIndex> ReadAsync(Storage.ITrainingStore store, CancellationToken cancellationToken) =>
        new(await store.ReadAgentRepliesAsync(cancellationToken));
}
