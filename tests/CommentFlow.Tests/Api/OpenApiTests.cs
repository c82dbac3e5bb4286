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

    /// <summary>Every operation shows an example of its success answer (and of its body), and each example fits its schema.</summary>
    [Fact]
    public async Task Document_EveryOperationHasExamplesThatFitTheirSchemas()
    {
        await using var server = await TestServer.StartAsync(null);
        await using var body = await server.Client.GetStreamAsync("/openapi/v1.json");
        var (document, _) = await OpenApiDocument.LoadAsync(body, "json");
        var problems = new List<string>();
        var checkedExamples = 0;
        foreach (var (path, item) in document!.Paths)
        {
            foreach (var (method, operation) in item.Operations!)
            {
                var where = $"{method} {path}";
                if (operation.RequestBody?.Content?.TryGetValue("application/json", out var request) == true)
                {
                    if (request.Example is null)
                    {
                        problems.Add($"{where}: no request example");
                    }
                    else
                    {
                        checkedExamples++;
                        Fits(document, request.Schema, request.Example, $"{where} request", problems);
                    }
                }
                var success = operation.Responses!.Where(r => r.Key.StartsWith('2')).Select(r => r.Value).FirstOrDefault();
                var media = success?.Content?.Values.FirstOrDefault(m => m.Example is not null);
                if (media is null)
                {
                    problems.Add($"{where}: no example of its success response");
                    continue;
                }
                checkedExamples++;
                if (media.Schema is not null)
                {
                    Fits(document, media.Schema, media.Example!, $"{where} response", problems);
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(checkedExamples >= 20, $"only {checkedExamples} examples");
    }

    /// <summary>Property names, required properties and JSON kinds of <paramref name="example"/> against <paramref name="schema"/>, recursively.</summary>
    private static void Fits(OpenApiDocument document, IOpenApiSchema? schema, System.Text.Json.Nodes.JsonNode? example, string where, List<string> problems)
    {
        if (schema is OpenApiSchemaReference reference)
        {
            schema = document.Components!.Schemas![reference.Reference.Id!];
        }
        if (schema is null)
        {
            return;
        }
        if (example is null)
        {
            if (schema.Type is { } t && !t.HasFlag(JsonSchemaType.Null) && schema.OneOf is null && schema.AnyOf is null)
            {
                problems.Add($"{where}: null for a non-nullable {t}");
            }
            return;
        }
        switch (example)
        {
            case System.Text.Json.Nodes.JsonObject obj:
                if (schema.Type is { } objectType && !objectType.HasFlag(JsonSchemaType.Object))
                {
                    problems.Add($"{where}: an object where the schema says {objectType}");
                    return;
                }
                foreach (var required in schema.Required ?? new HashSet<string>())
                {
                    if (!obj.ContainsKey(required))
                    {
                        problems.Add($"{where}: required '{required}' missing");
                    }
                }
                foreach (var (name, value) in obj)
                {
                    if (schema.Properties is { Count: > 0 } properties)
                    {
                        if (!properties.TryGetValue(name, out var property))
                        {
                            problems.Add($"{where}: '{name}' is not in the schema");
                            continue;
                        }
                        Fits(document, property, value, $"{where}.{name}", problems);
                    }
                    else if (schema.AdditionalProperties is { } values)
                    {
                        Fits(document, values, value, $"{where}.{name}", problems);
                    }
                }
                break;
            case System.Text.Json.Nodes.JsonArray array:
                if (schema.Type is { } arrayType && !arrayType.HasFlag(JsonSchemaType.Array))
                {
                    problems.Add($"{where}: an array where the schema says {arrayType}");
                    return;
                }
                foreach (var element in array)
                {
                    Fits(document, schema.Items, element, $"{where}[]", problems);
                }
                break;
            default:
                var kind = example.GetValueKind();
                var expected = kind switch
                {
                    System.Text.Json.JsonValueKind.String => JsonSchemaType.String,
                    System.Text.Json.JsonValueKind.Number => JsonSchemaType.Number | JsonSchemaType.Integer,
                    _ => JsonSchemaType.Boolean,
                };
                if (schema.Type is { } valueType && (valueType & expected) == 0)
                {
                    problems.Add($"{where}: a {kind} where the schema says {valueType}");
                }
                // Numbers are declared as number-or-string with a pattern (the serializer's number handling): a string must match it.
                else if (kind == System.Text.Json.JsonValueKind.String && schema.Pattern is { } pattern
                    && !System.Text.RegularExpressions.Regex.IsMatch(example.GetValue<string>(), pattern))
                {
                    problems.Add($"{where}: '{example}' does not match {pattern}");
                }
                break;
        }
    }

    private static string ApiKeyHeader() => "X-Api-Key";

    private static IEnumerable<string> ResolveProperties(OpenApiDocument document, IOpenApiSchema schema) =>
        (schema is OpenApiSchemaReference reference ? document.Components!.Schemas![reference.Reference.Id!] : schema).Properties!.Keys;
}
