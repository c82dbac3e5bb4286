using System.ComponentModel.DataAnnotations;

namespace CommentFlow.Jira;

/// <summary>
/// The connection to Jira. Empty <see cref="BaseUrl"/> turns every Jira feature off. Cloud authenticates with an e-mail
/// and an API token (Basic), Data Center with a personal access token (Bearer). Validation messages name options only,
/// never their values, so a token cannot leak through a refused start-up.
/// </summary>
internal sealed class JiraOptions : IValidatableObject
{
    public const string Section = "CommentFlow:Jira";

    public string BaseUrl { get; set; } = "";

    public string Email { get; set; } = "";

    public string ApiToken { get; set; } = "";

    public string PersonalAccessToken { get; set; } = "";

    /// <summary>3: bodies are Atlassian Document Format (Cloud); 2: plain text (Data Center, or Cloud's v2).</summary>
    public int ApiVersion { get; set; } = 3;

    /// <summary>The HMAC-SHA256 secret Jira signs webhook deliveries with; empty refuses every delivery (docs/jira.md).</summary>
    public string WebhookSecret { get; set; } = "";

    /// <summary>How often the poller asks Jira for new comments; 0 turns it off.</summary>
    [Range(0, 86_400)]
    public int PollSeconds { get; set; }

    /// <summary>The poller's filter (e.g. <c>project = SD</c>), ANDed with its time window.</summary>
    public string Jql { get; set; } = "";

    /// <summary>Longest one call to Jira may take (each attempt; waits for Retry-After come on top, bounded).</summary>
    [Range(1, 300)]
    public int TimeoutSeconds { get; set; } = 10;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(BaseUrl);

    public bool UsesPersonalAccessToken => !string.IsNullOrEmpty(PersonalAccessToken);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ApiVersion is not (2 or 3))
        {
            yield return new ValidationResult($"{Section}:ApiVersion must be 3 (Cloud, Atlassian Document Format) or 2 (Data Center, plain text).", [nameof(ApiVersion)]);
        }
        if (!IsConfigured)
        {
            if (PollSeconds > 0)
            {
                yield return new ValidationResult($"{Section}:PollSeconds needs {Section}:BaseUrl: there is no Jira to poll.", [nameof(PollSeconds)]);
            }
            yield break;
        }
        if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(url.Query))
        {
            yield return new ValidationResult($"{Section}:BaseUrl must be an absolute http(s) URL such as https://example.atlassian.net (no query).", [nameof(BaseUrl)]);
        }
        else if (!string.IsNullOrEmpty(url.UserInfo))
        {
            // Credentials in the URL would end up in every error that names the address.
            yield return new ValidationResult($"{Section}:BaseUrl must not carry credentials; use {Section}:Email with {Section}:ApiToken, or {Section}:PersonalAccessToken.", [nameof(BaseUrl)]);
        }

        var basic = !string.IsNullOrEmpty(Email) || !string.IsNullOrEmpty(ApiToken);
        if (basic && UsesPersonalAccessToken)
        {
            yield return new ValidationResult($"{Section}: give {Section}:Email with {Section}:ApiToken (Cloud) or {Section}:PersonalAccessToken (Data Center), not both.", [nameof(PersonalAccessToken)]);
        }
        else if (!UsesPersonalAccessToken && (string.IsNullOrWhiteSpace(Email) || string.IsNullOrWhiteSpace(ApiToken)))
        {
            yield return new ValidationResult(
                $"{Section}:BaseUrl is set, so Jira needs credentials: {Section}:Email and {Section}:ApiToken (Cloud), or {Section}:PersonalAccessToken (Data Center).",
                [nameof(ApiToken)]);
        }
    }
}
