using CommentFlow.Domain;
using CommentFlow.Engines.Local;
using CommentFlow.OwnModel;
using CommentFlow.Training;

namespace CommentFlow.Engines.Ollama;

/// <summary>A past ticket from the own model and the distinct replies the team kept on it, nearest first.</summary>
internal sealed record OllamaExample(string Ticket, IReadOnlyList<string> Answers);

/// <summary>
/// Picks the few-shot examples for Ollama's prompt from the active own model: the nearest past tickets and what the team
/// answered on them. Everything comes from the model's index, which holds only what the store wrote, masked.
/// </summary>
internal static class OllamaExamples
{
    /// <summary>
    /// Neighbours read per example wanted: each kept comment of a ticket is its own document, and answers already shown
    /// are skipped, so the nearest K documents are often fewer than K tickets with something new to show.
    /// </summary>
    private const int NeighboursPerExample = 10;

    public static IReadOnlyList<OllamaExample> Select(LocalModel? model, TicketContext context, int count)
    {
        if (model is null || count <= 0)
        {
            return [];
        }
        var text = TicketText.Of(context);
        var language = context.Language ?? LanguageDetector.Detect(text);

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var examples = new List<(string Ticket, List<string> Answers)>(count);
        foreach (var (doc, _) in model.Index.Nearest(text, language, count * NeighboursPerExample))
        {
            var answer = model.Index.AnswerOf(doc).Trim();
            if (answer.Length == 0 || !seen.Add(answer))
            {
                continue;
            }
            var ticket = model.Index.TicketOf(doc);
            var known = examples.FindIndex(e => e.Ticket == ticket);
            if (known >= 0)
            {
                examples[known].Answers.Add(answer);
            }
            else if (examples.Count < count)
            {
                examples.Add((ticket, [answer]));
            }
        }
        return [.. examples.Select(e => new OllamaExample(e.Ticket, e.Answers))];
    }
}
