using CommentFlow.Storage;
using CommentFlow.OwnModel;
using System.Text.Json;
using System.Text.Json.Serialization;
using CommentFlow.Export;

namespace CommentFlow.Dataset;

/// <summary>
/// An 80/20 split of the store by context hash: a ticket's context is on one side only, even though the export has one
/// row per suggestion. Stratified by the label (the first suggestion's type), seeded, and saved, so every run and every
/// baseline measures on the same tickets; contexts added later are assigned by their hash, never moved.
/// </summary>
internal sealed record TicketSplit(string Format, int Seed, double TestFraction, IReadOnlySet<string> Train, IReadOnlySet<string> Test)
{
    public const string FileName = "split.json";
    public const string CurrentFormat = "commentflow.split.v1";

    public static TicketSplit Create(IEnumerable<(string Hash, string Label)> contexts, int seed, double testFraction = 0.2)
    {
        var ordered = contexts.DistinctBy(c => c.Hash).OrderBy(c => c.Hash, StringComparer.Ordinal);
        var (kept, heldOut) = StratifiedSplit.Split(ordered, c => c.Label, testFraction, seed);
        var train = kept.Select(c => c.Hash).ToHashSet(StringComparer.Ordinal);
        var test = heldOut.Select(c => c.Hash).ToHashSet(StringComparer.Ordinal);
        return new TicketSplit(CurrentFormat, seed, testFraction, train, test);
    }

    /// <summary>Which side a context is on; one the split has not seen goes by its hash, the same way every time.</summary>
    public bool IsTest(string hash) =>
        Test.Contains(hash) || (!Train.Contains(hash) && Convert.ToInt32(hash[..4], 16) / 65536.0 < TestFraction);

    public static TicketSplit? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        using var stream = File.OpenRead(path);
        var file = JsonSerializer.Deserialize(stream, SplitJsonContext.Default.SplitDocument)
            ?? throw new InvalidDataException($"'{path}' is empty.");
        return new TicketSplit(file.Format, file.Seed, file.TestFraction, file.Train.ToHashSet(StringComparer.Ordinal), file.Test.ToHashSet(StringComparer.Ordinal));
    }

    public Task SaveAsync(string path) => AtomicFile.WriteAsync(path, async stream =>
    {
        await JsonSerializer.SerializeAsync(stream, new SplitDocument(Format, Seed, TestFraction, [.. Train.Order(StringComparer.Ordinal)], [.. Test.Order(StringComparer.Ordinal)]),
            SplitJsonContext.Default.SplitDocument);
        return true;
    });

    internal sealed record SplitDocument(string Format, int Seed, double TestFraction, IReadOnlyList<string> Train, IReadOnlyList<string> Test);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(TicketSplit.SplitDocument))]
internal sealed partial class SplitJsonContext : JsonSerializerContext;
