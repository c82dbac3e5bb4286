using CommentFlow.Engines.Local;
using CommentFlow.Training;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CommentFlow.Api;

internal static class ModelEndpoints
{
    public static RouteGroupBuilder MapModels(this RouteGroupBuilder group)
    {
        group.MapGet("/models", ListModels)
            .WithName("GetModels")
            .WithSummary("Versions of the own model, the active one, the one being served, and shadow agreement with Ollama.");
        group.MapPost("/train", StartTraining)
            .WithName("StartTraining")
            .WithSummary("Trains a new version of the own model in the background (one job at a time); poll the job for progress and result.");
        group.MapGet("/train/{id}", GetTrainingJob)
            .WithName("GetTrainingJob")
            .WithSummary("State, progress and result of a training job.");
        group.MapGet("/evaluation", GetEvaluation)
            .WithName("GetEvaluation")
            .WithSummary("The last report of 'commentflow evaluate' on the store (JSON), with its Markdown twin beside it in ml_models/.");
        return group;
    }

    private static Results<Accepted<TrainingJobDto>, ProblemHttpResult> StartTraining(TrainingJobs jobs, bool? promote)
    {
        var job = jobs.Start(promote ?? false);
        return job is null
            ? TypedResults.Problem("A training job is already running; poll it and try again when it has finished.", statusCode: StatusCodes.Status409Conflict, title: "Training busy")
            : TypedResults.Accepted($"/api/ml/comments/train/{job.Id}", TrainingJobDto.Of(job));
    }

    private static Results<Ok<TrainingJobDto>, ProblemHttpResult> GetTrainingJob(TrainingJobs jobs, string id) =>
        jobs.Get(id) is { } job
            ? TypedResults.Ok(TrainingJobDto.Of(job))
            : TypedResults.Problem($"No training job '{id}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown job");

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
