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

public sealed record FakeJiraComment(string Id, JsonNode Body, string AuthorAccountId, string AuthorName, DateTimeOffset Created, bool? Internal, string AccountType = "atlassian");

public sealed record FakeJiraIssue(string Id, string Key, string Summary, JsonNode? Description, string IssueType, string Status, string Priority)
{
    public List<FakeJiraComment> Comments { get; } = [];
}

/// <summary>What the fake received on <c>POST …/comment</c>, as sent: the body (ADF or text) and the properties.</summary>
public sealed record PostedComment(string Key, JsonNode? Body, JsonNode? Properties);

/// <summary>
/// A fake Jira on 127.0.0.1 speaking the documented REST wire formats (v3 ADF bodies, v2 plain text): <c>/myself</c>,
/// issues with their newest comments embedded, comment pages (<c>startAt</c>, <c>maxResults</c>, <c>total</c>), posting a
/// comment with the <c>sd.public.comment</c> property, the enhanced search (<c>/search/jql</c>, <c>nextPageToken</c>, ids only
/// without <c>fields</c>) and 410 on the removed <c>/search</c>; Basic (e-mail, API token) or Bearer (PAT) authentication, and faults.
/// </summary>
public sealed class FakeJira : IAsyncDisposable
{
    public const string Email = "bot@example.com";
    public const string ApiToken = "ATATT-fake-token-4711";
    public const string Pat = "NjA0-fake-personal-access-token";
    public const string AccountId = "5b10ac8d82e05b22cc7d4ef5";
    public const string DisplayName = "CommentFlow Bot";
    public const string ReporterAccountId = "557058:customer";
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
            app.MapPost("/rest/api/{v}/search/jql", fake.SearchAsync);
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
        return Results.Json(IssueJson(issue, fields));
    }

    private JsonObject IssueJson(FakeJiraIssue issue, IReadOnlyCollection<string> fields)
    {
        var all = new JsonObject
        {
            ["summary"] = issue.Summary,
            ["description"] = issue.Description?.DeepClone(),
            ["issuetype"] = new JsonObject { ["name"] = issue.IssueType },
            ["status"] = new JsonObject { ["name"] = issue.Status },
            ["priority"] = new JsonObject { ["name"] = issue.Priority },
            ["reporter"] = new JsonObject { ["accountId"] = ReporterAccountId, ["displayName"] = "Customer", ["accountType"] = "customer" },
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
        return new JsonObject { ["id"] = issue.Id, ["key"] = issue.Key, ["self"] = $"{Url}/rest/api/3/issue/{issue.Id}", ["fields"] = selected };
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
            ["comments"] = new JsonArray([.. comments.Select(CommentJson)]),
        };
    }

    private static JsonNode CommentJson(FakeJiraComment c) => new JsonObject
    {
        ["id"] = c.Id,
        ["author"] = new JsonObject { ["accountId"] = c.AuthorAccountId, ["displayName"] = c.AuthorName, ["accountType"] = c.AccountType },
        ["body"] = c.Body.DeepClone(),
        ["created"] = c.Created.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture).Remove(26, 1),
        ["updated"] = c.Created.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture).Remove(26, 1),
        ["jsdPublic"] = c.Internal is { } i ? !i : null,
    };

    private IResult Comments(HttpContext context, string key, int? startAt, int? maxResults)
    {
        if (Find(context, key) is not { } issue)
        {
            return IssueNotFound();
        }
        return Results.Json(Page(issue, startAt ?? 0, Math.Min(maxResults ?? 50, MaxCommentPage)));
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
        var start = body["nextPageToken"] is { } token ? int.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(token.GetValue<string>())), CultureInfo.InvariantCulture) : 0;
        var ordered = Issues.Values.OrderBy(i => i.Id, StringComparer.Ordinal).ToList();
        var page = ordered.Skip(start).Take(max).Select(i => fields.Count == 0 ? new JsonObject { ["id"] = i.Id } : IssueJson(i, fields)).ToList();
        var result = new JsonObject { ["issues"] = new JsonArray([.. page]), ["isLast"] = start + max >= ordered.Count };
        if (start + max < ordered.Count)
        {
            result["nextPageToken"] = Convert.ToBase64String(Encoding.UTF8.GetBytes((start + max).ToString(CultureInfo.InvariantCulture)));
        }
        return Results.Json(result);
    }

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
