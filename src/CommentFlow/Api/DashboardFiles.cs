using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace CommentFlow.Api;

/// <summary>
/// The dashboard at <c>/</c>: static files embedded in the executable (see CommentFlow.csproj), Chart.js among them, so
/// it works offline and whatever the content root. Served before access control: the page holds no data; every figure
/// it shows comes from the API, which asks for a key when keys are configured.
/// </summary>
internal static class DashboardFiles
{
    private const string ResourcePrefix = "CommentFlow.Dashboard";

    public static WebApplication UseCommentFlowDashboard(this WebApplication app)
    {
        var files = new EmbeddedFileProvider(typeof(DashboardFiles).Assembly, ResourcePrefix);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, DefaultFileNames = ["index.html"] });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            // Revalidated each time (ETag and Last-Modified answer 304): a new build is never hidden by a stale cache.
            OnPrepareResponse = c => c.Context.Response.Headers[HeaderNames.CacheControl] = "no-cache",
        });
        return app;
    }
}
