using System.Text;
using System.Text.Json;
using CommentFlow.Domain;
using Microsoft.Extensions.AI;

namespace CommentFlow.Engines.Ollama;

/// <summary>The prompt and the JSON schema sent to Ollama, and the validation of what comes back.</summary>
internal static class OllamaPrompt
{
    public const int MaxComments = 10;
    public const int MaxSuggestionLength = 1_000;

    // The examples' size is bounded because a local model's context is a few thousand tokens by default and a longer
    // prompt is truncated, and because prompt evaluation on a CPU costs time per token. 6,000 characters is ~1,500
    // tokens: a few examples, leaving room for the ticket and the answer. A past ticket needs only its gist; a reply
    // is shown nearly whole, since its wording and its fix are the point.
    public const int MaxExampleTicketChars = 600;
    public const int MaxExampleAnswerChars = 1_200;
    public const int MaxExamplesChars = 6_000;

    private const string ExamplesIntro =
        "Past tickets of this team, the nearest to this one first, with the replies its agents posted. Write like them, and "
        + "reuse their fixes where they fit this ticket; do not copy a reply that does not fit.\n\n";

    private const string TicketIntro = "The ticket to answer now:\n";

    private static readonly Dictionary<string, string> LanguageNames = new()
    {
        ["en"] = "English", ["es"] = "Spanish", ["de"] = "German", ["fr"] = "French", ["pt"] = "Portuguese",
    };

    public static readonly JsonElement Schema = JsonDocument.Parse(
        """
        {
          "type": "object",
          "properties": {
            "suggestions": {
              "type": "array",
              "items": {
                "type": "object",
                "properties": {
                  "text": { "type": "string" },
                  "type": { "type": "string", "enum": ["diagnostic", "action", "resolution"] },
                  "confidence": { "type": "number", "minimum": 0, "maximum": 1 }
                },
                "required": ["text", "type", "confidence"]
              }
            }
          },
          "required": ["suggestions"]
        }
        """).RootElement.Clone();

    /// <param name="examples">Past tickets with the team's replies (<see cref="OllamaExamples"/>); none by default, as in the fine-tuning export.</param>
    public static List<ChatMessage> Build(TicketContext context, int maxSuggestions, IReadOnlyList<OllamaExample>? examples = null)
    {
        var language = context.Language ?? LanguageDetector.Detect($"{context.Summary} {context.Description}");
        var languageName = LanguageNames.GetValueOrDefault(language, "the ticket's language");

        var system =
            $"""
            You help service-desk agents decide the next comment to post on a ticket.
            Suggest up to {maxSuggestions} different comments the agent could post now. Each has a type:
            - "diagnostic": asks the reporter for information that is still missing;
            - "action": an immediate step the agent takes, written as the note the agent would post;
            - "resolution": closes the ticket or confirms the fix.
            Give each a confidence between 0 and 1 for how well it fits the ticket now.
            Write every comment in the ticket's own language ({languageName}), short and concrete, one to three sentences.
            Answer only with JSON: {"{"}"suggestions": [{"{"}"text": "...", "type": "diagnostic|action|resolution", "confidence": 0.0{"}"}]{"}"}.
            """;

        // The examples go in the user message as reference, before the ticket, not as user/assistant turns: the team's
        // replies carry no type or confidence, and made-up JSON answers would teach the model invented numbers (and a
        // small model tends to answer the last turn it saw). The ticket comes last, so it is what gets answered.
        var user = new StringBuilder(ExamplesBlock(examples ?? []))
            .Append("Summary: ").AppendLine(context.Summary)
            .Append("Description: ").AppendLine(context.Description)
            .Append("Issue type: ").AppendLine(context.IssueType)
            .Append("Status: ").AppendLine(context.Status)
            .Append("Priority: ").AppendLine(context.Priority);
        var recent = context.Comments.Skip(Math.Max(0, context.Comments.Count - MaxComments)).ToList();
        user.AppendLine(recent.Count == 0 ? "Comments: none yet." : $"Last {recent.Count} comments, oldest first:");
        for (var i = 0; i < recent.Count; i++)
        {
            user.Append(i + 1).Append(". ").AppendLine(recent[i]);
        }

        return [new ChatMessage(ChatRole.System, system), new ChatMessage(ChatRole.User, user.ToString())];
    }

    /// <summary>
    /// The examples as text, nearest first, each text cut to its cap, and the whole at most <see cref="MaxExamplesChars"/>:
    /// the first reply that would not fit ends the block, so a nearer example is never dropped for a farther one.
    /// </summary>
    internal static string ExamplesBlock(IReadOnlyList<OllamaExample> examples)
    {
        var block = new StringBuilder(ExamplesIntro);
        var shown = 0;
        foreach (var example in examples)
        {
            var part = $"Past ticket {shown + 1}: {Cut(example.Ticket, MaxExampleTicketChars)}\n";
            var replies = 0;
            foreach (var answer in example.Answers)
            {
                var reply = $"Reply: {Cut(answer, MaxExampleAnswerChars)}\n";
                // + 1 for the blank line after the example
                if (block.Length + part.Length + reply.Length + 1 + TicketIntro.Length > MaxExamplesChars)
                {
                    break;
                }
                part += reply;
                replies++;
            }
            if (replies == 0)
            {
                break;
            }
            block.Append(part).Append('\n');
            shown++;
        }
        return shown == 0 ? "" : block.Append(TicketIntro).ToString();
    }

    /// <summary>
    /// At most <paramref name="max"/> characters: cut after the last whole word that fits, marked with an ellipsis. A
    /// text without a space in its second half (a URL, a log line) is cut where it reaches the limit.
    /// </summary>
    internal static string Cut(string text, int max)
    {
        text = text.Trim();
        if (text.Length <= max)
        {
            return text;
        }
        var end = max - 1; // room for the ellipsis
        var space = end;
        while (space > 0 && !char.IsWhiteSpace(text[space]))
        {
            space--;
        }
        if (space >= max / 2)
        {
            end = space;
        }
        else if (char.IsHighSurrogate(text[end - 1]))
        {
            end--; // never half a surrogate pair, which is not text
        }
        return text[..end].TrimEnd() + "…";
    }

    /// <summary>
    /// Keeps the usable suggestions of a model answer: known type, confidence in [0, 1], non-empty text of sane length,
    /// no repeats. Null when the answer is not the JSON we asked for.
    /// </summary>
    public static IReadOnlyList<Suggestion>? Parse(string? text, int maxSuggestions)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(ExtractObject(text));
        }
        catch (JsonException)
        {
            return null;
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("suggestions", out var items)
                || items.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var result = new List<Suggestion>();
            foreach (var item in items.EnumerateArray())
            {
                if (result.Count >= maxSuggestions)
                {
                    break;
                }
                if (item.ValueKind == JsonValueKind.Object
                    && item.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String
                    && item.TryGetProperty("type", out var ty) && ty.ValueKind == JsonValueKind.String
                    && item.TryGetProperty("confidence", out var c) && c.ValueKind == JsonValueKind.Number
                    && SuggestionTypes.Normalize(ty.GetString()) is { } type
                    && c.GetDouble() is >= 0 and <= 1 and var confidence
                    && t.GetString()!.Trim() is { Length: > 0 and <= MaxSuggestionLength } body
                    && !result.Any(r => string.Equals(r.Text, body, StringComparison.OrdinalIgnoreCase)))
                {
                    result.Add(new Suggestion(body, type, Math.Round(confidence, 4)));
                }
            }
            return result;
        }
    }

    // Models sometimes wrap JSON in prose or code fences despite the schema; take the outermost object.
    private static string ExtractObject(string text)
    {
        var start = text.IndexOf('{', StringComparison.Ordinal);
        var end = text.LastIndexOf('}');
        return start >= 0 && end > start ? text[start..(end + 1)] : text;
    }
}
