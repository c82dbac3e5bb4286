using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CommentFlow.Domain;
using CommentFlow.Jira;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CommentFlow.Api;

/// <summary>
/// Jira's admin webhook. Anonymous at the access layer: Jira sends no API key, it signs the raw body with HMAC-SHA256 and
/// the shared secret (<c>X-Hub-Signature: sha256=&lt;hex&gt;</c>). Without a configured secret every delivery is refused,
/// so an unauthenticated endpoint can never write training data. A delivery is answered 2xx only once what it brought is
/// in the store; a store failure is a 5xx, which Jira retries.
/// </summary>
internal static partial class JiraWebhookEndpoints
{
    public const string SignatureHeader = "X-Hub-Signature";
    private const string SignaturePrefix = "sha256=";

    /// <summary>Jira's issue payloads carry every field of the ticket; 4 MiB is far above a real one.</summary>
    public const int MaxBytes = 4 << 20;

    private static readonly string[] CommentEvents = ["comment_created", "comment_updated", "jira:issue_updated"];

    public static RouteGroupBuilder MapJiraWebhook(this IEndpointRouteBuilder api)
    {
        // Anonymous: Jira sends no API key; it signs its deliveries instead, checked by the handler.
        var group = api.MapGroup("").AllowAnonymous();
        group.MapPost("/jira/webhook", ReceiveAsync)
            .WithName("JiraWebhook")
            .WithSummary("Jira's admin webhook (comment_created, comment_updated, jira:issue_updated), signed with CommentFlow:Jira:WebhookSecret.")
            .Accepts<JsonElement>("application/json");
        return group;
    }

    private static async Task<Results<Ok<JiraWebhookResponse>, ValidationProblem, ProblemHttpResult>> ReceiveAsync(
        HttpRequest request, IOptions<JiraOptions> options, JiraClient jira, AgentReplyRecorder recorder, JiraCounters counters,
        ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var secret = options.Value.WebhookSecret;
        if (string.IsNullOrEmpty(secret))
        {
            counters.Refused();
            return TypedResults.Problem($"Jira webhooks are off: {JiraOptions.Section}:WebhookSecret is not set, and an unsigned delivery is never accepted. " +
                "Set the secret here and in the webhook's settings in Jira.", statusCode: StatusCodes.Status403Forbidden, title: "Jira webhooks are not configured.");
        }

        var body = await ReadBodyAsync(request, cancellationToken);
        if (body is null)
        {
            return TypedResults.Problem($"The delivery is larger than {MaxBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge, title: "The delivery is too large.");
        }
        if (!IsSigned(body, request.Headers[SignatureHeader].ToString(), secret))
        {
            counters.Refused();
            LogRefused(loggers.CreateLogger(typeof(JiraWebhookEndpoints).FullName!));
            return TypedResults.Problem($"The delivery's {SignatureHeader} header is missing or is not the HMAC-SHA256 of the body with the configured secret.",
                statusCode: StatusCodes.Status401Unauthorized, title: "The Jira webhook signature is invalid.");
        }
        counters.Delivery();

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            return Invalid("body", $"The body is not valid JSON: {ex.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || JiraJson.String(root, "webhookEvent") is not { } webhookEvent)
            {
                return Invalid("webhookEvent", "A Jira webhook delivery names its webhookEvent.");
            }
            var hasComment = root.TryGetProperty("comment", out var commentElement) && commentElement.ValueKind == JsonValueKind.Object;
            if (!CommentEvents.Contains(webhookEvent, StringComparer.Ordinal) || !hasComment)
            {
                // Signed and well-formed, only nothing to learn from (another event, or an issue update without a comment).
                return TypedResults.Ok(new JiraWebhookResponse(webhookEvent, null, null, false));
            }
            var issue = root.TryGetProperty("issue", out var issueElement) && issueElement.ValueKind == JsonValueKind.Object ? JiraIssue.From(issueElement) : null;
            if (issue is null || !JiraClient.IsIssueKey(issue.Key))
            {
                return Invalid("issue.key", "The delivery's issue has no key such as SD-123.");
            }
            var comment = JiraComment.From(commentElement);
            if (comment.Id.Length is 0 or > 100)
            {
                return Invalid("comment.id", "The delivery's comment has no id.");
            }

            var logger = loggers.CreateLogger(typeof(JiraWebhookEndpoints).FullName!);
            // Comment webhooks carry a few of the issue's fields, not its reporter: ask Jira, when it is configured, who that is.
            JiraIssue? read = null;
            if (issue.Reporter is null && jira.IsConfigured)
            {
                read = await ReadIssueAsync(jira, issue.Key, logger, cancellationToken);
                issue = read is null ? issue : read with { Comments = issue.Comments };
            }
            var recorded = await recorder.RecordAsync(issue, comment, AgentReplySources.Webhook,
                async ct => Before(comment, (read ?? (jira.IsConfigured ? await ReadIssueAsync(jira, issue.Key, logger, ct) : null))?.Comments.Comments ?? []),
                cancellationToken);
            return TypedResults.Ok(new JiraWebhookResponse(webhookEvent, comment.Id, recorded.Outcome.Length > 0 ? recorded.Outcome : null, recorded.Duplicate));
        }
    }

    /// <summary>HMAC-SHA256 of the raw body with the secret, compared in constant time with the header's hex.</summary>
    public static bool IsSigned(ReadOnlySpan<byte> body, string header, string secret)
    {
        if (!header.StartsWith(SignaturePrefix, StringComparison.OrdinalIgnoreCase) || header.Length != SignaturePrefix.Length + 64)
        {
            return false;
        }
        byte[] given;
        try
        {
            given = Convert.FromHexString(header.AsSpan(SignaturePrefix.Length));
        }
        catch (FormatException)
        {
            return false;
        }
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    public static string Sign(ReadOnlySpan<byte> body, string secret) =>
        SignaturePrefix + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>The comments before this one, oldest first (Jira's clock, then the ids, which grow).</summary>
    private static IReadOnlyList<JiraComment> Before(JiraComment comment, IReadOnlyList<JiraComment> comments) =>
        [.. comments.Where(c => c.Id != comment.Id && (comment.Created is not { } at || c.Created is not { } created || created < at))];

    private static async Task<JiraIssue?> ReadIssueAsync(JiraClient jira, string key, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            return await jira.GetIssueWithLastCommentsAsync(key, AgentReplyRecorder.ContextComments + 1, cancellationToken);
        }
        catch (JiraException ex)
        {
            // The delivery is still recorded from what it carries; Jira's message names no credentials.
            LogJiraUnavailable(logger, ex.Status, ex.Message);
            return null;
        }
    }

    /// <summary>The raw body (the signature covers its bytes exactly); null when it is larger than <see cref="MaxBytes"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBytes)
        {
            return null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(JsonBody.Error(field, message), title: "The Jira webhook delivery is invalid.");

    [LoggerMessage(EventId = 9102, Level = LogLevel.Warning, Message = "Refused a Jira webhook delivery: its signature is missing or wrong")]
    private static partial void LogRefused(ILogger logger);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Warning, Message = "Jira could not be read for a webhook delivery (status {Status}): {Message}; recorded from the delivery alone")]
    private static partial void LogJiraUnavailable(ILogger logger, int? status, string message);
}
