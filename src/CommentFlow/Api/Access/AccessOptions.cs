using System.ComponentModel.DataAnnotations;

namespace CommentFlow.Api.Access;

/// <summary>Who may call the API: keys and their roles, the front end's origins, and the rate limit.</summary>
internal sealed class AccessOptions : IValidatableObject
{
    public const string Section = "CommentFlow:Access";
    public const int MaxPermitsPerMinute = 1_000_000;

    /// <summary>Empty: the API is open, and the server then refuses to listen anywhere but on loopback.</summary>
    public List<AccessKey> Keys { get; set; } = [];

    /// <summary>Origins (scheme, host, port) whose browser pages may call the API. Empty: no CORS headers.</summary>
    public List<string> CorsOrigins { get; set; } = [];

    public AccessRateLimitOptions RateLimit { get; set; } = new();

    // DataAnnotations stop at the top level, so the list items and the nested section are checked here.
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Keys.Count; i++)
        {
            var key = Keys[i];
            var at = $"{Section}:Keys:{i}";
            if (string.IsNullOrWhiteSpace(key.Name))
            {
                yield return new ValidationResult($"{at}:Name is required: it names the key in logs and rate limits.", [$"Keys[{i}].Name"]);
            }
            else if (!names.Add(key.Name))
            {
                yield return new ValidationResult($"{at}:Name '{key.Name}' is used by another key.", [$"Keys[{i}].Name"]);
            }
            if (key.Hash is not { Length: ApiKeys.HashHexLength } || !key.Hash.All(char.IsAsciiHexDigit))
            {
                yield return new ValidationResult(
                    $"{at}:Hash must be the SHA-256 of the key as {ApiKeys.HashHexLength} hex digits (never the key itself); 'commentflow keys new' prints it.",
                    [$"Keys[{i}].Hash"]);
            }
            else if (!hashes.Add(key.Hash))
            {
                yield return new ValidationResult($"{at}:Hash is the hash of another key too.", [$"Keys[{i}].Hash"]);
            }
            if (key.Role is not (AccessRoles.Agent or AccessRoles.Admin))
            {
                yield return new ValidationResult($"{at}:Role must be '{AccessRoles.Agent}' or '{AccessRoles.Admin}'.", [$"Keys[{i}].Role"]);
            }
        }

        for (var i = 0; i < CorsOrigins.Count; i++)
        {
            if (!IsOrigin(CorsOrigins[i]))
            {
                yield return new ValidationResult(
                    $"{Section}:CorsOrigins:{i} must be an origin such as https://desk.example.com (scheme, host and port; no path, no trailing slash, no '*').",
                    [$"CorsOrigins[{i}]"]);
            }
        }

        if (RateLimit.PermitsPerMinute is < 0 or > MaxPermitsPerMinute)
        {
            yield return new ValidationResult($"{Section}:RateLimit:PermitsPerMinute must be 0 (off) to {MaxPermitsPerMinute}.", ["RateLimit.PermitsPerMinute"]);
        }
    }

    // Browsers send the origin without a path or trailing slash; anything else would never match, silently.
    private static bool IsOrigin(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && uri.AbsolutePath == "/" && !value.EndsWith('/')
        && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0;
}

/// <summary>One key: only its SHA-256 is configured, so a leaked configuration file opens nothing.</summary>
internal sealed class AccessKey
{
    public string Name { get; set; } = "";
    public string Hash { get; set; } = "";
    public string Role { get; set; } = "";
}

internal sealed class AccessRateLimitOptions
{
    /// <summary>Requests a minute per key (per remote address for requests without a valid key). 0 turns the limit off.</summary>
    public int PermitsPerMinute { get; set; } = 600;
}

internal static class AccessRoles
{
    /// <summary>What the agents' front end needs: suggestions, feedback, warm-up, stats.</summary>
    public const string Agent = "agent";

    /// <summary>Everything, including export, import, training, models, evaluation and deleting samples.</summary>
    public const string Admin = "admin";
}
