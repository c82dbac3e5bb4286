using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace CommentFlow.Api;

/// <summary>The OpenAPI document at <c>/openapi/v1.json</c> and its interactive reference at <c>/docs</c>; both anonymous: they hold no data.</summary>
internal static class OpenApiSetup
{
    public const string ApiKeyScheme = "ApiKey";

    public static IServiceCollection AddCommentFlowOpenApi(this IServiceCollection services) => services.AddOpenApi(o =>
        o.AddDocumentTransformer((document, _, _) =>
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
                document.Paths[path] = new OpenApiPathItem
                {
                    Operations = new Dictionary<HttpMethod, OpenApiOperation>
                    {
                        [HttpMethod.Get] = new()
                        {
                            Summary = summary,
                            Tags = new HashSet<OpenApiTagReference> { new(tag) },
                            Responses = new OpenApiResponses
                            {
                                ["200"] = new OpenApiResponse { Description = "Healthy" },
                                ["503"] = new OpenApiResponse { Description = "Unhealthy (health checks only)" },
                            },
                        },
                    },
                };
            }
            return Task.CompletedTask;
        }));

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
