namespace CommentFlow.Api.Access;

/// <summary>
/// Policy names for <c>RequireAuthorization</c> and <c>RequireRateLimiting</c>. Each feature's <c>Map…</c> names the
/// policy of its route groups; the fallback (admin) only covers requests no endpoint matches.
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
