using System.IO.Compression;
using System.Text;
using System.Text.Json;
using CommentFlow.Domain;
using CommentFlow.Training;

namespace CommentFlow.Import;

/// <summary>A record that could not become a sample, and why.</summary>
internal sealed record ImportProblem(int Line, string Reason);

/// <summary>What one record of a history file became: a sample, or a problem to report.</summary>
internal sealed record ImportItem(TrainingSample? Sample, ImportProblem? Problem);

/// <summary>
/// Historical tickets with the comments agents really wrote, as samples of model <c>history</c>: the cold start that
/// does not wait for weeks of live traffic. Both readers stream; nothing is held beyond the current record.
/// </summary>
internal static class HistoryImport
{
    public const string HistoryModel = "history";

    /// <summary>One sample per CSV row: the ticket as the context, the agent's answer as its suggestion.</summary>
    public static IEnumerable<ImportItem> ReadCsv(string path, ImportOptions options, DateTimeOffset now)
    {
        var (header, records) = TicketCsv.Open(path);
        var c = options.Columns;
        int Column(string name) => string.IsNullOrEmpty(name) ? -1 : Array.IndexOf(header, name);
        var (summary, description, answer) = (Column(c.Summary), Column(c.Description), Column(c.Answer));
        if (answer < 0 || (summary < 0 && description < 0))
        {
            throw new InvalidDataException(
                $"'{path}' lacks the mapped columns (answer '{c.Answer}', summary '{c.Summary}' or description '{c.Description}'). Columns: {string.Join(", ", header)}.");
        }
        var (issueType, priority, queue, language, status, key) =
            (Column(c.IssueType), Column(c.Priority), Column(c.Queue), Column(c.Language), Column(c.Status), Column(c.TicketKey));

        foreach (var r in records)
        {
            if (!r.Complete)
            {
                yield return new ImportItem(null, new ImportProblem(r.Line, r.Problem ?? "malformed record"));
                continue;
            }
            var text = r.Get(answer).Trim();
            if (text.Length == 0)
            {
                yield return new ImportItem(null, new ImportProblem(r.Line, "empty answer"));
                continue;
            }
            if (string.IsNullOrWhiteSpace(r.Get(summary)) && string.IsNullOrWhiteSpace(r.Get(description)))
            {
                yield return new ImportItem(null, new ImportProblem(r.Line, "neither summary nor description"));
                continue;
            }
            var context = new TicketContext
            {
                TicketKey = NullIfEmpty(r.Get(key)),
                Summary = r.Get(summary),
                Description = r.Get(description),
                IssueType = NullIfEmpty(r.Get(issueType)) ?? TicketContext.DefaultIssueType,
                Status = NullIfEmpty(r.Get(status)) ?? options.DefaultStatus,
                Priority = NullIfEmpty(r.Get(priority)) ?? TicketContext.DefaultPriority,
                Language = NullIfEmpty(r.Get(language)),
                Queue = NullIfEmpty(r.Get(queue)),
            };
            yield return new ImportItem(History(context, [text], now), null);
        }
    }

    /// <summary>
    /// A Jira REST search export (<c>{"issues":[…]}</c>, GZip or not). Every comment becomes the suggestion for the
    /// context that preceded it: the ticket with the comments before it. Descriptions and comments may be plain
    /// text or Atlassian Document Format; the text of either is taken.
    /// </summary>
    public static IEnumerable<ImportItem> ReadJira(string path, DateTimeOffset now)
    {
        JsonDocument document;
        try
        {
            using var file = File.OpenRead(path);
            using var stream = IsGzip(path) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
            document = JsonDocument.Parse(stream);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or IOException)
        {
            throw new InvalidDataException($"'{path}' is not a readable Jira export: {ex.Message}", ex);
        }
        using (document)
        {
            if (!document.RootElement.TryGetProperty("issues", out var issues) || issues.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"'{path}' has no \"issues\" array: not a Jira search export.");
            }
            var position = 0;
            foreach (var issue in issues.EnumerateArray())
            {
                position++;
                if (!issue.TryGetProperty("fields", out var fields) || fields.ValueKind != JsonValueKind.Object)
                {
                    yield return new ImportItem(null, new ImportProblem(position, "issue without fields"));
                    continue;
                }
                var comments = fields.TryGetProperty("comment", out var c) && c.TryGetProperty("comments", out var list) && list.ValueKind == JsonValueKind.Array
                    ? list.EnumerateArray().Select(x => (Body: Text(x.TryGetProperty("body", out var b) ? b : default), Created: Created(x))).Where(x => x.Body.Length > 0).ToList()
                    : [];
                var baseContext = new TicketContext
                {
                    TicketKey = issue.TryGetProperty("key", out var k) ? k.GetString() : null,
                    Summary = Text(fields.TryGetProperty("summary", out var s) ? s : default),
                    Description = Text(fields.TryGetProperty("description", out var d) ? d : default),
                    IssueType = Name(fields, "issuetype") ?? TicketContext.DefaultIssueType,
                    Status = Name(fields, "status") ?? TicketContext.DefaultStatus,
                    Priority = Name(fields, "priority") ?? TicketContext.DefaultPriority,
                };
                if (comments.Count == 0)
                {
                    yield return new ImportItem(null, new ImportProblem(position, $"{baseContext.TicketKey}: no comments to learn from"));
                    continue;
                }
                for (var i = 0; i < comments.Count; i++)
                {
                    var context = baseContext with { Comments = comments.Take(i).Select(x => x.Body).ToList() };
                    yield return new ImportItem(History(context, [comments[i].Body], comments[i].Created ?? now), null);
                }
            }
        }
    }

    private static TrainingSample History(TicketContext context, IReadOnlyList<string> replies, DateTimeOffset at) =>
        TrainingSample.From(context, context.Hash(), replies.Select(r => new Suggestion(r, "", 1.0)).ToList(), HistoryModel, HistoryModel, 0, at);

    private static string? Name(JsonElement fields, string property) =>
        fields.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("name", out var n) ? n.GetString() : null;

    private static DateTimeOffset? Created(JsonElement comment) =>
        comment.TryGetProperty("created", out var c) && c.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(c.GetString(),
            System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    /// <summary>Plain text of a string, or of an Atlassian Document Format node (read as the Jira client reads it).</summary>
    internal static string Text(JsonElement element) => CommentFlow.Jira.Adf.ToText(element);

    private static bool IsGzip(string path)
    {
        using var file = File.OpenRead(path);
        return file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
    }

    private static string? NullIfEmpty(string value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
