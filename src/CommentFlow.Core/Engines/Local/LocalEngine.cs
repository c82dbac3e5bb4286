using CommentFlow.Domain;
using CommentFlow.OwnModel;
using CommentFlow.Training;

namespace CommentFlow.Engines.Local;

/// <summary>
/// The team's own model: a reply composed for this ticket from what agents wrote on the most similar past tickets, then
/// one alternative of each other kind (see <see cref="OwnSuggestions"/>), with a confidence that falls with distance and
/// with what did not fit. Answers in milliseconds, needs no LLM.
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
        var text = TicketText.Of(context);
        var language = context.Language ?? LanguageDetector.Detect(text);
        // The type the classifier expects now is the composed reply's; the alternatives are the other kinds.
        var expected = model.Types?.PredictOne(TicketText.ForClassifier(context, text));
        var own = OwnSuggestions.For(model.Index, model.Settings, context, text, language, maxSuggestions, expected);
        var suggestions = own.Select(s => new Suggestion(s.Text, s.Type, Math.Round(model.Confidence(s.Score), 4))).ToList();
        return suggestions.Count == 0
            ? EngineResult.Failed(Name, model.Name, NoMatch)
            : new EngineResult { Engine = Name, Model = model.Name, Suggestions = suggestions };
    }
}
