using System.IO.Compression;
using System.Text;
using System.Text.Json;
using CommentFlow.Domain;
using CommentFlow.Jira;
using CommentFlow.Training;

namespace CommentFlow.Import;

/// <summary>A record that could not become a sample, and why.</summary>
internal sealed record ImportProblem(int Line, string Reason);

/// <summary>What one record of a history file became: a sample, or a problem to report.</summary>
internal sealed record ImportItem(TrainingSample? Sample, ImportProblem? Problem);

/// <summary>
/// Historical tickets with the comments agents really wrote, as samples of engine <c>history</c> (model <c>history</c> for
/// a CSV, <c>agent-public</c>/<c>agent-internal</c>/<c>agent</c> for Jira, see <see cref="JiraHistory"/>): the cold start that
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
    /// A Jira REST search export (<c>{"issues":[…]}</c>, GZip or not), read by the rules of <c>import-jira</c>
    /// (<see cref="JiraHistory"/>): every agent comment is the answer to the ticket as it stood before it, with the status
    /// of that moment from the issue's <c>changelog</c> when the export has it; the reporter's comments are context only.
    /// Only the comments and histories in the file are used (an export cut to a page of comments stays cut).
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
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("issues", out var issues) || issues.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"'{path}' has no \"issues\" array: not a Jira search export.");
            }
            var position = 0;
            foreach (var element in issues.EnumerateArray())
            {
                position++;
                if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("fields", out var fields) || fields.ValueKind != JsonValueKind.Object)
                {
                    yield return new ImportItem(null, new ImportProblem(position, "issue without fields"));
                    continue;
                }
                var issue = JiraIssue.From(element);
                var history = JiraHistory.Build(issue, issue.Comments.Comments, now);
                if (history.Samples.Count == 0)
                {
                    var why = history.Comments == 0 ? "no comments to learn from" : "no agent comments (only the reporter's or unknown authors')";
                    yield return new ImportItem(null, new ImportProblem(position, $"{issue.Key}: {why}"));
                    continue;
                }
                foreach (var sample in history.Samples)
                {
                    yield return new ImportItem(sample, null);
                }
            }
        }
    }

    private static TrainingSample History(TicketContext context, IReadOnlyList<string> replies, DateTimeOffset at) =>
        TrainingSample.From(context, context.Hash(), replies.Select(r => new Suggestion(r, "", 1.0)).ToList(), HistoryModel, HistoryModel, 0, at);

    private static bool IsGzip(string path)
    {
        using var file = File.OpenRead(path);
        return file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
    }

    private static string? NullIfEmpty(string value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
