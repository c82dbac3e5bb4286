using CommentFlow.Domain;
using CommentFlow.Training;

namespace CommentFlow.Engines.Local;

/// <summary>
/// The team's own model: comments agents wrote on the most similar past tickets, chosen by expected agreement
/// (see <see cref="RetrievalIndex"/>), with a calibrated confidence. Answers in milliseconds, needs no LLM.
/// </summary>
internal sealed class LocalEngine(LocalModelHost host) : ISuggestionEngine
{
    public const string NoModel = "no_model";
    public const string NoMatch = "no_match";

    public string Name => EngineNames.Local;

    public Task<EngineResult> SuggestAsync(TicketContext context, int maxSuggestions, CancellationToken cancellationToken) =>
        Task.FromResult(Suggest(context, maxSuggestions));

    public EngineResult Suggest(TicketContext context, int maxSuggestions)
    {
        var model = host.Current;
        if (model is null)
        {
            return EngineResult.Failed(Name, "none", NoModel);
        }
        var text = ModelTrainer.ContextText(context);
        var language = context.Language ?? LanguageDetector.Detect(text);
        var candidates = model.Index.Query(text, language, model.Settings, take: model.Settings.Neighbours);

        // Distinct texts; one of each type first, so the agent sees a question, a step and a closing when there are;
        // the type the classifier expects now leads.
        var expected = model.Types?.PredictOne(ModelTrainer.ClassifierText(context));
        var distinct = candidates.DistinctBy(c => c.Answer.Trim(), StringComparer.OrdinalIgnoreCase).ToList();
        var firstOfType = distinct.GroupBy(c => TypeOf(c)).Select(g => g.First()).ToList();
        var ordered = firstOfType.OrderByDescending(c => TypeOf(c) == expected).ThenByDescending(c => c.Score)
            .Concat(distinct.Except(firstOfType)).Take(maxSuggestions);
        var suggestions = ordered.Select(c => new Suggestion(c.Answer, TypeOf(c), Math.Round(model.Confidence(c.Similarity), 4))).ToList();
        return suggestions.Count == 0
            ? EngineResult.Failed(Name, model.Name, NoMatch)
            : new EngineResult { Engine = Name, Model = model.Name, Suggestions = suggestions };
    }

    /// <summary>The stored type, or for history replies (which have none) what the text itself says.</summary>
    internal static string TypeOf(RetrievalIndex.Candidate candidate) =>
        SuggestionTypes.Normalize(candidate.Type) ?? GuessType(candidate.Answer);

    internal static string GuessType(string text)
    {
        var normalized = TextNormalizer.Normalize(text);
        string[] closing = [" resolved ", " closing ", " close this ", " closed ", " cerramos ", " cerrado ", " resuelto ", " geschlossen ", " schliessen ", " behoben "];
        if (closing.Any(c => normalized.Contains(c, StringComparison.Ordinal)))
        {
            return SuggestionTypes.Resolution;
        }
        return text.Contains('?', StringComparison.Ordinal) ? SuggestionTypes.Diagnostic : SuggestionTypes.Action;
    }
}
