using CommentFlow.Domain;

namespace CommentFlow.Engines;

/// <summary>
/// The cold-start engine: keyword rules from a data file, answered in the ticket's language (the default language
/// when the rules have none for it). It needs nothing and always answers, so it is the last fallback.
/// </summary>
internal sealed class RulesEngine : ISuggestionEngine
{
    private readonly RuleSet _rules;
    private readonly (Rule Rule, string[] Keywords, string[] Statuses)[] _compiled;

    public RulesEngine(RuleSet rules)
    {
        _rules = rules;
        _compiled = rules.Rules
            .Select(r => (r, r.Keywords.Select(TextNormalizer.Normalize).ToArray(), r.Statuses.Select(TextNormalizer.Normalize).ToArray()))
            .OrderByDescending(c => c.r.Weight)
            .ToArray();
    }

    public string Name => EngineNames.Rules;

    public string Model => _rules.Version;

    public Task<EngineResult> SuggestAsync(TicketContext context, int maxSuggestions, CancellationToken cancellationToken) =>
        Task.FromResult(Suggest(context, maxSuggestions));

    public EngineResult Suggest(TicketContext context, int maxSuggestions)
    {
        var language = LanguageDetector.Detect($"{context.Summary} {context.Description} {string.Join(' ', context.Comments)}");
        var all = TextNormalizer.Normalize($"{context.Summary} {context.Description} {string.Join(' ', context.Comments)}");
        var comments = TextNormalizer.Normalize(string.Join(' ', context.Comments));
        var latest = context.Comments.Count > 0 ? TextNormalizer.Normalize(context.Comments[^1]) : " ";
        var status = TextNormalizer.Normalize(context.Status);

        var picked = new List<Suggestion>(maxSuggestions);
        foreach (var (rule, keywords, statuses) in _compiled)
        {
            var text = rule.Scope switch
            {
                "latest_comment" => latest,
                "comments" => comments,
                _ => all,
            };
            var matches = keywords.Any(k => text.Contains(k, StringComparison.Ordinal)) || statuses.Any(s => s == status);
            if (matches)
            {
                AddAll(picked, For(rule.Suggestions, language), maxSuggestions);
            }
        }
        AddAll(picked, For(_rules.Fallback, language), maxSuggestions);

        return new EngineResult { Engine = Name, Model = Model, Suggestions = picked };
    }

    private IReadOnlyList<Suggestion> For(IReadOnlyDictionary<string, IReadOnlyList<Suggestion>> byLanguage, string language) =>
        byLanguage.TryGetValue(language, out var s) ? s
        : byLanguage.TryGetValue(_rules.DefaultLanguage, out var d) ? d
        : [];

    private static void AddAll(List<Suggestion> picked, IReadOnlyList<Suggestion> candidates, int max)
    {
        foreach (var candidate in candidates)
        {
            if (picked.Count >= max)
            {
                return;
            }
            if (!picked.Any(p => p.Text == candidate.Text))
            {
                picked.Add(candidate);
            }
        }
    }
}
