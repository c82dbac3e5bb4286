using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace CommentFlow.Api;

/// <summary>The OpenAPI document at <c>/openapi/v1.json</c> and its interactive reference at <c>/docs</c>; both anonymous: they hold no data.</summary>
internal static class OpenApiSetup
{
    public const string ApiKeyScheme = "ApiKey";

    public static IServiceCollection AddCommentFlowOpenApi(this IServiceCollection services) => services.AddOpenApi(o => o
        .AddOperationTransformer((operation, _, _) =>
        {
            AddExamples(operation, operation.OperationId);
            return Task.CompletedTask;
        })
        .AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "CommentFlow",
                Version = "v1",
                Description = "Suggests the next comment for a service-desk ticket, records every answer and what agents did with it as "
                    + "training data, and trains its own model from it. Callers send an API key in X-Api-Key when keys are configured.",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[ApiKeyScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = Access.ApiKeys.Header,
                Description = "An agent or admin key (commentflow keys new).",
            };
            // Health checks and metrics are endpoints of their own middleware, which the document generator does not see.
            foreach (var (path, summary, tag) in new[]
            {
                ("/health", "Live: the process answers.", "Health"),
                ("/health/ready", "Ready: the store is reachable (503 if not); the own model and Ollama are reported.", "Health"),
                ("/metrics", "Prometheus text format: HTTP durations by route and status, answers, latency and fallbacks by engine, capture, model, shadow agreement, feedback.", "Operations"),
            })
            {
                var operation = new OpenApiOperation
                {
                    Summary = summary,
                    Tags = new HashSet<OpenApiTagReference> { new(tag) },
                    Responses = new OpenApiResponses
                    {
                        ["200"] = new OpenApiResponse { Description = "Healthy" },
                        ["503"] = new OpenApiResponse { Description = "Unhealthy (health checks only)" },
                    },
                };
                AddExamples(operation, path);
                document.Paths[path] = new OpenApiPathItem { Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Get] = operation } };
            }
            return Task.CompletedTask;
        }));

    // Examples are real answers of the service (trimmed), kept in one file; a test checks each against its schema.
    private static readonly Lazy<JsonObject> Examples = new(() =>
    {
        using var stream = typeof(OpenApiSetup).Assembly.GetManifestResourceStream("CommentFlow.Api.openapi-examples.json")!;
        return JsonNode.Parse(stream)!.AsObject();
    });

    /// <summary>Sets the request and success-response examples recorded under <paramref name="key"/> (operation id or path).</summary>
    private static void AddExamples(OpenApiOperation operation, string? key)
    {
        if (key is null || Examples.Value[key] is not JsonObject example)
        {
            return;
        }
        if (example["request"] is { } request && operation.RequestBody?.Content?.TryGetValue("application/json", out var body) == true)
        {
            body.Example = request.DeepClone();
        }
        var status = example["status"]?.GetValue<string>() ?? "200";
        if (operation.Responses?.TryGetValue(status, out var found) != true || found is not OpenApiResponse response)
        {
            return;
        }
        var (mediaType, value) = example["text"] is { } text ? (example["media"]?.GetValue<string>() ?? "text/plain", text) : ("application/json", example["response"]!);
        response.Content ??= new Dictionary<string, OpenApiMediaType>();
        if (!response.Content.TryGetValue(mediaType, out var content))
        {
            response.Content[mediaType] = content = new OpenApiMediaType();
        }
        content.Example = value.DeepClone();
    }

    public static WebApplication MapCommentFlowOpenApi(this WebApplication app)
    {
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference("/docs", o => o.WithTitle("CommentFlow API").WithOpenApiRoutePattern("/openapi/{documentName}.json")).AllowAnonymous();
        return app;
    }

    /// <summary>A query parameter the handler reads itself (so that every bad value becomes a 400 naming it), declared for the document.</summary>
    public static RouteHandlerBuilder WithQueryParameter(this RouteHandlerBuilder builder, string name, string description, int maxLength, bool required = true) =>
        builder.WithQueryParameter(name, description, required, new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = maxLength });

    /// <summary>An optional whole-number query parameter the handler reads itself, declared for the document with its range.</summary>
    public static RouteHandlerBuilder WithIntegerQueryParameter(this RouteHandlerBuilder builder, string name, string description, int minimum, int maximum) =>
        builder.WithQueryParameter(name, description, required: false, new OpenApiSchema
        {
            Type = JsonSchemaType.Integer,
            Minimum = minimum.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Maximum = maximum.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

    private static RouteHandlerBuilder WithQueryParameter(this RouteHandlerBuilder builder, string name, string description, bool required, OpenApiSchema schema) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = name,
                In = ParameterLocation.Query,
                Required = required,
                Description = description,
                Schema = schema,
            });
            return Task.CompletedTask;
        });
}
