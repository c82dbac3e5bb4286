using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CommentFlow.Jira;

/// <summary>
/// Jira's REST API as Atlassian documents it (v3 Cloud with ADF bodies, v2 plain text), through a typed HttpClient
/// whose base address and credentials come from <see cref="JiraOptions"/>. Every failure is a <see cref="JiraException"/>
/// with Jira's status and messages; credentials live only in the client's default headers and are never put in a
/// message. The HttpClient's own logging is removed at registration, so URLs (which hold ticket keys) are not logged.
/// </summary>
internal sealed partial class JiraClient(HttpClient http, IOptions<JiraOptions> options, TimeProvider time, ILogger<JiraClient> logger)
{
    /// <summary>What the suggestion endpoint needs of an issue; <c>comment</c> brings the newest page of comments with their total.</summary>
    public const string IssueFields = "summary,description,issuetype,status,priority,reporter,comment";

    /// <summary>How often a 429 is retried before it becomes an error.</summary>
    public const int MaxRetries = 3;

    /// <summary>The longest Retry-After honoured; a longer one is reported at once rather than holding the caller.</summary>
    public static readonly TimeSpan MaxRetryWait = TimeSpan.FromSeconds(30);

    /// <summary>Jira Service Management's comment property telling internal notes from public replies.</summary>
    public const string PublicCommentProperty = "sd.public.comment";

    private JiraOptions Options => options.Value;

    public bool IsConfigured => Options.IsConfigured;

    private string Api => $"rest/api/{Options.ApiVersion}";

    /// <summary>A project key, a dash and a number (<c>SD-12</c>), or an issue id: nothing that could change the path.</summary>
    public static bool IsIssueKey(string? key) => key is { Length: > 0 and <= 100 } && IssueKey().IsMatch(key);

    public async Task<JiraUser> GetMyselfAsync(CancellationToken cancellationToken)
    {
        using var document = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"{Api}/myself"), cancellationToken);
        return JiraUser.From(document.RootElement) ?? throw JiraException.Malformed("/myself");
    }

    public async Task<JiraIssue> GetIssueAsync(string key, CancellationToken cancellationToken)
    {
        using var document = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"{Api}/issue/{Escape(key)}?fields={IssueFields}"), cancellationToken);
        return JiraIssue.From(document.RootElement);
    }

    public async Task<JiraCommentPage> GetCommentsAsync(string key, int startAt, int maxResults, CancellationToken cancellationToken)
    {
        using var document = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get,
            $"{Api}/issue/{Escape(key)}/comment?startAt={startAt}&maxResults={maxResults}&orderBy=created"), cancellationToken);
        return JiraCommentPage.From(document.RootElement);
    }

    /// <summary>An issue with its last <paramref name="lastComments"/> comments, oldest first, read from the comment pages when the issue's own page lacks them.</summary>
    public async Task<JiraIssue> GetIssueWithLastCommentsAsync(string key, int lastComments, CancellationToken cancellationToken)
    {
        var issue = await GetIssueAsync(key, cancellationToken);
        var comments = issue.Comments;
        if (comments.Total > comments.Comments.Count)
        {
            var from = Math.Max(0, comments.Total - lastComments);
            comments = await GetCommentsAsync(key, from, lastComments, cancellationToken);
        }
        var last = comments.Comments.TakeLast(lastComments).ToList();
        return issue with { Comments = new JiraCommentPage(comments.Total - last.Count, lastComments, comments.Total, last) };
    }

    /// <param name="internalNote">True: an internal note; false: a reply the customer sees (Jira Service Management's property).</param>
    public async Task<JiraComment> AddCommentAsync(string key, string text, bool internalNote, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["body"] = Options.ApiVersion >= 3 ? Adf.FromText(text) : text,
            ["properties"] = new JsonArray(new JsonObject
            {
                ["key"] = PublicCommentProperty,
                ["value"] = new JsonObject { ["internal"] = internalNote },
            }),
        };
        using var document = await SendAsync(() => Post($"{Api}/issue/{Escape(key)}/comment", body), cancellationToken);
        return JiraComment.From(document.RootElement);
    }

    /// <summary>
    /// One page of the enhanced search (<c>/search/jql</c>, paged by <c>nextPageToken</c>). Only the <paramref name="fields"/>
    /// asked for come back (without any, ids only). The old <c>/search</c> is gone from Cloud (410) and never called.
    /// </summary>
    /// <param name="expand">Jira's <c>expand</c>, e.g. <c>changelog</c>; null for none.</param>
    public async Task<JiraSearchPage> SearchAsync(string jql, IReadOnlyList<string> fields, string? nextPageToken, int maxResults, CancellationToken cancellationToken,
        string? expand = null)
    {
        var body = new JsonObject
        {
            ["jql"] = jql,
            ["fields"] = new JsonArray([.. fields.Select(f => (JsonNode)f)]),
            ["maxResults"] = maxResults,
        };
        if (nextPageToken is not null)
        {
            body["nextPageToken"] = nextPageToken;
        }
        if (expand is not null)
        {
            body["expand"] = expand;
        }
        using var document = await SendAsync(() => Post($"{Api}/search/jql", body), cancellationToken);
        var root = document.RootElement;
        var issues = root.TryGetProperty("issues", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().Select(JiraIssue.From).ToList() : [];
        return new JiraSearchPage(issues, JiraJson.String(root, "nextPageToken"));
    }

    /// <summary>About how many issues the query finds (<c>/search/approximate-count</c>, Cloud): for a progress bar, not for logic.</summary>
    public async Task<int?> ApproximateCountAsync(string jql, CancellationToken cancellationToken)
    {
        using var document = await SendAsync(() => Post($"{Api}/search/approximate-count", new JsonObject { ["jql"] = jql }), cancellationToken);
        return JiraJson.Int(document.RootElement, "count");
    }

    /// <summary>Every comment of an issue, oldest first, page after page, with their properties (Jira Service Management's visibility).</summary>
    public async Task<List<JiraComment>> GetAllCommentsAsync(string key, CancellationToken cancellationToken)
    {
        var comments = new List<JiraComment>();
        while (true)
        {
            var startAt = comments.Count;
            using var document = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get,
                $"{Api}/issue/{Escape(key)}/comment?startAt={startAt}&maxResults={MaxPage}&orderBy=created&expand=properties"), cancellationToken);
            var page = JiraCommentPage.From(document.RootElement);
            comments.AddRange(page.Comments);
            // An empty page ends it too: a total that shrank while reading must not loop.
            if (page.Comments.Count == 0 || comments.Count >= page.Total)
            {
                return comments;
            }
        }
    }

    /// <summary>Every status change of an issue, oldest first, from the paged changelog (<c>/issue/{key}/changelog</c>, Cloud).</summary>
    public async Task<List<JiraStatusChange>> GetStatusChangesAsync(string key, CancellationToken cancellationToken)
    {
        var changes = new List<JiraStatusChange>();
        var read = 0;
        while (true)
        {
            var startAt = read;
            using var document = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get,
                $"{Api}/issue/{Escape(key)}/changelog?startAt={startAt}&maxResults={MaxPage}"), cancellationToken);
            var root = document.RootElement;
            var values = root.TryGetProperty("values", out var list) && list.ValueKind == JsonValueKind.Array ? list : default;
            var count = values.ValueKind == JsonValueKind.Array ? values.GetArrayLength() : 0;
            changes.AddRange(JiraStatusChange.FromHistories(values));
            read += count;
            if (count == 0 || root.TryGetProperty("isLast", out var last) && last.ValueKind == JsonValueKind.True || read >= (JiraJson.Int(root, "total") ?? read))
            {
                return [.. changes.OrderBy(c => c.At)];
            }
        }
    }

    /// <summary>The largest page the comment and changelog endpoints give.</summary>
    private const int MaxPage = 100;

    /// <summary>Every issue the query finds, page after page.</summary>
    public async IAsyncEnumerable<JiraIssue> SearchAllAsync(string jql, IReadOnlyList<string> fields, int pageSize,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? token = null;
        do
        {
            var page = await SearchAsync(jql, fields, token, pageSize, cancellationToken);
            foreach (var issue in page.Issues)
            {
                yield return issue;
            }
            token = page.NextPageToken;
        }
        while (token is not null);
    }

    private static HttpRequestMessage Post(string path, JsonObject body) =>
        new(HttpMethod.Post, path) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };

    private static string Escape(string key) => Uri.EscapeDataString(key);

    /// <summary>
    /// Sends with the configured timeout per attempt and honours 429: waits Retry-After (or 1, 2, 4 s without one) up to
    /// <see cref="MaxRetries"/> times and never longer than <see cref="MaxRetryWait"/> at once. Returns the body as JSON
    /// (an empty body as <c>{}</c>).
    /// </summary>
    private async Task<JsonDocument> SendAsync(Func<HttpRequestMessage> create, CancellationToken cancellationToken)
    {
        if (!IsConfigured)
        {
            throw new InvalidOperationException($"Jira is not configured ({JiraOptions.Section}:BaseUrl is empty).");
        }
        var timeoutSeconds = Options.TimeoutSeconds;
        for (var attempt = 0; ; attempt++)
        {
            using var request = create();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
            HttpResponseMessage response;
            string body;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                body = await response.Content.ReadAsStringAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw JiraException.Unreachable($"Jira did not answer within {timeoutSeconds} s ({JiraOptions.Section}:TimeoutSeconds).");
            }
            catch (HttpRequestException ex)
            {
                // The message names the host and the socket error, never the request's headers.
                throw JiraException.Unreachable($"Jira could not be reached: {ex.Message}");
            }

            using (response)
            {
                if (response.IsSuccessStatusCode)
                {
                    return JsonDocument.Parse(string.IsNullOrWhiteSpace(body) ? "{}" : body);
                }
                var retryAfter = RetryAfter(response, attempt);
                if (response.StatusCode == HttpStatusCode.TooManyRequests && attempt < MaxRetries && retryAfter <= MaxRetryWait)
                {
                    LogRateLimited(logger, retryAfter.TotalSeconds, attempt + 1, MaxRetries);
                    await Task.Delay(retryAfter, time, cancellationToken);
                    continue;
                }
                throw JiraException.Answered(response.StatusCode, response.ReasonPhrase, body,
                    response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable ? retryAfter : null);
            }
        }
    }

    private TimeSpan RetryAfter(HttpResponseMessage response, int attempt)
    {
        var header = response.Headers.RetryAfter;
        var wait = header?.Delta ?? (header?.Date is { } date ? date - time.GetUtcNow() : TimeSpan.FromSeconds(1 << attempt));
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
    }

    [LoggerMessage(EventId = 9001, Level = LogLevel.Warning, Message = "Jira answered 429 (rate limited); waiting {Seconds} s as Retry-After asks, retry {Attempt} of {MaxRetries}")]
    private static partial void LogRateLimited(ILogger logger, double seconds, int attempt, int maxRetries);

    [GeneratedRegex(@"^([A-Za-z][A-Za-z0-9_]*-[0-9]+|[0-9]+)$")]
    private static partial Regex IssueKey();
}
