using CommentFlow.Api.Access;
using CommentFlow.Tests.Fakes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CommentFlow.Tests.Api;

/// <summary>
/// Who may call an endpoint is stated where it is mapped. The admin fallback would still close an endpoint mapped without
/// a policy, but then its access would be decided nowhere a reader looks: such an endpoint fails here.
/// </summary>
public sealed class EndpointPolicyTests
{
    private const string Anonymous = "anonymous";

    [Fact]
    public async Task MappedEndpoints_Every_NamesExactlyOnePolicyOrAllowsAnonymous()
    {
        await using var server = await TestServer.StartAsync();
        var endpoints = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.True(endpoints.Count >= 20, $"only {endpoints.Count} endpoints found");

        var wrong = endpoints.Select(e => (Endpoint: Describe(e), Access: AccessOf(e)))
            .Where(e => e.Access.Count != 1 || e.Access[0] is not (AccessPolicies.Agent or AccessPolicies.Admin or Anonymous))
            .Select(e => $"{e.Endpoint} [{string.Join(", ", e.Access)}]")
            .ToList();
        Assert.True(wrong.Count == 0, "Endpoints without one explicit policy (RequireAuthorization(AccessPolicies.…) or AllowAnonymous on their group): "
            + string.Join("; ", wrong));
    }

    [Fact]
    public async Task MappedEndpoints_MixedFeatures_EachEndpointOnItsRolesGroup()
    {
        await using var server = await TestServer.StartAsync();
        var access = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IEndpointNameMetadata>() is not null)
            .ToDictionary(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()!.EndpointName, e => string.Join(",", AccessOf(e)));

        Assert.Equal(AccessPolicies.Agent, access["GetStats"]);
        Assert.Equal(AccessPolicies.Admin, access["ExportTrainingData"]);
        Assert.Equal(AccessPolicies.Agent, access["GetCacheStats"]);
        Assert.Equal(AccessPolicies.Admin, access["ClearCache"]);
        Assert.Equal(Anonymous, access["GetServiceHealth"]);
        Assert.Equal(Anonymous, access["JiraWebhook"]);
        Assert.Equal(AccessPolicies.Admin, access["ListSamples"]);
        Assert.Equal(AccessPolicies.Agent, access["GetSamplesPerDay"]);
    }

    // AllowAnonymous wins over any policy in the authorization middleware, so it is reported alone.
    private static List<string> AccessOf(Endpoint endpoint) =>
        endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null
            ? [Anonymous]
            : [.. endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy ?? "(default)").Distinct()];

    private static string Describe(RouteEndpoint endpoint) =>
        $"{string.Join("|", endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"])} /{endpoint.RoutePattern.RawText?.TrimStart('/')}";
}
