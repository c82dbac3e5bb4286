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
}

/// <param name="Internal">
/// Jira Service Management's <c>sd.public.comment</c> property when the comment carries it (webhooks do), else its
/// <c>jsdPublic</c> negated; null outside a service project.
/// </param>
internal sealed record JiraComment(string Id, string Body, JiraUser? Author, DateTimeOffset? Created, bool? Internal)
{
    public static JiraComment From(JsonElement comment) => new(
        JiraJson.String(comment, "id") ?? "",
        Adf.ToText(comment.TryGetProperty("body", out var body) ? body : default),
        JiraUser.From(comment.TryGetProperty("author", out var author) ? author : default),
        JiraJson.String(comment, "created") is { } created && DateTimeOffset.TryParse(created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null,
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
                && value.ValueKind == JsonValueKind.Object && value.TryGetProperty("internal", out var isInternal)
                && isInternal.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                return isInternal.GetBoolean();
            }
        }
        return null;
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
            Field("comment").ValueKind == JsonValueKind.Object ? JiraCommentPage.From(Field("comment")) : new JiraCommentPage(0, 0, 0, []));
    }
}

/// <param name="NextPageToken">Null on the last page.</param>
internal sealed record JiraSearchPage(IReadOnlyList<JiraIssue> Issues, string? NextPageToken);

/// <summary>Reading Jira's JSON leniently: a field Jira leaves out or nulls is simply absent.</summary>
internal static class JiraJson
{
    public static string? String(JsonElement node, string name) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static int? Int(JsonElement node, string name) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) ? n : null;
}
