using System.Globalization;
using System.Text.Json;

namespace CommentFlow.Jira;

/// <param name="AccountId">Cloud's id of the user.</param>
/// <param name="Name">Data Center's user name (Cloud has none).</param>
/// <param name="AccountType">Cloud's <c>atlassian</c>, <c>app</c> or <c>customer</c> (a service project's portal customer).</param>
internal sealed record JiraUser(string? AccountId, string? Name, string DisplayName, string? EmailAddress, string? AccountType = null)
{
    public const string CustomerAccount = "customer";

    public static JiraUser? From(JsonElement user) => user.ValueKind != JsonValueKind.Object ? null : new(
        JiraJson.String(user, "accountId"), JiraJson.String(user, "name"), JiraJson.String(user, "displayName") ?? "", JiraJson.String(user, "emailAddress"),
        JiraJson.String(user, "accountType"));

    /// <summary>The same user: Cloud's account ids, else Data Center's names.</summary>
    public bool IsSameAs(JiraUser? other) => other is not null
        && (AccountId is not null && other.AccountId is not null
            ? AccountId == other.AccountId
            : Name is not null && string.Equals(Name, other.Name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The ticket's side, not an agent: its reporter, or a service project's portal customer. Their comments are the
    /// question, never an answer: one rule for the live webhook and poller and for imported history.
    /// </summary>
    public bool IsCustomerOf(JiraUser? reporter) => AccountType == CustomerAccount || IsSameAs(reporter);
}

/// <param name="Internal">
/// Jira Service Management's <c>sd.public.comment</c> property when the comment carries it (webhooks do; comments read
/// with <c>expand=properties</c>), else its <c>jsdPublic</c> negated; null outside a service project.
/// </param>
internal sealed record JiraComment(string Id, string Body, JiraUser? Author, DateTimeOffset? Created, bool? Internal)
{
    public static JiraComment From(JsonElement comment) => new(
        JiraJson.String(comment, "id") ?? "",
        Adf.ToText(comment.TryGetProperty("body", out var body) ? body : default),
        JiraUser.From(comment.TryGetProperty("author", out var author) ? author : default),
        JiraJson.Time(comment, "created"),
        InternalProperty(comment)
            ?? (comment.TryGetProperty("jsdPublic", out var jsdPublic) && jsdPublic.ValueKind is JsonValueKind.True or JsonValueKind.False ? !jsdPublic.GetBoolean() : null));

    // Webhooks have been seen to send jsdPublic true for internal notes; the property says what the agent chose.
    private static bool? InternalProperty(JsonElement comment)
    {
        if (!comment.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        foreach (var property in properties.EnumerateArray())
        {
            if (JiraJson.String(property, "key") == JiraClient.PublicCommentProperty && property.TryGetProperty("value", out var value)
                && value.ValueKind == JsonValueKind.Object && value.TryGetProperty("internal", out var flag))
            {
                // Jira Service Management has stored it as a boolean and as the string "true".
                return flag.ValueKind switch
                {
                    JsonValueKind.True or JsonValueKind.False => flag.GetBoolean(),
                    JsonValueKind.String when bool.TryParse(flag.GetString(), out var parsed) => parsed,
                    _ => null,
                };
            }
        }
        return null;
    }
}

/// <summary>A change of the status field in an issue's changelog: when, and from which status to which (their names).</summary>
internal sealed record JiraStatusChange(DateTimeOffset At, string? From, string? To)
{
    /// <summary>The status changes in a list of changelog histories (<c>{created, items: [{field, fromString, toString}]}</c>), oldest first.</summary>
    public static List<JiraStatusChange> FromHistories(JsonElement histories)
    {
        var changes = new List<JiraStatusChange>();
        if (histories.ValueKind != JsonValueKind.Array)
        {
            return changes;
        }
        foreach (var history in histories.EnumerateArray())
        {
            if (JiraJson.Time(history, "created") is not { } at || !history.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
            {
                continue;
            }
            foreach (var item in items.EnumerateArray())
            {
                if ((JiraJson.String(item, "fieldId") ?? JiraJson.String(item, "field")) is { } field && field.Equals("status", StringComparison.OrdinalIgnoreCase))
                {
                    changes.Add(new JiraStatusChange(at, JiraJson.String(item, "fromString"), JiraJson.String(item, "toString")));
                }
            }
        }
        // Cloud lists histories oldest first, some versions newest first: the order is the times'.
        return [.. changes.OrderBy(c => c.At)];
    }
}

internal sealed record JiraCommentPage(int StartAt, int MaxResults, int Total, IReadOnlyList<JiraComment> Comments)
{
    public static JiraCommentPage From(JsonElement page)
    {
        var comments = page.TryGetProperty("comments", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(JiraComment.From).ToList()
            : [];
        return new(JiraJson.Int(page, "startAt") ?? 0, JiraJson.Int(page, "maxResults") ?? comments.Count, JiraJson.Int(page, "total") ?? comments.Count, comments);
    }
}

/// <summary>An issue with the fields CommentFlow asks for; texts are plain (ADF read as text). <c>Comments</c> may be a part of <c>Comments.Total</c>.</summary>
internal sealed record JiraIssue(string Id, string Key, string Summary, string Description, string? IssueType, string? Status, string? Priority,
    JiraUser? Reporter, JiraCommentPage Comments)
{
    public static JiraIssue From(JsonElement issue)
    {
        var fields = issue.TryGetProperty("fields", out var f) && f.ValueKind == JsonValueKind.Object ? f : default;
        JsonElement Field(string name) => fields.ValueKind == JsonValueKind.Object && fields.TryGetProperty(name, out var value) ? value : default;
        return new(
            JiraJson.String(issue, "id") ?? "",
            JiraJson.String(issue, "key") ?? "",
            Adf.ToText(Field("summary")),
            Adf.ToText(Field("description")),
            JiraJson.String(Field("issuetype"), "name"),
            JiraJson.String(Field("status"), "name"),
            JiraJson.String(Field("priority"), "name"),
            JiraUser.From(Field("reporter")),
            Field("comment").ValueKind == JsonValueKind.Object ? JiraCommentPage.From(Field("comment")) : new JiraCommentPage(0, 0, 0, []))
        {
            StatusChanges = issue.TryGetProperty("changelog", out var changelog) && changelog.ValueKind == JsonValueKind.Object
                && changelog.TryGetProperty("histories", out var histories) ? JiraStatusChange.FromHistories(histories) : [],
            ChangelogHistories = changelog.ValueKind == JsonValueKind.Object && changelog.TryGetProperty("histories", out var list) && list.ValueKind == JsonValueKind.Array ? list.GetArrayLength() : 0,
            ChangelogTotal = changelog.ValueKind == JsonValueKind.Object ? JiraJson.Int(changelog, "total") ?? 0 : 0,
        };
    }

    /// <summary>From the changelog (<c>expand=changelog</c>), oldest first; empty when it was not asked for.</summary>
    public IReadOnlyList<JiraStatusChange> StatusChanges { get; init; } = [];

    /// <summary>How many histories the issue's changelog held, of <see cref="ChangelogTotal"/>: Jira embeds at most a page.</summary>
    public int ChangelogHistories { get; init; }

    public int ChangelogTotal { get; init; }
}

/// <param name="NextPageToken">Null on the last page.</param>
internal sealed record JiraSearchPage(IReadOnlyList<JiraIssue> Issues, string? NextPageToken);

/// <summary>Reading Jira's JSON leniently: a field Jira leaves out or nulls is simply absent.</summary>
internal static class JiraJson
{
    public static string? String(JsonElement node, string name) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static DateTimeOffset? Time(JsonElement node, string name) =>
        String(node, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    public static int? Int(JsonElement node, string name) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) ? n : null;
}
