using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CommentFlow.Jira;

/// <summary>
/// Atlassian Document Format (Jira Cloud's v3 bodies) to plain text and back. Reading keeps what an agent sees:
/// paragraphs and headings as blocks separated by a blank line, list items as "- " or "1. " lines (nested ones
/// indented), hard breaks as new lines, code as is, mentions as their display text, cards as their URL. Writing is
/// the reverse for plain text: paragraphs split on blank lines, hard breaks on single new lines.
/// </summary>
internal static partial class Adf
{
    private const string Indent = "  ";

    /// <summary>A string (v2 body) as is, an ADF node as text; anything else (absent, null) is empty.</summary>
    public static string ToText(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString()!,
        JsonValueKind.Object => Block(element, 0).Trim(),
        _ => "",
    };

    public static JsonObject FromText(string text)
    {
        var content = new JsonArray();
        foreach (var paragraph in BlankLines().Split(text.Replace("\r\n", "\n", StringComparison.Ordinal).Trim('\n')))
        {
            var inline = new JsonArray();
            foreach (var line in paragraph.Split('\n'))
            {
                if (inline.Count > 0)
                {
                    inline.Add(new JsonObject { ["type"] = "hardBreak" });
                }
                // ADF refuses empty text nodes.
                if (line.Length > 0)
                {
                    inline.Add(new JsonObject { ["type"] = "text", ["text"] = line });
                }
            }
            if (paragraph.Trim().Length > 0)
            {
                content.Add(new JsonObject { ["type"] = "paragraph", ["content"] = inline });
            }
        }
        return new JsonObject { ["type"] = "doc", ["version"] = 1, ["content"] = content };
    }

    private static string Block(JsonElement node, int depth) => TypeOf(node) switch
    {
        "paragraph" or "heading" or "codeBlock" => Inline(node),
        "bulletList" or "orderedList" => List(node, depth),
        "rule" => "---",
        "text" or "hardBreak" or "mention" or "inlineCard" or "emoji" => Inline(node),
        // doc, blockquote, panel, table, expand…: their blocks, one after the other.
        _ => Blocks(node, depth, "\n\n"),
    };

    private static string Blocks(JsonElement node, int depth, string separator) =>
        string.Join(separator, Children(node).Select(child => Block(child, depth)).Where(b => b.Length > 0));

    private static string List(JsonElement list, int depth)
    {
        var ordered = TypeOf(list) == "orderedList";
        var number = ordered && list.TryGetProperty("attrs", out var attrs) && attrs.ValueKind == JsonValueKind.Object
            && attrs.TryGetProperty("order", out var order) && order.TryGetInt32(out var start) ? start : 1;
        var lines = new List<string>();
        foreach (var item in Children(list))
        {
            var prefix = string.Concat(Enumerable.Repeat(Indent, depth)) + (ordered ? $"{number++}. " : "- ");
            // A nested list renders its own indented lines; the item's own text follows the marker.
            lines.Add(prefix + Blocks(item, depth + 1, "\n"));
        }
        return string.Join('\n', lines);
    }

    private static string Inline(JsonElement node)
    {
        switch (TypeOf(node))
        {
            case "text":
                return node.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String ? text.GetString()! : "";
            case "hardBreak":
                return "\n";
            case "mention":
                return Attr(node, "text") ?? (Attr(node, "id") is { } id ? "@" + id : "");
            case "inlineCard":
                return Attr(node, "url") ?? "";
            case "emoji":
                return Attr(node, "text") ?? Attr(node, "shortName") ?? "";
            default:
                var builder = new StringBuilder();
                foreach (var child in Children(node))
                {
                    builder.Append(Inline(child));
                }
                return builder.ToString();
        }
    }

    private static string? TypeOf(JsonElement node) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString() : null;

    private static IEnumerable<JsonElement> Children(JsonElement node) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array
            ? content.EnumerateArray()
            : [];

    private static string? Attr(JsonElement node, string name) =>
        node.TryGetProperty("attrs", out var attrs) && attrs.ValueKind == JsonValueKind.Object && attrs.TryGetProperty(name, out var value)
            && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    [GeneratedRegex(@"\n[ \t]*\n\s*")]
    private static partial Regex BlankLines();
}
