using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CommentFlow.Api.Access;

/// <summary>The <c>ApiKey</c> scheme: the <c>X-Api-Key</c> header names a configured key, whose role becomes the caller's.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeys keys, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (keys.Open)
        {
            // Open mode is only ever reachable from this machine (see OpenAccessGuard), and behaves as before keys existed.
            return Task.FromResult(Success(new Claim(ClaimTypes.Role, AccessRoles.Admin)));
        }
        if (!Request.Headers.TryGetValue(ApiKeys.Header, out var values))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (values is not [{ Length: > 0 } presented])
        {
            return Task.FromResult(AuthenticateResult.Fail($"Send exactly one non-empty {ApiKeys.Header} header."));
        }
        return Task.FromResult(keys.Find(presented) is { } key
            ? Success(new Claim(ClaimTypes.Name, key.Name), new Claim(ClaimTypes.Role, key.Role))
            : AuthenticateResult.Fail($"The {ApiKeys.Header} header does not hold a key of this service."));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = $"{Scheme.Name} header=\"{ApiKeys.Header}\"";
        await WriteProblemAsync("API key required",
            result.Failure?.Message ?? $"Send a key of this service in the {ApiKeys.Header} header ('commentflow keys new' creates one).");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await WriteProblemAsync("Not allowed for this key",
            $"The key '{Context.User.Identity?.Name}' has the role '{Context.User.FindFirstValue(ClaimTypes.Role)}'; this endpoint needs an {AccessRoles.Admin} key.");
    }

    private AuthenticateResult Success(params Claim[] claims) =>
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name)), Scheme.Name));

    private ValueTask<bool> WriteProblemAsync(string title, string detail) =>
        problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = Response.StatusCode, Title = title, Detail = detail },
        });
}
