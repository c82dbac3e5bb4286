using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CommentFlow.Domain;
using CommentFlow.Jira;
using CommentFlow.Storage;

namespace CommentFlow.Import;

/// <summary>What a run of <c>import-jira</c> did (this run only; a resumed run starts after <see cref="ResumedAfterIssues"/>).</summary>
internal sealed record JiraImportResult
{
    public required string Jql { get; init; }
    public bool Resumed { get; init; }
    public int ResumedAfterIssues { get; init; }
    public int Issues { get; set; }
    public int Comments { get; set; }
    public int AgentComments { get; set; }
    public int ReporterComments { get; set; }
    public int UnknownAuthorComments { get; set; }
    public int Public { get; set; }
    public int Internal { get; set; }
    public int Written { get; set; }
    public int Duplicates { get; set; }
    public bool Completed { get; set; }
}

/// <summary>Where a run of <c>import-jira</c> stands, kept in the store's <c>store_meta</c> after every page.</summary>
/// <param name="NextPageToken">The search page to read next; null before the first page and after the last.</param>
internal sealed record JiraImportState(string Jql, string? NextPageToken, int Issues, bool Completed)
{
    public string ToJson() => new JsonObject
    {
        ["jql"] = Jql,
        ["next_page_token"] = NextPageToken,
        ["issues"] = Issues,
        ["completed"] = Completed,
    }.ToJsonString();

    public static JiraImportState? FromJson(string? json)
    {
        if (json is null)
        {
            return null;
        }
        try
        {
            var node = JsonNode.Parse(json);
            return new JiraImportState(node?["jql"]?.GetValue<string>() ?? "", node?["next_page_token"]?.GetValue<string>(),
                node?["issues"]?.GetValue<int>() ?? 0, node?["completed"]?.GetValue<bool>() ?? true);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            // A marker that cannot be read is a fresh start: the store's duplicate check keeps that safe.
            return null;
        }
    }
}

/// <summary>Jira refused to go on from the saved position (its page tokens do not last for ever).</summary>
internal sealed class JiraResumeRefusedException(string message, JiraException inner) : Exception(message, inner);

/// <summary>
/// <c>import-jira</c>: pages the enhanced search with the changelog, completes each issue's comments and status changes
/// when Jira embedded only a page of them, and stores every agent comment as a sample (<see cref="JiraHistory"/>).
/// Resumable: after each page is written, the next page's token is saved under the query in <c>store_meta</c>; a rerun
/// of the same query goes on from there. A page cut short by a crash is read again, and its samples already written
/// are skipped by the store's duplicate check (the context hash), so nothing is stored twice.
/// </summary>
internal sealed class JiraImport(JiraClient jira, ITrainingStore store, TimeProvider time)
{
    public static IReadOnlyList<string> Fields { get; } = ["summary", "description", "issuetype", "status", "priority", "reporter", "comment", "created"];

    public const int DefaultPageSize = 50;

    /// <summary>Jira gives at most 100 issues with fields per search page.</summary>
    public const int MaxPageSize = 100;

    private const string MetaPrefix = "import-jira:";

    /// <summary>The <c>store_meta</c> key of a query: one position per query text.</summary>
    public static string MetaKey(string jql) => MetaPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(jql.Trim())))[..32];

    /// <param name="restart">Ignore a saved position and read from the first page.</param>
    /// <param name="onTotal">About how many issues there are, when Jira says (Cloud's approximate count).</param>
    /// <param name="onIssues">Issues done so far in this run, after each issue.</param>
    public async Task<JiraImportResult> RunAsync(string jql, int pageSize, int batchSize, bool restart, Action<int> onTotal, Action<int> onIssues, CancellationToken cancellationToken)
    {
        var key = MetaKey(jql);
        var saved = restart ? null : JiraImportState.FromJson(await store.ReadMetaAsync(key, cancellationToken));
        var resume = saved is { Completed: false, NextPageToken: not null } ? saved : null;
        var result = new JiraImportResult { Jql = jql, Resumed = resume is not null, ResumedAfterIssues = resume?.Issues ?? 0 };

        try
        {
            if (await jira.ApproximateCountAsync(jql, cancellationToken) is { } count)
            {
                onTotal(Math.Max(0, count - result.ResumedAfterIssues));
            }
        }
        catch (JiraException ex) when (ex.Status is not null and not 401 and not 403)
        {
            // Data Center has no approximate count: the bar then grows page by page. A bad query is reported by the search.
        }

        var token = resume?.NextPageToken;
        var issuesBefore = result.ResumedAfterIssues;
        do
        {
            JiraSearchPage page;
            try
            {
                page = await jira.SearchAsync(jql, [.. Fields], token, pageSize, cancellationToken, expand: "changelog");
            }
            catch (JiraException ex) when (ex.Status == 400 && result.Issues == 0)
            {
                // The first page of this run: a 400 is about what we sent, the query or the saved token, and nothing is stored yet.
                throw token is null
                    ? new InvalidDataException($"Jira refused the query: {ex.Message}", ex)
                    : new JiraResumeRefusedException(
                        $"Jira refused to go on from the saved position ({ex.Message}). Run again with --restart: the issues already imported are read again and skipped as duplicates.", ex);
            }

            var samples = new List<TrainingSample>();
            foreach (var issue in page.Issues)
            {
                var history = JiraHistory.Build(await CompleteAsync(issue, cancellationToken), await CommentsAsync(issue, cancellationToken), time.GetUtcNow());
                samples.AddRange(history.Samples);
                result.Issues++;
                result.Comments += history.Comments;
                result.AgentComments += history.Samples.Count;
                result.ReporterComments += history.ReporterComments;
                result.UnknownAuthorComments += history.UnknownAuthorComments;
                result.Public += history.Public;
                result.Internal += history.Internal;
                onIssues(result.Issues);
            }
            foreach (var batch in samples.Chunk(batchSize))
            {
                var written = await store.WriteAsync(batch, null, cancellationToken);
                result.Written += written.Written;
                result.Duplicates += written.Duplicates;
            }

            token = page.NextPageToken;
            // Saved only once the page's samples are committed: a crash before this reads the page again.
            await store.WriteMetaAsync(key, new JiraImportState(jql, token, issuesBefore + result.Issues, token is null).ToJson(),
                new Dictionary<string, long>(), cancellationToken);
        }
        while (token is not null);

        result.Completed = true;
        return result;
    }

    /// <summary>The issue with its whole changelog when Jira embedded only a page of it.</summary>
    private async Task<JiraIssue> CompleteAsync(JiraIssue issue, CancellationToken cancellationToken) =>
        issue.ChangelogTotal > issue.ChangelogHistories && issue.Key.Length > 0
            ? issue with { StatusChanges = await jira.GetStatusChangesAsync(issue.Key, cancellationToken) }
            : issue;

    /// <summary>Every comment: the embedded page when it holds them all, else all the comment pages.</summary>
    private async Task<IReadOnlyList<JiraComment>> CommentsAsync(JiraIssue issue, CancellationToken cancellationToken) =>
        issue.Comments.Total > issue.Comments.Comments.Count && issue.Key.Length > 0
            ? await jira.GetAllCommentsAsync(issue.Key, cancellationToken)
            : issue.Comments.Comments;
}
