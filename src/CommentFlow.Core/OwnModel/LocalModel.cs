using System.IO.Compression;
using System.Text.Json;

namespace CommentFlow.OwnModel;

/// <summary>A trained version, loaded and ready to answer: the retrieval index with its settings and calibration, and the type classifier when there is one.</summary>
internal sealed class LocalModel
{
    private LocalModel(ModelManifest manifest, RetrievalIndex index, TextClassifier? types)
    {
        Manifest = manifest;
        Index = index;
        Types = types;
        Settings = new RetrievalSettings(manifest.Neighbours, manifest.Temperature);
        _calibration = manifest.Calibration;
    }

    private readonly Calibration _calibration;

    public ModelManifest Manifest { get; }
    public RetrievalIndex Index { get; }
    public RetrievalSettings Settings { get; }

    /// <summary>Predicts the type of comment that fits the ticket now; null when the store had too few typed comments.</summary>
    public TextClassifier? Types { get; }
    public string Name => $"own-{Manifest.Version}";

    public static LocalModel Load(string directory)
    {
        ModelManifest manifest;
        using (var stream = File.OpenRead(Path.Combine(directory, ModelFiles.Manifest)))
        {
            manifest = JsonSerializer.Deserialize(stream, RegistryJsonContext.Default.ModelManifest)
                ?? throw new InvalidDataException($"Empty manifest in {directory}.");
        }
        var items = new List<RetrievalItem>(manifest.RetrievalItems);
        using (var file = File.OpenRead(Path.Combine(directory, ModelFiles.Items)))
        using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        using (var reader = new StreamReader(gzip))
        {
            while (reader.ReadLine() is { } line)
            {
                items.Add(JsonSerializer.Deserialize(line, RetrievalJsonContext.Default.RetrievalItem)!);
            }
        }
        var classifier = Path.Combine(directory, ModelFiles.Classifier);
        return new LocalModel(manifest, RetrievalIndex.Build(items), File.Exists(classifier) ? TextClassifier.Load(classifier) : null);
    }

    /// <summary>
    /// The calibrated chance that a suggestion of this score (<see cref="OwnSuggestion.Score"/>: similarity × fit; models
    /// trained before v2 were calibrated on similarity alone) is close to what an agent would write.
    /// </summary>
    public double Confidence(double score) => _calibration.Confidence(score);
}
