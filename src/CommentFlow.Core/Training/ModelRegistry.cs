using System.Text.Json;
using System.Text.Json.Serialization;
using CommentFlow.Export;

namespace CommentFlow.Training;

/// <summary>
/// The versions under <c>ml_models/</c> and which one is active, in <c>ml_models/registry.json</c> (written atomically,
/// so a server polling it never reads half a file). Promote keeps the previous actives, so rollback can walk back.
/// </summary>
internal sealed class ModelRegistry(string modelsDir)
{
    public const string FileName = "registry.json";

    public string ModelsDir { get; } = modelsDir;

    public string PathOf(string version) => Path.Combine(ModelsDir, version);

    public RegistryState Read()
    {
        var path = Path.Combine(ModelsDir, FileName);
        if (!File.Exists(path))
        {
            return new RegistryState(null, [], []);
        }
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize(stream, RegistryJsonContext.Default.RegistryState) ?? new RegistryState(null, [], []);
    }

    public async Task RegisterAsync(ModelManifest manifest, bool activate)
    {
        var state = Read();
        var versions = state.Versions.Where(v => v.Version != manifest.Version).Append(manifest).ToList();
        var next = state with { Versions = versions };
        await WriteAsync(activate ? Activate(next, manifest.Version) : next);
    }

    /// <summary>Makes <paramref name="version"/> the active model. Throws when it is unknown.</summary>
    public async Task<RegistryState> PromoteAsync(string version)
    {
        var state = Read();
        if (state.Versions.All(v => v.Version != version))
        {
            throw new InvalidOperationException($"No model version '{version}'. Known: {string.Join(", ", state.Versions.Select(v => v.Version))}.");
        }
        var next = Activate(state, version);
        await WriteAsync(next);
        return next;
    }

    /// <summary>Goes back to the model that was active before the current one. Throws when there is none.</summary>
    public async Task<RegistryState> RollbackAsync()
    {
        var state = Read();
        if (state.Previous.Count == 0)
        {
            throw new InvalidOperationException("There is no earlier active model to roll back to.");
        }
        var next = state with { Active = state.Previous[^1], Previous = state.Previous.Take(state.Previous.Count - 1).ToList() };
        await WriteAsync(next);
        return next;
    }

    private static RegistryState Activate(RegistryState state, string version) =>
        state.Active == version ? state : state with
        {
            Active = version,
            Previous = state.Active is null ? state.Previous : [.. state.Previous, state.Active],
        };

    private Task WriteAsync(RegistryState state) => AtomicFile.WriteAsync(Path.Combine(ModelsDir, FileName), async stream =>
    {
        await JsonSerializer.SerializeAsync(stream, state, RegistryJsonContext.Default.RegistryState);
        return true;
    });
}

internal sealed record RegistryState(string? Active, IReadOnlyList<string> Previous, IReadOnlyList<ModelManifest> Versions);

/// <summary>What a trained version is: its data, its settings, how good it was when trained.</summary>
internal sealed record ModelManifest
{
    public required string Version { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>MD5 of the sorted context hashes the model was trained on: the same data gives the same fingerprint.</summary>
    public required string DataFingerprint { get; init; }

    /// <summary>The dataset snapshot the model was trained from (<c>DataDir/snapshots/&lt;id&gt;</c>); null for models trained before snapshots.</summary>
    public string? SnapshotId { get; init; }

    /// <summary>Trained with <c>--force</c> although the data gate refused the data: an experiment, not a model to trust.</summary>
    public bool GateOverridden { get; init; }
    public required int Samples { get; init; }
    public required int RetrievalItems { get; init; }
    public required int Neighbours { get; init; }
    public required double Temperature { get; init; }

    /// <summary>Upper bounds of similarity bins and, per bin, the share of cross-validated answers with ROUGE-L ≥ the target.</summary>
    public required IReadOnlyList<double> CalibrationBounds { get; init; }
    public required IReadOnlyList<double> CalibrationValues { get; init; }
    public required double CrossValidatedRougeL { get; init; }
    public IReadOnlyList<string> TypeLabels { get; init; } = [];

    /// <summary>Cross-validated (3-fold) macro-F1 of the type classifier on the training data, for <see cref="TypeTrainer"/>.</summary>
    public double? TypeMacroF1 { get; init; }

    /// <summary>The trainer cross-validation chose for the type classifier: SDCA, L-BFGS or their average.</summary>
    public string? TypeTrainer { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(RegistryState))]
[JsonSerializable(typeof(ModelManifest))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;

/// <summary>One item per line (JSON Lines), so never indented.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(RetrievalItem))]
internal sealed partial class RetrievalJsonContext : JsonSerializerContext;

/// <summary>
/// One indexed past comment: the context's text, the comment, its type (may be empty), language, and how much its source
/// vouched for it (an engine's confidence; 1 for what an agent wrote).
/// </summary>
internal sealed record RetrievalItem(string Text, string Answer, string Type, string Language, double Confidence = 1.0);
