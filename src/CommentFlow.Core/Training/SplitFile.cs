using System.Text.Json;

namespace CommentFlow.Training;

/// <summary>
/// A fixed train/test split by CSV record index, in the format of <c>../shared/bench/splits/*.json</c>
/// (<c>sklearn_baseline.split.v1</c>), so every model and every baseline is measured on the same rows.
/// </summary>
internal sealed record SplitFile(IReadOnlySet<int> Train, IReadOnlySet<int> Test, string? Label, int? Seed)
{
    public static SplitFile Load(string path)
    {
        using var stream = File.OpenRead(path);
        using var document = JsonDocument.Parse(stream);
        var root = document.RootElement;
        if (!root.TryGetProperty("train_indices", out var train) || !root.TryGetProperty("test_indices", out var test))
        {
            throw new InvalidDataException($"'{path}' has no train_indices/test_indices: not a split file.");
        }
        return new SplitFile(
            train.EnumerateArray().Select(e => e.GetInt32()).ToHashSet(),
            test.EnumerateArray().Select(e => e.GetInt32()).ToHashSet(),
            root.TryGetProperty("label", out var l) ? l.GetString() : null,
            root.TryGetProperty("seed", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : null);
    }
}
