namespace CommentFlow.Api.Access;

/// <summary>
/// Policy names for <c>RequireAuthorization</c> and <c>RequireRateLimiting</c>. An endpoint that names no
/// authorization policy falls back to <see cref="Admin"/>, so a new endpoint is closed until someone opens it.
/// </summary>
internal static class AccessPolicies
{
    /// <summary>An agent or an admin key.</summary>
    public const string Agent = "agent";

    /// <summary>An admin key.</summary>
    public const string Admin = "admin";

    /// <summary>The per-key (per-address without a key) request budget of the API.</summary>
    public const string RateLimit = "per-key";
}
