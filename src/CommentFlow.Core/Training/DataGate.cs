using CommentFlow.OwnModel;
namespace CommentFlow.Training;

/// <summary>
/// The minimum-data gate: whether a dataset is big enough to train a model worth serving. Below it training refuses,
/// unless forced for an experiment; an empty dataset is refused even then, as there is nothing to train on.
/// </summary>
internal sealed record DataGate(int Samples, IReadOnlyDictionary<string, int> CommentsByType, IReadOnlyList<string> Shortfalls)
{
    public bool Passed => Shortfalls.Count == 0;

    public bool CanForce => Samples > 0;

    public string Message => Passed ? "enough data"
        : !CanForce ? "Training refused: no sample has a comment left after cleaning. Import history with 'commentflow import-tickets'."
        : $"Training refused: {string.Join("; ", Shortfalls)}. Add data, or train anyway for an experiment with --force (API: force=true).";

    /// <param name="samples">Samples (ticket contexts) with at least one comment left after cleaning.</param>
    /// <param name="commentsByType">Comments of each known suggestion type; untyped comments are no class.</param>
    public static DataGate Check(int samples, IReadOnlyDictionary<string, int> commentsByType, TrainingOptions options)
    {
        var shortfalls = new List<string>();
        if (samples < options.MinSamples)
        {
            shortfalls.Add($"the dataset has {samples:N0} samples, fewer than Training:MinSamples ({options.MinSamples:N0})");
        }
        foreach (var (type, count) in commentsByType.Where(kv => kv.Value > 0 && kv.Value < options.MinSamplesPerClass).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            shortfalls.Add($"class '{type}' has {count:N0} comments, fewer than Training:MinSamplesPerClass ({options.MinSamplesPerClass:N0})");
        }
        return new DataGate(samples, commentsByType, shortfalls);
    }
}

/// <summary>
/// One training run as a caller asks for it: from the given snapshot, or (none given) from a snapshot of the store
/// taken first; <see cref="Force"/> trains past a failed <see cref="DataGate"/>.
/// </summary>
internal sealed record TrainingRequest(bool Promote = false, bool Force = false, string? SnapshotId = null);

/// <summary>
/// What a run gave: the snapshot it read, the gate's verdict, and the model (null when the gate refused).
/// A refusal is an expected outcome, so it is a value rather than an exception.
/// </summary>
internal sealed record TrainingResult(Dataset.SnapshotManifest Snapshot, DataGate Gate, ModelManifest? Model)
{
    public bool Refused => Model is null;
}
