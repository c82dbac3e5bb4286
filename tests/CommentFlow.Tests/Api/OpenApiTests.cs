using System.Net;
using CommentFlow.Tests.Fakes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace CommentFlow.Tests.Api;

public sealed class OpenApiTests
{
    [Fact]
    public async Task Document_ValidatesAndListsEveryEndpointWithSummaryAndSchemas()
    {
        // Keys configured: the document and its reference page must still be reachable without one.
        await using var server = await TestServer.StartAsync(null, AccessTests.KeySettings);
        using var response = await server.Client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        var (document, diagnostic) = await OpenApiDocument.LoadAsync(body, "json");
        Assert.NotNull(document);
        Assert.Empty(diagnostic!.Errors);
        Assert.Equal("CommentFlow", document.Info.Title);
        Assert.Equal(ApiKeyHeader(), document.Components!.SecuritySchemes!["ApiKey"].Name);

        // Every route the app maps, by method and path, is in the document; the document's own routes aside.
        var mapped = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => (Method: m, Path: "/" + e.RoutePattern.RawText!.TrimStart('/'))))
            .Where(e => !e.Path.StartsWith("/openapi", StringComparison.Ordinal) && !e.Path.StartsWith("/docs", StringComparison.Ordinal))
            .ToHashSet();
        var documented = document.Paths.SelectMany(p => p.Value.Operations!.Keys.Select(m => (Method: m.Method, Path: p.Key))).ToHashSet();
        Assert.True(mapped.Count >= 16, $"only {mapped.Count} endpoints found");
        Assert.Empty(mapped.Except(documented));

        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations!)
            {
                Assert.False(string.IsNullOrWhiteSpace(operation.Summary), $"{method} {path} has no summary");
                Assert.True(operation.Responses!.Count > 0, $"{method} {path} has no response");
            }
        }

        // The hand-read bodies are declared, with their schemas.
        foreach (var path in new[] { "/api/ml/comments/suggestions", "/api/ml/comments/feedback", "/api/ml/comments/save" })
        {
            var post = document.Paths[path].Operations![HttpMethod.Post];
            Assert.NotNull(post.RequestBody!.Content!["application/json"].Schema);
            Assert.NotNull(post.Responses!["200"].Content!["application/json"].Schema);
        }
        var suggestion = document.Paths["/api/ml/comments/suggestions"].Operations![HttpMethod.Post].RequestBody!.Content!["application/json"].Schema!;
        Assert.Contains("all_comments", ResolveProperties(document, suggestion));
        Assert.Contains(document.Paths["/api/ml/comments/samples"].Operations![HttpMethod.Delete].Parameters!, p => p.Name == "ticket_key" && p.Required);
        var list = document.Paths["/api/ml/comments/samples"].Operations![HttpMethod.Get].Parameters!;
        Assert.Equal(["page", "size", "q"], list.Select(p => p.Name));
        Assert.All(list, p => Assert.False(p.Required));
        Assert.Equal("200", list.Single(p => p.Name == "size").Schema!.Maximum);
        Assert.Contains(document.Paths["/api/ml/comments/export"].Operations![HttpMethod.Get].Parameters!, p => p.Name == "format" && p.Required);

        // The reference page (served from the package, no CDN) points at this document.
        using var docs = await server.Client.GetAsync("/docs/");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        var page = await docs.Content.ReadAsStringAsync();
        Assert.Contains("openapi/v1.json", page, StringComparison.Ordinal);
        Assert.Contains("scalar.js", page, StringComparison.Ordinal);
        using var script = await server.Client.GetAsync("/docs/scalar.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    private static string ApiKeyHeader() => "X-Api-Key";

    private static IEnumerable<string> ResolveProperties(OpenApiDocument document, IOpenApiSchema schema) =>
        (schema is OpenApiSchemaReference reference ? document.Components!.Schemas![reference.Reference.Id!] : schema).Properties!.Keys;
}
