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
        group.MapGet("/evaluation", GetEvaluation)
            .WithName("GetEvaluation")
            .WithSummary("The last report of 'commentflow evaluate' on the store (JSON), with its Markdown twin beside it in ml_models/.");
        return group;
    }

    private static Results<PhysicalFileHttpResult, ProblemHttpResult> GetEvaluation(LocalModelHost host)
    {
        var path = Path.Combine(host.Registry.ModelsDir, CommentFlow.Training.StoreEvaluationFiles.Json);
        return File.Exists(path)
            ? TypedResults.PhysicalFile(path, "application/json")
            : TypedResults.Problem("No evaluation yet: run 'commentflow evaluate' on this store.", statusCode: StatusCodes.Status404NotFound, title: "No evaluation");
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
