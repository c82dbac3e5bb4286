using CommentFlow.Storage;
using CommentFlow.OwnModel;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CommentFlow.OwnModel;

/// <summary>
/// The versions under the models folder (<c>Models:Dir</c>, default <c>DataDir/ml_models</c>) and which one is active, in
/// <c>registry.json</c>. Several instances may share the folder, so:
/// <list type="bullet">
/// <item>readers (the servers' polls) take no lock: the file is replaced atomically, so they never read half of it;</item>
/// <item>writers (register, promote, rollback, merge) read, change and write it under an exclusive lock file,
/// <c>registry.lock</c>, so two processes changing it at once cannot lose one another's update;</item>
/// <item>a new version is written into a staging folder and renamed into place, so nobody loads a half-written one.</item>
/// </list>
/// Promote keeps the previous actives, so rollback can walk back.
/// </summary>
internal sealed class ModelRegistry(string modelsDir)
{
    public const string FileName = "registry.json";
    public const string LockFileName = "registry.lock";

    /// <summary>A writer holds the lock for one read and one small atomic write: waiting this long means something is stuck.</summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(15);

    private const string StagingPrefix = ".staging-";

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

    public Task RegisterAsync(ModelManifest manifest, bool activate, bool activateWhenNoneActive = false) => UpdateAsync(state =>
    {
        var next = state with { Versions = state.Versions.Where(v => v.Version != manifest.Version).Append(manifest).ToList() };
        return activate || (activateWhenNoneActive && state.Active is null) ? Activate(next, manifest.Version) : next;
    });

    /// <summary>Makes <paramref name="version"/> the active model; an unknown version changes nothing and says so.</summary>
    public Task<RegistryChange> PromoteAsync(string version) => ChangeAsync(state =>
        state.Versions.Any(v => v.Version == version)
            ? RegistryChange.Done(Activate(state, version))
            : RegistryChange.Refuse(state, RegistryOutcome.UnknownVersion,
                $"No model version '{version}'. Known: {string.Join(", ", state.Versions.Select(v => v.Version))}."));

    /// <summary>Goes back to the model that was active before the current one; with none, changes nothing and says so.</summary>
    public Task<RegistryChange> RollbackAsync() => ChangeAsync(state =>
        state.Previous.Count == 0
            ? RegistryChange.Refuse(state, RegistryOutcome.NothingToRollBack, "There is no earlier active model to roll back to.")
            : RegistryChange.Done(state with { Active = state.Previous[^1], Previous = state.Previous.Take(state.Previous.Count - 1).ToList() }));

    /// <summary>
    /// A folder to write a new version into. <see cref="TryPublish"/> renames it into place: a version folder exists
    /// only once it is complete.
    /// </summary>
    public string CreateStagingDir() => Directory.CreateDirectory(Path.Combine(ModelsDir, $"{StagingPrefix}{Guid.NewGuid():N}")).FullName;

    /// <summary>Renames a staged folder to the version's; false when that version exists (another instance took the name).</summary>
    public bool TryPublish(string staging, string version)
    {
        if (Directory.Exists(PathOf(version)))
        {
            return false;
        }
        try
        {
            Directory.Move(staging, PathOf(version));
            return true;
        }
        catch (IOException) when (Directory.Exists(PathOf(version)))
        {
            return false;
        }
    }

    /// <summary>
    /// Copies the versions of <paramref name="source"/> this folder lacks (each staged, then renamed into place) and merges
    /// its registry: every version of both is kept; its active and previous versions are taken only when this registry
    /// has no active version, so a destination already serving a model keeps serving it.
    /// </summary>
    public async Task<ModelImportResult> ImportAsync(ModelRegistry source)
    {
        var theirs = source.Read();
        int copied = 0, present = 0;
        var missing = new List<string>();
        foreach (var version in theirs.Versions.Select(v => v.Version))
        {
            if (Directory.Exists(PathOf(version)))
            {
                present++;
                continue;
            }
            if (!Directory.Exists(source.PathOf(version)))
            {
                missing.Add(version);
                continue;
            }
            var staging = CreateStagingDir();
            try
            {
                CopyDirectory(source.PathOf(version), staging);
                if (TryPublish(staging, version))
                {
                    copied++;
                }
                else
                {
                    present++;
                }
            }
            finally
            {
                if (Directory.Exists(staging))
                {
                    Directory.Delete(staging, recursive: true);
                }
            }
        }

        var usable = theirs.Versions.Where(v => !missing.Contains(v.Version)).ToList();
        var state = await UpdateAsync(ours =>
        {
            var known = ours.Versions.Select(v => v.Version).ToHashSet(StringComparer.Ordinal);
            var versions = ours.Versions.Concat(usable.Where(v => !known.Contains(v.Version))).ToList();
            var names = versions.Select(v => v.Version).ToHashSet(StringComparer.Ordinal);
            return ours.Active is null && theirs.Active is { } active && names.Contains(active)
                ? new RegistryState(active, theirs.Previous.Where(names.Contains).ToList(), versions)
                : ours with { Versions = versions };
        });
        return new ModelImportResult(copied, present, missing, state.Active);
    }

    /// <summary>A version's folder with everything under it (also what tests use to stage a trained model).</summary>
    internal static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
        foreach (var dir in Directory.EnumerateDirectories(from))
        {
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }

    private static RegistryState Activate(RegistryState state, string version) =>
        state.Active == version ? state : state with
        {
            Active = version,
            Previous = state.Active is null ? state.Previous : [.. state.Previous, state.Active],
        };

    private async Task<RegistryState> UpdateAsync(Func<RegistryState, RegistryState> change) =>
        (await ChangeAsync(state => RegistryChange.Done(change(state)))).State;

    /// <summary>Read, change and write the registry while holding the lock file; a refused change writes nothing.</summary>
    private async Task<RegistryChange> ChangeAsync(Func<RegistryState, RegistryChange> change)
    {
        await using var held = await LockAsync();
        var result = change(Read());
        if (result.Outcome != RegistryOutcome.Changed)
        {
            return result;
        }
        await AtomicFile.WriteAsync(Path.Combine(ModelsDir, FileName), async stream =>
        {
            await JsonSerializer.SerializeAsync(stream, result.State, RegistryJsonContext.Default.RegistryState);
            return true;
        });
        return result;
    }

    /// <summary>
    /// The registry's writers' lock: the lock file opened with <see cref="FileShare.None"/> (on Linux and macOS an
    /// exclusive <c>flock</c>, on Windows a sharing lock), released when the stream closes or the process dies. Retried
    /// with a growing back-off; a clear error after <see cref="LockTimeout"/>.
    /// </summary>
    private async Task<FileStream> LockAsync()
    {
        Directory.CreateDirectory(ModelsDir);
        var path = Path.Combine(ModelsDir, LockFileName);
        var started = TimeProvider.System.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(2);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException ex) when (File.Exists(path))
            {
                if (TimeProvider.System.GetElapsedTime(started) > LockTimeout)
                {
                    throw new TimeoutException(
                        $"The model registry in {ModelsDir} stayed locked for more than {LockTimeout.TotalSeconds:0} s ({LockFileName} is held by another process): try again, or look for a stuck commentflow process.", ex);
                }
                await Task.Delay(delay + TimeSpan.FromMilliseconds(Random.Shared.Next(5)), TimeProvider.System, CancellationToken.None);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 100));
            }
        }
    }
}

/// <summary>The files of a trained version, in its folder under the registry.</summary>
internal static class ModelFiles
{
    public const string Manifest = "manifest.json";
    public const string Items = "retrieval.jsonl.gz";
    public const string Classifier = "type-classifier.zip";
}

/// <summary>What importing another models folder did: versions copied, versions already here, versions its registry named but its folder lacked.</summary>
internal sealed record ModelImportResult(int Copied, int AlreadyPresent, IReadOnlyList<string> Missing, string? Active);

internal sealed record RegistryState(string? Active, IReadOnlyList<string> Previous, IReadOnlyList<ModelManifest> Versions);

/// <summary>How a promote or rollback ended. Asking for an unknown version or for a rollback with none before is an answer, not a fault.</summary>
internal enum RegistryOutcome
{
    Changed,
    UnknownVersion,
    NothingToRollBack,
}

/// <summary>The registry after a promote or rollback (unchanged when refused), and why it was refused.</summary>
internal sealed record RegistryChange(RegistryOutcome Outcome, RegistryState State, string? Refusal)
{
    public static RegistryChange Done(RegistryState state) => new(RegistryOutcome.Changed, state, null);

    public static RegistryChange Refuse(RegistryState state, RegistryOutcome outcome, string reason) => new(outcome, state, reason);
}

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

    /// <summary>Upper bounds of score bins (see <see cref="OwnModel.Calibration"/>) and, per bin, the share of cross-validated answers with ROUGE-L ≥ the target.</summary>
    public required IReadOnlyList<double> CalibrationBounds { get; init; }
    public required IReadOnlyList<double> CalibrationValues { get; init; }

    /// <summary>The lowest score seen when calibrating; 0 in models trained before it was kept (no extrapolation).</summary>
    public double CalibrationFloor { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public OwnModel.Calibration Calibration => new(CalibrationBounds, CalibrationValues, CalibrationFloor);
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
