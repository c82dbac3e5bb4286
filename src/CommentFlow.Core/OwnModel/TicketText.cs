using System.Text.RegularExpressions;
using CommentFlow.Domain;

namespace CommentFlow.OwnModel;

/// <summary>
/// What the own model reads of a ticket. Defined here, with the model: the training export's <c>input</c> column writes
/// this text, so the export follows the model and never changes its features by itself.
/// </summary>
internal static partial class TicketText
{
    /// <summary>The comments of a thread that count: the last ones, where the conversation is now.</summary>
    public const int LastComments = 10;

    /// <summary>The text a ticket is matched on: summary, description and the last comments.</summary>
    public static string Of(TicketContext context)
    {
        var text = $"{context.Summary} {context.Description}";
        if (context.Comments.Count > 0)
        {
            text += " " + string.Join(' ', context.Comments.Skip(Math.Max(0, context.Comments.Count - LastComments)));
        }
        return text;
    }

    /// <summary>
    /// What the type classifier reads: the text and the ticket's issue type, status and priority as marker words
    /// ("issuetypebug statusopen priorityhigh"), which the word n-grams turn into one feature each.
    /// </summary>
    public static string ForClassifier(TicketContext context) => ForClassifier(context, Of(context));

    /// <summary>The same, from the ticket's <see cref="Of"/> text when the caller has it.</summary>
    public static string ForClassifier(TicketContext context, string text) =>
        $"{text} {Marker("issuetype", context.IssueType)} {Marker("status", context.Status)} {Marker("priority", context.Priority)}";

    private static string Marker(string field, string value) => field + string.Concat(value.ToLowerInvariant().Where(char.IsLetterOrDigit));

    /// <summary>
    /// The model's words: runs of letters and digits. The metrics tokenise the same way (<c>TextMetrics</c>, after the
    /// shared baselines) but own their pattern, so a change here never changes how the model is measured.
    /// </summary>
    internal static Regex WordPattern => Word();

    [GeneratedRegex(@"\w+")]
    private static partial Regex Word();
}
