using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace CommentFlow.Api.Access;

/// <summary>API keys and roles, CORS for the front end, and per-key rate limits, all with the framework's own middleware.</summary>
internal static class AccessExtensions
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    public static IHostApplicationBuilder AddCommentFlowAccess(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AccessOptions>().BindConfiguration(AccessOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AccessOptions>, OpenAccessGuard>();
        builder.Services.AddHostedService<OpenAccessGuard.Warning>();
        builder.Services.AddSingleton<ApiKeys>();

        // The core services only: AddAuthentication would also bring data protection, which writes a key ring at start
        // for cookies and tokens this service never issues.
        builder.Services.AddWebEncoders();
        builder.Services.AddAuthenticationCore(o =>
        {
            o.AddScheme<ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, displayName: null);
            o.DefaultScheme = ApiKeyAuthenticationHandler.SchemeName;
        });
        var admin = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireRole(AccessRoles.Admin).Build();
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(AccessPolicies.Agent, p => p.RequireAuthenticatedUser().RequireRole(AccessRoles.Agent, AccessRoles.Admin))
            .AddPolicy(AccessPolicies.Admin, admin)
            // Every endpoint names its policy (EndpointPolicyTests); this closes what none matches, and any endpoint forgotten.
            .SetFallbackPolicy(admin);

        builder.Services.AddCors();
        builder.Services.AddOptions<CorsOptions>().Configure<IOptions<AccessOptions>>((cors, access) =>
        {
            // No default policy when no origin is listed: the middleware then adds no CORS header at all.
            if (access.Value.CorsOrigins is { Count: > 0 } origins)
            {
                cors.AddDefaultPolicy(p => p.WithOrigins([.. origins])
                    .WithHeaders(ApiKeys.Header, HeaderNames.ContentType)
                    .WithMethods(HttpMethods.Get, HttpMethods.Post, HttpMethods.Delete)
                    .WithExposedHeaders(HeaderNames.RetryAfter, HeaderNames.Location)
                    .SetPreflightMaxAge(TimeSpan.FromMinutes(10)));
            }
        });

        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = RejectAsync;
            limiter.AddPolicy(AccessPolicies.RateLimit, Partition);
        });
        return builder;
    }

    /// <summary>CORS first (preflights carry no key), then who the caller is, their budget, and what they may do.</summary>
    public static WebApplication UseCommentFlowAccess(this WebApplication app)
    {
        app.UseCors();
        app.UseAuthentication();
        // Before authorization, so refused requests spend the budget of their address too.
        app.UseRateLimiter();
        app.UseAuthorization();
        return app;
    }

    private static RateLimitPartition<string> Partition(HttpContext context)
    {
        var access = context.RequestServices.GetRequiredService<IOptions<AccessOptions>>().Value;
        // Open mode only listens on loopback: every caller is a local process, and limiting it would protect nothing.
        if (access.RateLimit.PermitsPerMinute == 0 || access.Keys.Count == 0)
        {
            return RateLimitPartition.GetNoLimiter("");
        }
        var key = context.User.Identity is { IsAuthenticated: true, Name: { } name }
            ? "key:" + name
            : "ip:" + context.Connection.RemoteIpAddress;
        return RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = access.RateLimit.PermitsPerMinute,
            Window = Window,
            QueueLimit = 0,
        });
    }

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var http = rejected.HttpContext;
        var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : Window;
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var permits = http.RequestServices.GetRequiredService<IOptions<AccessOptions>>().Value.RateLimit.PermitsPerMinute;
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails =
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests",
                Detail = $"At most {permits} requests a minute per key (per address without a valid key); retry after {seconds} s.",
            },
        });
    }
}
