using System.Net;
using System.Text.Json;

namespace CommentFlow.Jira;

/// <summary>
/// Jira failed: it answered an error (<see cref="Status"/> with its <see cref="JiraMessages"/>, from <c>errorMessages</c>
/// and <c>errors</c>), or it could not be reached in time (<see cref="Status"/> null). The message is built from those
/// only, never from the request, so it can be shown to a caller.
/// </summary>
internal sealed class JiraException : Exception
{
    private const int MaxTextBody = 300;

    private JiraException(string message, int? status, IReadOnlyList<string> jiraMessages, TimeSpan? retryAfter) : base(message)
    {
        Status = status;
        JiraMessages = jiraMessages;
        RetryAfter = retryAfter;
    }

    public int? Status { get; }
    public IReadOnlyList<string> JiraMessages { get; }
    public TimeSpan? RetryAfter { get; }

    public bool IsNotFound => Status == (int)HttpStatusCode.NotFound;

    /// <summary>Unreachable, timed out, or still rate-limited after the bounded retries: worth trying again later.</summary>
    public bool IsUnavailable => Status is null or (int)HttpStatusCode.TooManyRequests;

    public static JiraException Unreachable(string message) => new(message, null, [], null);

    public static JiraException Malformed(string what) => new($"Jira's answer to {what} could not be read.", null, [], null);

    public static JiraException Answered(HttpStatusCode status, string? reason, string body, TimeSpan? retryAfter)
    {
        var messages = MessagesOf(body);
        var said = messages.Count > 0 ? ": " + string.Join(" ", messages) : ".";
        return new JiraException($"Jira answered {(int)status} {reason ?? status.ToString()}{said}", (int)status, messages, retryAfter);
    }

    /// <summary>Jira's error body <c>{"errorMessages": [...], "errors": {"field": "message"}}</c>; other bodies (a proxy's page) shortened.</summary>
    private static List<string> MessagesOf(string body)
    {
        var messages = new List<string>();
        if (string.IsNullOrWhiteSpace(body))
        {
            return messages;
        }
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("errorMessages", out var list) && list.ValueKind == JsonValueKind.Array)
                {
                    messages.AddRange(list.EnumerateArray().Where(m => m.ValueKind == JsonValueKind.String).Select(m => m.GetString()!));
                }
                if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
                {
                    messages.AddRange(errors.EnumerateObject().Where(e => e.Value.ValueKind == JsonValueKind.String).Select(e => $"{e.Name}: {e.Value.GetString()}"));
                }
                if (messages.Count == 0 && JiraJson.String(root, "message") is { } message)
                {
                    messages.Add(message);
                }
            }
            return messages;
        }
        catch (JsonException)
        {
            var text = string.Join(' ', body.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            messages.Add(text.Length > MaxTextBody ? text[..MaxTextBody] + "…" : text);
            return messages;
        }
    }
}
