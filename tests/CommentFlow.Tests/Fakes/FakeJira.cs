using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CommentFlow.Tests.Fakes;

public enum JiraFault
{
    None,
    Unauthorized,
    NotFound,
    ServerError,
    Slow,
}

public sealed record FakeJiraComment(string Id, JsonNode Body, string AuthorAccountId, string AuthorName, DateTimeOffset Created, bool? Internal, string AccountType = "atlassian")
{
    /// <summary>Visibility only in the <c>sd.public.comment</c> property (given with <c>expand=properties</c>), no <c>jsdPublic</c>.</summary>
    public bool VisibilityAsProperty { get; init; }
}

/// <summary>One changelog history holding a status change (<c>items: [{field: "status", fromString, toString}]</c>).</summary>
public sealed record FakeJiraStatusChange(string Id, DateTimeOffset Created, string From, string To);

public sealed record FakeJiraIssue(string Id, string Key, string Summary, JsonNode? Description, string IssueType, string Status, string Priority)
{
    public List<FakeJiraComment> Comments { get; } = [];
    public List<FakeJiraStatusChange> Histories { get; } = [];
    public string ReporterAccountId { get; init; } = FakeJira.CustomerAccountId;
}

/// <summary>What the fake received on <c>POST …/comment</c>, as sent: the body (ADF or text) and the properties.</summary>
public sealed record PostedComment(string Key, JsonNode? Body, JsonNode? Properties);

/// <summary>
/// A fake Jira on 127.0.0.1 speaking the documented REST wire formats (v3 ADF bodies, v2 plain text): <c>/myself</c>,
/// issues with their newest comments embedded, comment pages (<c>startAt</c>, <c>maxResults</c>, <c>total</c>), posting a
/// comment with the <c>sd.public.comment</c> property (and reading it back with <c>expand=properties</c>), the enhanced search
/// (<c>/search/jql</c>, <c>nextPageToken</c>, ids only without <c>fields</c>, <c>expand=changelog</c>, 400 on a broken query),
/// its approximate count, the paged changelog (<c>/issue/{key}/changelog</c>) and 410 on the removed <c>/search</c>; Basic
/// (e-mail, API token) or Bearer (PAT) authentication, and faults (429 with Retry-After, 500 on chosen requests).
/// </summary>
public sealed class FakeJira : IAsyncDisposable
{
    public const string Email = "bot@example.com";
    public const string ApiToken = "ATATT-fake-token-4711";
    public const string Pat = "NjA0-fake-personal-access-token";
    public const string AccountId = "5b10ac8d82e05b22cc7d4ef5";
    public const string DisplayName = "CommentFlow Bot";
    public const string ReporterAccountId = "557058:customer";
    public const string CustomerAccountId = ReporterAccountId;
    public const string AgentAccountId = "712020:agent-ana";
    public const string AgentName = "Ana Agent";

    private WebApplication _app = null!;
    private int _nextCommentId = 10_000;
    private int _requests;
    private int _rateLimitedLeft;

    public string Url { get; private set; } = "";
    public JiraFault Fault { get; set; }

    /// <summary>Answer this many requests with 429 and <see cref="RetryAfterSeconds"/> before answering normally.</summary>
    public int RateLimitedRequests { get => _rateLimitedLeft; set => _rateLimitedLeft = value; }
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>How many comments an issue embeds (Jira embeds only a page); the rest are read through the comment pages.</summary>
    public int EmbeddedComments { get; set; } = 5;
    public int MaxCommentPage { get; set; } = 100;

    /// <summary>How many changelog histories an issue embeds with <c>expand=changelog</c>; the rest are read through <c>/changelog</c> pages.</summary>
    public int EmbeddedHistories { get; set; } = 100;
    public int MaxChangelogPage { get; set; } = 100;

    /// <summary>Requests this answers with 500, before anything else (after the rate limit): a Jira failing part-way.</summary>
    public Func<HttpRequest, bool>? FailWhen { get; set; }

    public ConcurrentDictionary<string, FakeJiraIssue> Issues { get; } = new(StringComparer.OrdinalIgnoreCase);
    public ConcurrentQueue<PostedComment> Posted { get; } = new();
    public ConcurrentQueue<JsonObject> Searches { get; } = new();
    public ConcurrentQueue<string> Paths { get; } = new();
    public int Requests => _requests;
    public int OldSearchCalls { get; private set; }

    public static async Task<FakeJira> StartAsync()
    {
        var fake = new FakeJira();
        (fake._app, fake.Url) = await LoopbackApp.StartAsync(app =>
        {
            app.Use(fake.GateAsync);
            app.MapGet("/rest/api/{v}/myself", fake.Myself);
            app.MapGet("/rest/api/{v}/issue/{key}", fake.Issue);
            app.MapGet("/rest/api/{v}/issue/{key}/comment", fake.Comments);
            app.MapPost("/rest/api/{v}/issue/{key}/comment", fake.PostCommentAsync);
            app.MapGet("/rest/api/{v}/issue/{key}/changelog", fake.Changelog);
            app.MapPost("/rest/api/{v}/search/jql", fake.SearchAsync);
            app.MapPost("/rest/api/{v}/search/approximate-count", fake.Count);
            app.Map("/rest/api/{v}/search", fake.OldSearch);
        });
        return fake;
    }

    /// <summary>The settings (relative to CommentFlow) that point the service at this fake with Cloud credentials.</summary>
    public string[] CloudSettings(string token = ApiToken, params string[] more) =>
        [$"Jira:BaseUrl={Url}", $"Jira:Email={Email}", $"Jira:ApiToken={token}", .. more];

    public FakeJiraIssue AddIssue(string key, string summary, string description, int comments = 0, bool adf = true)
    {
        var issue = new FakeJiraIssue((10_000 + Issues.Count).ToString(CultureInfo.InvariantCulture), key, summary,
            adf ? Doc(description) : JsonValue.Create(description), "Incident", "Waiting for support", "High");
        for (var i = 1; i <= comments; i++)
        {
            issue.Comments.Add(new FakeJiraComment(NextCommentId(), adf ? Doc($"Comment {i} on {key}") : JsonValue.Create($"Comment {i} on {key}"),
                "557058:customer", "Customer", DateTimeOffset.Parse("2026-01-01T10:00:00Z", CultureInfo.InvariantCulture).AddMinutes(i), i % 2 == 0));
        }
        Issues[key] = issue;
        return issue;
    }

    /// <summary>A comment by <paramref name="accountId"/> (an agent unless told), created now, in ADF or (v2, webhooks) plain text.</summary>
    public FakeJiraComment AddComment(string key, string text, string accountId = AgentAccountId, string name = AgentName, bool? isInternal = null, bool adf = true)
    {
        var issue = Issues[key];
        var comment = new FakeJiraComment(NextCommentId(), adf ? Doc(text) : JsonValue.Create(text)!, accountId, name, DateTimeOffset.UtcNow, isInternal);
        lock (issue.Comments)
        {
            issue.Comments.Add(comment);
        }
        return comment;
    }

    /// <summary>
    /// A delivery as Jira Cloud's admin webhook sends it for <paramref name="comment"/>: the event, a timestamp, the issue
    /// with a few of its fields (no reporter, no description) and the comment (with <c>jsdPublic</c>).
    /// </summary>
    public static string WebhookBody(string webhookEvent, FakeJiraIssue issue, FakeJiraComment comment) => new JsonObject
    {
        ["timestamp"] = comment.Created.ToUnixTimeMilliseconds(),
        ["webhookEvent"] = webhookEvent,
        ["issue"] = new JsonObject
        {
            ["id"] = issue.Id,
            ["key"] = issue.Key,
            ["fields"] = new JsonObject
            {
                ["summary"] = issue.Summary,
                ["issuetype"] = new JsonObject { ["name"] = issue.IssueType },
                ["status"] = new JsonObject { ["name"] = issue.Status },
                ["priority"] = new JsonObject { ["name"] = issue.Priority },
            },
        },
        ["comment"] = CommentJson(comment),
    }.ToJsonString();

    /// <summary>An agent's (or, with <paramref name="author"/>, anyone's) comment; <paramref name="isInternal"/> null outside a service project.</summary>
    public static FakeJiraComment Comment(FakeJiraIssue issue, string text, DateTimeOffset at, bool? isInternal, string author = AgentAccountId, bool asProperty = false)
    {
        var comment = new FakeJiraComment((20_000 + issue.Comments.Count).ToString(CultureInfo.InvariantCulture) + issue.Id, Doc(text), author,
            author == CustomerAccountId ? "Customer" : "Agent", at, isInternal) { VisibilityAsProperty = asProperty };
        issue.Comments.Add(comment);
        return comment;
    }

    public static void Transition(FakeJiraIssue issue, DateTimeOffset at, string from, string to) =>
        issue.Histories.Add(new FakeJiraStatusChange((30_000 + issue.Histories.Count).ToString(CultureInfo.InvariantCulture), at, from, to));

    /// <summary>A one-paragraph ADF document.</summary>
    public static JsonObject Doc(string text) => new()
    {
        ["type"] = "doc",
        ["version"] = 1,
        ["content"] = new JsonArray(new JsonObject { ["type"] = "paragraph", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }) }),
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private string NextCommentId() => Interlocked.Increment(ref _nextCommentId).ToString(CultureInfo.InvariantCulture);

    private async Task GateAsync(HttpContext context, RequestDelegate next)
    {
        Interlocked.Increment(ref _requests);
        Paths.Enqueue(context.Request.Path + context.Request.QueryString);
        if (Fault == JiraFault.Slow)
        {
            // Until the client gives up (its timeout) or the fake stops.
            await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }
        if (Interlocked.Decrement(ref _rateLimitedLeft) >= 0)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            await Error(context, StatusCodes.Status429TooManyRequests, "Rate limit exceeded.");
            return;
        }
        Interlocked.Exchange(ref _rateLimitedLeft, 0);
        if (FailWhen?.Invoke(context.Request) == true)
        {
            await Error(context, StatusCodes.Status500InternalServerError, "Internal server error: the database is being upgraded.");
            return;
        }
        var authorization = context.Request.Headers.Authorization.ToString();
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Email}:{ApiToken}"));
        if (Fault == JiraFault.Unauthorized || (authorization != basic && authorization != "Bearer " + Pat))
        {
            await Error(context, StatusCodes.Status401Unauthorized, "Client must be authenticated to access this resource.");
            return;
        }
        if (Fault == JiraFault.ServerError)
        {
            await Error(context, StatusCodes.Status500InternalServerError, "Internal server error: the database is being upgraded.");
            return;
        }
        await next(context);
    }

    private static Task Error(HttpContext context, int status, string message, JsonObject? errors = null)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new JsonObject { ["errorMessages"] = new JsonArray(message), ["errors"] = errors ?? [] });
    }

    private IResult Myself(string v) => Results.Json(v == "2"
        ? new JsonObject { ["name"] = "commentflow", ["key"] = "JIRAUSER10100", ["displayName"] = DisplayName, ["active"] = true }
        : new JsonObject { ["accountId"] = AccountId, ["accountType"] = "atlassian", ["displayName"] = DisplayName, ["emailAddress"] = Email, ["active"] = true });

    private FakeJiraIssue? Find(HttpContext context, string key) =>
        Fault == JiraFault.NotFound || !Issues.TryGetValue(key, out var issue) ? null : issue;

    private static IResult IssueNotFound() => Results.Json(
        new JsonObject { ["errorMessages"] = new JsonArray("Issue does not exist or you do not have permission to see it."), ["errors"] = new JsonObject() },
        statusCode: StatusCodes.Status404NotFound);

    private IResult Issue(HttpContext context, string key)
    {
        if (Find(context, key) is not { } issue)
        {
            return IssueNotFound();
        }
        var fields = context.Request.Query["fields"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries);
        return Results.Json(IssueJson(issue, fields, context.Request.Query["expand"].ToString().Contains("changelog", StringComparison.Ordinal)));
    }

    private JsonObject IssueJson(FakeJiraIssue issue, IReadOnlyCollection<string> fields, bool changelog = false)
    {
        var all = new JsonObject
        {
            ["summary"] = issue.Summary,
            ["description"] = issue.Description?.DeepClone(),
            ["issuetype"] = new JsonObject { ["name"] = issue.IssueType },
            ["status"] = new JsonObject { ["name"] = issue.Status },
            ["priority"] = new JsonObject { ["name"] = issue.Priority },
            ["reporter"] = new JsonObject { ["accountId"] = issue.ReporterAccountId, ["displayName"] = "Customer", ["accountType"] = "customer" },
            ["created"] = "2025-12-01T09:00:00.000+0000",
            ["comment"] = Page(issue, 0, EmbeddedComments),
        };
        var selected = new JsonObject();
        foreach (var (name, value) in all)
        {
            if (fields.Contains(name) || fields.Contains("*all"))
            {
                selected[name] = value?.DeepClone();
            }
        }
        var json = new JsonObject { ["id"] = issue.Id, ["key"] = issue.Key, ["self"] = $"{Url}/rest/api/3/issue/{issue.Id}", ["fields"] = selected };
        if (changelog)
        {
            // As Jira embeds it with expand=changelog: the first page of histories, oldest first, with the total.
            json["changelog"] = new JsonObject
            {
                ["startAt"] = 0,
                ["maxResults"] = EmbeddedHistories,
                ["total"] = issue.Histories.Count,
                ["histories"] = new JsonArray([.. issue.Histories.Take(EmbeddedHistories).Select(HistoryJson)]),
            };
        }
        return json;
    }

    private static JsonNode HistoryJson(FakeJiraStatusChange h) => new JsonObject
    {
        ["id"] = h.Id,
        ["author"] = new JsonObject { ["accountId"] = AgentAccountId, ["displayName"] = "Agent" },
        ["created"] = JiraTime(h.Created),
        ["items"] = new JsonArray(new JsonObject
        {
            ["field"] = "status",
            ["fieldtype"] = "jira",
            ["fieldId"] = "status",
            ["from"] = "1",
            ["fromString"] = h.From,
            ["to"] = "3",
            ["toString"] = h.To,
        }),
    };

    /// <summary>Jira's time format: <c>2026-01-01T10:01:00.000+0000</c>.</summary>
    private static string JiraTime(DateTimeOffset at) => at.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture).Remove(26, 1);

    /// <summary><c>GET /issue/{key}/changelog</c> (Cloud): a page bean of histories, <c>values</c> with <c>isLast</c>.</summary>
    private IResult Changelog(HttpContext context, string key, int? startAt, int? maxResults)
    {
        if (Find(context, key) is not { } issue)
        {
            return IssueNotFound();
        }
        var start = startAt ?? 0;
        var max = Math.Min(maxResults ?? 100, MaxChangelogPage);
        var values = issue.Histories.Skip(start).Take(max).Select(HistoryJson).ToList();
        return Results.Json(new JsonObject
        {
            ["startAt"] = start,
            ["maxResults"] = max,
            ["total"] = issue.Histories.Count,
            ["isLast"] = start + values.Count >= issue.Histories.Count,
            ["values"] = new JsonArray([.. values]),
        });
    }

    private JsonObject Page(FakeJiraIssue issue, int startAt, int maxResults)
    {
        List<FakeJiraComment> comments;
        lock (issue.Comments)
        {
            comments = [.. issue.Comments.Skip(startAt).Take(maxResults)];
        }
        return new JsonObject
        {
            ["startAt"] = startAt,
            ["maxResults"] = maxResults,
            ["total"] = issue.Comments.Count,
            ["comments"] = new JsonArray([.. comments.Select(c => CommentJson(c))]),
        };
    }

    private static JsonNode CommentJson(FakeJiraComment c, bool properties = false)
    {
        var json = new JsonObject
        {
            ["id"] = c.Id,
            ["author"] = new JsonObject { ["accountId"] = c.AuthorAccountId, ["displayName"] = c.AuthorName, ["accountType"] = c.AccountType },
            ["body"] = c.Body.DeepClone(),
            ["created"] = JiraTime(c.Created),
            ["updated"] = JiraTime(c.Created),
        };
        if (!c.VisibilityAsProperty)
        {
            json["jsdPublic"] = c.Internal is { } i ? !i : null;
        }
        if (properties)
        {
            json["properties"] = c.Internal is { } internalNote
                ? new JsonArray(new JsonObject { ["key"] = "sd.public.comment", ["value"] = new JsonObject { ["internal"] = internalNote } })
                : new JsonArray();
        }
        return json;
    }

    private IResult Comments(HttpContext context, string key, int? startAt, int? maxResults)
    {
        if (Find(context, key) is not { } issue)
        {
            return IssueNotFound();
        }
        var page = Page(issue, startAt ?? 0, Math.Min(maxResults ?? 50, MaxCommentPage));
        if (context.Request.Query["expand"].ToString().Contains("properties", StringComparison.Ordinal))
        {
            List<FakeJiraComment> comments;
            lock (issue.Comments)
            {
                comments = [.. issue.Comments.Skip(startAt ?? 0).Take(Math.Min(maxResults ?? 50, MaxCommentPage))];
            }
            page["comments"] = new JsonArray([.. comments.Select(c => CommentJson(c, properties: true))]);
        }
        return Results.Json(page);
    }

    private async Task<IResult> PostCommentAsync(HttpContext context, string v, string key)
    {
        if (Find(context, key) is not { } issue)
        {
            return IssueNotFound();
        }
        var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        Posted.Enqueue(new PostedComment(key, body["body"]?.DeepClone(), body["properties"]?.DeepClone()));
        var adf = body["body"] is JsonObject;
        if (v == "3" ? !adf : body["body"] is not JsonValue)
        {
            // What Jira answers for a body of the other version's format.
            return Results.Json(new JsonObject { ["errorMessages"] = new JsonArray(), ["errors"] = new JsonObject { ["comment"] = "Comment body is not valid!" } },
                statusCode: StatusCodes.Status400BadRequest);
        }
        var isInternal = body["properties"]?.AsArray().FirstOrDefault(p => p?["key"]?.GetValue<string>() == "sd.public.comment")?["value"]?["internal"]?.GetValue<bool>();
        var comment = new FakeJiraComment(NextCommentId(), body["body"]!.DeepClone(), AccountId, DisplayName, DateTimeOffset.UtcNow, isInternal);
        lock (issue.Comments)
        {
            issue.Comments.Add(comment);
        }
        return Results.Json(CommentJson(comment), statusCode: StatusCodes.Status201Created);
    }

    /// <summary>Every issue in key order; the token is the next issue's index, opaque to the client.</summary>
    private async Task<IResult> SearchAsync(HttpContext context, string v)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        Searches.Enqueue(body);
        var fields = body["fields"]?.AsArray().Select(f => f!.GetValue<string>()).ToList() ?? [];
        var max = body["maxResults"]?.GetValue<int>() ?? 50;
        var changelog = body["expand"]?.GetValue<string>().Contains("changelog", StringComparison.Ordinal) == true;
        if (JqlError(body["jql"]?.GetValue<string>()) is { } jqlError)
        {
            return Results.Json(new JsonObject { ["errorMessages"] = new JsonArray(jqlError), ["errors"] = new JsonObject() }, statusCode: StatusCodes.Status400BadRequest);
        }
        var start = 0;
        if (body["nextPageToken"] is { } token && !TryReadToken(token.GetValue<string>(), out start))
        {
            // What Jira answers for a token it did not give, or one that expired.
            return Results.Json(new JsonObject { ["errorMessages"] = new JsonArray("The provided next page token is invalid or expired."), ["errors"] = new JsonObject() },
                statusCode: StatusCodes.Status400BadRequest);
        }
        var ordered = Issues.Values.OrderBy(i => i.Id, StringComparer.Ordinal).ToList();
        var page = ordered.Skip(start).Take(max).Select(i => fields.Count == 0 ? new JsonObject { ["id"] = i.Id } : IssueJson(i, fields, changelog)).ToList();
        var result = new JsonObject { ["issues"] = new JsonArray([.. page]), ["isLast"] = start + max >= ordered.Count };
        if (start + max < ordered.Count)
        {
            result["nextPageToken"] = Convert.ToBase64String(Encoding.UTF8.GetBytes((start + max).ToString(CultureInfo.InvariantCulture)));
        }
        return Results.Json(result);
    }

    private static bool TryReadToken(string token, out int start)
    {
        start = 0;
        var bytes = new byte[token.Length];
        return Convert.TryFromBase64String(token, bytes, out var length)
            && int.TryParse(Encoding.UTF8.GetString(bytes, 0, length), NumberStyles.None, CultureInfo.InvariantCulture, out start);
    }

    /// <summary><c>POST /search/approximate-count</c>: every issue counts (the fake does not filter).</summary>
    private IResult Count() => Results.Json(new JsonObject { ["count"] = Issues.Count });

    /// <summary>What Jira answers for a query cut short after its operator; every other query matches every issue.</summary>
    private static string? JqlError(string? jql) =>
        jql is null || jql.TrimEnd().EndsWith('=')
            ? "Error in the JQL Query: Expecting either a value, list or function but got 'end of the query'. (line 1, character 10)"
            : null;

    private IResult OldSearch()
    {
        OldSearchCalls++;
        return Results.Json(new JsonObject
        {
            ["errorMessages"] = new JsonArray("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."),
            ["errors"] = new JsonObject(),
        }, statusCode: StatusCodes.Status410Gone);
    }
}
