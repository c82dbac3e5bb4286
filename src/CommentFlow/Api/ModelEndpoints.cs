using CommentFlow.Api.Access;
using CommentFlow.OwnModel;
using CommentFlow.Dataset;
using CommentFlow.Engines.Local;
using CommentFlow.Training;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CommentFlow.Api;

internal static class ModelEndpoints
{
    public static RouteGroupBuilder MapModels(this IEndpointRouteBuilder api)
    {
        var group = api.MapGroup("").RequireAuthorization(AccessPolicies.Admin);
        group.MapGet("/models", ListModels)
            .WithName("GetModels")
            .WithSummary("Versions of the own model, the active one, the one being served, and shadow agreement with Ollama.");
        group.MapPost("/models/{version}/promote", PromoteAsync)
            .WithName("PromoteModel")
            .WithSummary("Makes a version the active one. Every instance on the same models folder (ModelsDir) serves it within Local:ReloadSeconds.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/models/rollback", RollbackAsync)
            .WithName("RollbackModel")
            .WithSummary("Goes back to the version that was active before; every instance on the same models folder follows within Local:ReloadSeconds.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/train", StartTraining)
            .WithName("StartTraining")
            .WithSummary("Trains a new version of the own model in the background (one job at a time) from ?snapshot=<id>, or from a snapshot of the store "
                + "taken first; poll the job for progress and result. Below the data gate the job fails with the reason (refused: true) unless ?force=true.");
        group.MapGet("/train/{id}", GetTrainingJob)
            .WithName("GetTrainingJob")
            .WithSummary("State, progress and result of a training job.");
        group.MapGet("/evaluation", GetEvaluation)
            .WithName("GetEvaluation")
            .WithSummary("The last report of 'commentflow evaluate' on the store (JSON), with its Markdown twin beside it in ml_models/.");
        return group;
    }

    // The gate needs the whole cleaned dataset, which is the job's work, not the request's: a refusal is a failed job
    // (refused: true, the reason in error). What the request can check cheaply, the snapshot named, it checks here.
    private static Results<Accepted<TrainingJobDto>, ValidationProblem, ProblemHttpResult> StartTraining(TrainingJobs jobs, SnapshotStore snapshots,
        bool? promote, bool? force, string? snapshot)
    {
        if (snapshot is not null)
        {
            if (!SnapshotStore.IsValidId(snapshot))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["snapshot"] = [$"A snapshot id is {SnapshotStore.IdLength} lower-case hex digits, as 'commentflow dataset snapshots' lists them."],
                });
            }
            if (snapshots.Find(snapshot) is null)
            {
                return TypedResults.Problem($"No dataset snapshot '{snapshot}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown snapshot");
            }
        }
        var job = jobs.Start(new TrainingRequest(promote ?? false, force ?? false, snapshot));
        return job is null
            ? TypedResults.Problem("A training job is already running; poll it and try again when it has finished.", statusCode: StatusCodes.Status409Conflict, title: "Training busy")
            : TypedResults.Accepted($"/api/ml/comments/train/{job.Id}", TrainingJobDto.Of(job));
    }

    private static Results<Ok<TrainingJobDto>, ProblemHttpResult> GetTrainingJob(TrainingJobs jobs, string id) =>
        jobs.Get(id) is { } job
            ? TypedResults.Ok(TrainingJobDto.Of(job))
            : TypedResults.Problem($"No training job '{id}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown job");

    private static Results<PhysicalFileHttpResult, ProblemHttpResult> GetEvaluation(ModelRegistry registry)
    {
        var path = Path.Combine(registry.ModelsDir, CommentFlow.Training.StoreEvaluationFiles.Json);
        return File.Exists(path)
            ? TypedResults.PhysicalFile(path, "application/json")
            : TypedResults.Problem("No evaluation yet: run 'commentflow evaluate' on this store.", statusCode: StatusCodes.Status404NotFound, title: "No evaluation");
    }

    // The registry is the shared truth: this instance, like the others, swaps the model in at its next poll.
    private static Task<Results<Ok<ModelChangeResponse>, ProblemHttpResult>> PromoteAsync(ModelRegistry registry, string version) =>
        ChangeAsync(() => registry.PromoteAsync(version));

    private static Task<Results<Ok<ModelChangeResponse>, ProblemHttpResult>> RollbackAsync(ModelRegistry registry) =>
        ChangeAsync(registry.RollbackAsync);

    private static async Task<Results<Ok<ModelChangeResponse>, ProblemHttpResult>> ChangeAsync(Func<Task<RegistryChange>> change)
    {
        RegistryChange result;
        try
        {
            result = await change();
        }
        catch (TimeoutException ex)
        {
            // Another process holding the lock file for long is a fault of the moment, not an answer about the registry.
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Registry busy");
        }
        // Problems through the problem-details service (application/problem+json, trace id), like every other error.
        return result.Outcome switch
        {
            RegistryOutcome.UnknownVersion => TypedResults.Problem(result.Refusal, statusCode: StatusCodes.Status404NotFound, title: "Unknown version"),
            RegistryOutcome.NothingToRollBack => TypedResults.Problem(result.Refusal, statusCode: StatusCodes.Status409Conflict, title: "Nothing to roll back to"),
            _ => TypedResults.Ok(new ModelChangeResponse(result.State.Active, result.State.Previous)),
        };
    }

    private static Ok<ModelsResponse> ListModels(ModelRegistry registry, LocalModelHost host, ShadowEvaluator shadow)
    {
        var state = registry.Read();
        return TypedResults.Ok(new ModelsResponse(
            state.Active,
            host.Current?.Manifest.Version,
            state.Versions.OrderByDescending(v => v.CreatedAt).Select(v => new ModelDto(
                v.Version, v.CreatedAt, v.Samples, v.RetrievalItems, v.DataFingerprint, v.SnapshotId, v.GateOverridden, v.Neighbours, v.Temperature,
                v.CrossValidatedRougeL, v.TypeMacroF1, v.TypeTrainer, v.Version == state.Active)).ToList(),
            shadow.Stats()));
    }
}
