using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using CommentFlow.Api.Access;
using CommentFlow.Hosting;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Logging.Console;

namespace CommentFlow.Api;

/// <summary>Composes the HTTP server. Tests build the same app and run it on a loopback port.</summary>
internal static class ServerApp
{
    public const string DefaultUrl = "http://127.0.0.1:5005";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        // The slim builder's console logger keeps its simple format whatever Logging:Console:FormatterName says: honour
        // the standard setting, so operators get one JSON object per event line with `json`.
        if (string.Equals(builder.Configuration["Logging:Console:FormatterName"], ConsoleFormatterNames.Json, StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddJsonConsole();
        }
        // Each background loop logs a failure and goes on (and has a test that makes it fail); should one still let an
        // exception escape, the host logs it and keeps serving rather than stopping (.NET's default is StopHost).
        builder.Services.Configure<HostOptions>(h => h.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<StoreUnavailableHandler>();
        builder.Services.AddCommentFlowOpenApi();
        builder.Services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            // Ticket text in every language: keep letters readable, still escape what is unsafe in HTML.
            o.SerializerOptions.Encoder = JavaScriptEncoder.Create(UnicodeRanges.All);
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        });
        builder.AddCommentFlowCore();
        builder.AddCapture();
        builder.AddRetention();
        builder.AddArchiving();
        builder.AddEngines();
        builder.AddJiraReplies();
        builder.AddTrainingJobs();
        builder.AddCommentFlowHealthChecks();
        builder.AddCommentFlowAccess();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseCommentFlowMetrics(); // before access: refused requests (401, 403, 429) are measured too
        app.UseCommentFlowDashboard(); // before access: the page is public, the data it reads is not
        app.UseCommentFlowAccess();

        // Who may call what is said where each feature maps its routes: every Map… below puts its endpoints on groups
        // that require AccessPolicies.Agent or .Admin, or allow anonymous callers (a test checks that none is left out).
        var api = app.MapGroup("/api/ml/comments").RequireRateLimiting(AccessPolicies.RateLimit);
        api.MapSuggestions();
        api.MapFeedback();
        api.MapJira();
        api.MapJiraWebhook();
        api.MapDataset();
        api.MapServiceEndpoints();
        api.MapDashboard();
        api.MapModels();
        api.MapErasure();
        app.MapCommentFlowHealth();
        app.MapCommentFlowOpenApi();
        return app;
    }
}
