using System.Text.Json;
using CommentFlow.Domain;

namespace CommentFlow.Export;

/// <summary>The parts of a sample every JSON format writes the same way.</summary>
internal static class SampleJson
{
    /// <summary>The ticket's fields and comments (oldest first), inside an object the caller has opened.</summary>
    public static void WriteContextFields(Utf8JsonWriter writer, TicketContext context)
    {
        writer.WriteString("summary", context.Summary);
        writer.WriteString("description", context.Description);
        writer.WriteString("issue_type", context.IssueType);
        writer.WriteString("status", context.Status);
        writer.WriteString("priority", context.Priority);
        writer.WriteStartArray("comments");
        foreach (var c in context.Comments)
        {
            writer.WriteStringValue(c);
        }
        writer.WriteEndArray();
    }

    /// <summary><c>"suggestions": [{text, type, confidence}]</c>, the shape Ollama is asked for.</summary>
    public static void WriteSuggestions(Utf8JsonWriter writer, IReadOnlyList<Suggestion> suggestions)
    {
        writer.WriteStartArray("suggestions");
        foreach (var g in suggestions)
        {
            writer.WriteStartObject();
            writer.WriteString("text", g.Text);
            writer.WriteString("type", g.Type);
            writer.WriteNumber("confidence", g.Confidence);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }
}
