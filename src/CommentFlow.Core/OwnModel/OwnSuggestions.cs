using CommentFlow.Domain;
using CommentFlow.Engines;

namespace CommentFlow.OwnModel;

/// <param name="Similarity">How close the ticket the suggestion draws on is (the nearest one for a composed reply).</param>
/// <param name="Fit">How much of what was retrieved fits this ticket, in (0, 1]: the share of sentences that could be kept
/// (adapted or as they were), each neighbour weighted as the composer weighs it, halved when the ticket names
/// particulars and the reply names none of them.</param>
internal sealed record OwnSuggestion(string Text, string Type, double Similarity, double Fit)
{
    /// <summary>What the confidence is calibrated on: far neighbours and what did not fit both lower it.</summary>
    public double Score => Similarity * Fit;
}

/// <summary>
/// What the own model answers for a ticket, the one path the engine, <c>evaluate</c> and the bench all take: the nearest
/// past tickets, a reply composed for this ticket from their answers (<see cref="ReplyComposer"/>), then alternatives of
/// other kinds: the nearest past answer of each other type (a question, a step, a closing), adapted to this ticket.
/// </summary>
internal static class OwnSuggestions
{
    public static IReadOnlyList<OwnSuggestion> For(RetrievalIndex index, RetrievalSettings settings, string subject, string body,
        string language, int max, string? expectedType = null) =>
        ForText(index, settings, QueryWords.Join(subject, body), subject.Length, language, max, expectedType);

    /// <param name="text">The subject, a space and the body (<see cref="QueryWords.Join"/>); the body alone without a subject.</param>
    private static IReadOnlyList<OwnSuggestion> ForText(RetrievalIndex index, RetrievalSettings settings, string text, int subjectLength,
        string language, int max, string? expectedType)
    {
        var neighbours = index.Nearest(text, language, Math.Max(settings.Neighbours, ReplyComposer.ReferenceNeighbours));
        if (neighbours.Count == 0 || max <= 0)
        {
            return [];
        }
        return From(index, neighbours, new QueryWords(index, text, subjectLength), max, expectedType);
    }

    /// <summary>The suggestions once the nearest tickets are found: the composition and the alternatives (timed alone by the bench).</summary>
    internal static IReadOnlyList<OwnSuggestion> From(RetrievalIndex index, List<(int Doc, float Similarity)> neighbours, QueryWords query,
        int max, string? expectedType = null)
    {
        if (neighbours.Count == 0 || max <= 0)
        {
            return [];
        }
        var composed = ReplyComposer.Compose(index, neighbours, query);
        var suggestions = new List<OwnSuggestion>(max);
        if (composed.Sentences.Count > 0)
        {
            var fit = composed.Kept;
            if (composed.TicketHasParticulars && !composed.MentionsTicket)
            {
                fit /= 2;
            }
            suggestions.Add(new OwnSuggestion(composed.Text, expectedType ?? TypeOf(index.TypeOf(neighbours[0].Doc), composed.Text),
                neighbours[0].Similarity, fit));
        }

        // One of each other kind, nearest first: an agent picks between asking, acting and closing, not between five
        // variants of one letter.
        var seenAnswers = new HashSet<int>();
        foreach (var (doc, similarity) in neighbours)
        {
            if (suggestions.Count >= max)
            {
                break;
            }
            if (!seenAnswers.Add(index.AnswerIdOf(doc)))
            {
                continue;
            }
            // A kind already offered is not worth adapting. The kind is the past answer's, read once at index build.
            var type = index.KindOf(doc);
            if (suggestions.Any(s => s.Type == type) || ReplyComposer.AdaptWhole(index, doc, query) is not { } adapted
                || suggestions.Any(s => string.Equals(s.Text, adapted.Text, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }
            suggestions.Add(new OwnSuggestion(adapted.Text, type, similarity, adapted.Kept));
        }
        return suggestions;
    }

    /// <summary>The same for a ticket as the service receives it: its summary is the subject, the rest of its text the body.</summary>
    public static IReadOnlyList<OwnSuggestion> For(RetrievalIndex index, RetrievalSettings settings, TicketContext context, string language,
        int max, string? expectedType = null) =>
        For(index, settings, context, TicketText.Of(context), language, max, expectedType);

    /// <param name="text">The ticket's <see cref="TicketText.Of"/> text.</param>
    public static IReadOnlyList<OwnSuggestion> For(RetrievalIndex index, RetrievalSettings settings, TicketContext context, string text,
        string language, int max, string? expectedType = null)
    {
        var (joined, subjectLength) = Joined(context, text);
        return ForText(index, settings, joined, subjectLength, language, max, expectedType);
    }

    /// <summary>
    /// A ticket's <see cref="TicketText.Of"/> text as its subject and body joined (<see cref="QueryWords.Join"/>): the same
    /// string, no copy, since it is the summary, a space and the rest; after an empty summary, the rest alone.
    /// </summary>
    internal static (string Text, int SubjectLength) Joined(TicketContext context, string text) =>
        context.Summary.Length == 0 ? (text[1..], 0) : (text, context.Summary.Length);

    /// <summary>The stored type, or for history replies (which have none) what the text itself says.</summary>
    internal static string TypeOf(string storedType, string text) => SuggestionTypes.Normalize(storedType) ?? GuessType(text);

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
