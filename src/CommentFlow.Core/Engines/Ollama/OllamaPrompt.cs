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

    public static List<ChatMessage> Build(TicketContext context, int maxSuggestions)
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

        var user = new StringBuilder()
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
