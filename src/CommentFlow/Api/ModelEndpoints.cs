using CommentFlow.Engines.Local;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CommentFlow.Api;

internal static class ModelEndpoints
{
    public static RouteGroupBuilder MapModels(this RouteGroupBuilder group)
    {
        group.MapGet("/models", ListModels)
            .WithName("GetModels")
            .WithSummary("Versions of the own model, the active one, the one being served, and shadow agreement with Ollama.");
        return group;
    }

    private static Ok<ModelsResponse> ListModels(LocalModelHost host, ShadowEvaluator shadow)
    {
        var state = host.Registry.Read();
        return TypedResults.Ok(new ModelsResponse(
            state.Active,
            host.Current?.Manifest.Version,
            state.Versions.OrderByDescending(v => v.CreatedAt).Select(v => new ModelDto(
                v.Version, v.CreatedAt, v.Samples, v.RetrievalItems, v.DataFingerprint, v.Neighbours, v.Temperature,
                v.CrossValidatedRougeL, v.TypeMacroF1, v.Version == state.Active)).ToList(),
            shadow.Stats()));
    }
}
