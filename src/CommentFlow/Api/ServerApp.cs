using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using CommentFlow.Hosting;
using Microsoft.AspNetCore.Http.Json;

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

        builder.Services.AddProblemDetails();
        builder.Services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            // Ticket text in every language: keep letters readable, still escape what is unsafe in HTML.
            o.SerializerOptions.Encoder = JavaScriptEncoder.Create(UnicodeRanges.All);
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        });
        builder.AddCommentFlowStorage();
        builder.AddCapture();
        builder.AddEngines();
        builder.AddTraining();
        builder.AddCommentFlowHealthChecks();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        var api = app.MapGroup("/api/ml/comments");
        api.MapSuggestions();
        api.MapDataset();
        api.MapServiceEndpoints();
        api.MapModels();
        app.MapCommentFlowHealth();
        return app;
    }
}
