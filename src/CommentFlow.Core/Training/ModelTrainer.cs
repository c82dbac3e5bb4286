using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Export;
using CommentFlow.OwnModel;
using CommentFlow.Storage;

namespace CommentFlow.Training;

/// <summary>
/// Trains a version of the own model from a frozen snapshot of cleaned samples: the retrieval index (with its settings
/// chosen and its confidence calibrated by cross-validation) and, when the data has enough typed comments, the
/// suggestion-type classifier. The artefacts go to <c>ml_models/&lt;version&gt;/</c>, the version is registered, and its
/// manifest names the snapshot, so the same run can be repeated on the same data.
/// </summary>
internal static class ModelTrainer
{
    /// <summary>ROUGE-L from which a suggestion counts as "what an agent would have written"; the confidence is the calibrated chance of that.</summary>
    public const double GoodRougeL = 0.3;
    private const int CalibrationBins = 10;

    /// <summary>
    /// Trains from snapshot <see cref="TrainingRequest.SnapshotId"/>, or, when none is named, from a snapshot of the store's
    /// current cleaned data taken first (reused when the data has not changed). Either way the model reads the frozen file.
    /// Throws when the named snapshot does not exist; callers check with <see cref="SnapshotStore.Find"/> first.
    /// </summary>
    public static async Task<TrainingResult> TrainAsync(ITrainingStore store, SnapshotStore snapshots, TrainingRequest request, TrainingOptions options,
        CleaningOptions cleaning, ModelRegistry registry, TimeProvider time, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        SnapshotManifest snapshot;
        if (request.SnapshotId is { } id)
        {
            snapshot = snapshots.Find(id) ?? throw new InvalidOperationException($"No dataset snapshot '{id}' in {snapshots.Directory}.");
        }
        else
        {
            progress?.Report("reading, cleaning and freezing samples");
            (snapshot, _) = await snapshots.TakeAsync(store, cleaning, time, cancellationToken);
        }
        progress?.Report($"reading snapshot {snapshot.Id}");
        var (gate, model) = await TrainAsync(snapshots.ReadAsync(snapshot.Id, cancellationToken), snapshot.Id, request, options, registry, time, progress, cancellationToken);
        return new TrainingResult(snapshot, gate, model);
    }

    /// <summary>
    /// Trains from <paramref name="samples"/> (already cleaned) after the data gate; returns no model when the gate refuses
    /// and the request does not force it.
    /// </summary>
    public static async Task<(DataGate Gate, ModelManifest? Model)> TrainAsync(IAsyncEnumerable<CleanedSample> samples, string? snapshotId,
        TrainingRequest request, TrainingOptions options, ModelRegistry registry, TimeProvider time, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var items = new List<RetrievalItem>();
        var typed = new List<(string Text, string Type)>();
        var hashes = new List<string>();
        await foreach (var sample in samples.WithCancellation(cancellationToken))
        {
            var text = TicketText.Of(sample.Context);
            var language = sample.Context.Language ?? LanguageDetector.Detect(text);
            items.AddRange(sample.Suggestions.Select(s => new RetrievalItem(text, s.Text, SuggestionTypes.Normalize(s.Type) ?? "", language, s.Confidence)));
            var classifierText = TicketText.ForClassifier(sample.Context);
            typed.AddRange(sample.Suggestions.Select(s => SuggestionTypes.Normalize(s.Type)).OfType<string>().Select(type => (classifierText, type)));
            hashes.Add(sample.ContextHash);
        }
        var gate = DataGate.Check(hashes.Count,
            items.Where(i => i.Type.Length > 0).GroupBy(i => i.Type).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal), options);
        if (!gate.Passed && !(request.Force && gate.CanForce))
        {
            return (gate, null);
        }

        progress?.Report($"tuning retrieval on {items.Count:N0} comments");
        var tickets = items.Select((it, i) => new LabelledTicket(i, it.Text, it.Type, it.Answer, it.Language)).ToList();
        var tuning = Evaluation.TuneRetrieval(tickets, options.Seed, cancellationToken: cancellationToken);
        var calibration = Calibrate(tuning.Observations);

        TextClassifier? classifier = null;
        double? typeF1 = null;
        string? typeTrainer = null;
        var classes = typed.GroupBy(i => i.Type).Where(g => g.Count() >= options.MinSamplesPerClass).Select(g => g.Key).ToHashSet();
        if (classes.Count >= 2)
        {
            progress?.Report($"training the type classifier on {typed.Count:N0} typed comments");
            var examples = Balancer.Balance(typed.Where(i => classes.Contains(i.Type)).Select(i => (i.Text, i.Type)).ToList(), e => e.Type, options.Balance, options.Seed);
            // The trainer is chosen as `commentflow evaluate` chooses it; its cross-validated macro-F1 is the model's figure.
            var (best, validation) = Evaluation.SelectTrainer(examples, options.Seed, cancellationToken);
            typeF1 = validation[best.ToString()];
            typeTrainer = best.ToString();
            classifier = TextClassifier.Train(examples, best, options.Seed, cancellationToken);
        }

        var fingerprint = Fingerprint(hashes);
        // Written into a staging folder and renamed into place, so an instance polling the shared folder never sees a
        // half-written version. The same snapshot trained twice within a second (or by two instances) would otherwise
        // claim the same name: the rename fails for the second, which takes the next free name.
        var stem = $"{time.GetUtcNow():yyyyMMdd-HHmmss}-{fingerprint[..8]}";
        var dir = registry.CreateStagingDir();
        ModelManifest manifest;
        try
        {
            await AtomicFile.WriteAsync(Path.Combine(dir, ModelFiles.Items), async stream =>
            {
                await using var gzip = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true);
                await using var writer = new StreamWriter(gzip, new UTF8Encoding(false));
                foreach (var item in items)
                {
                    await writer.WriteLineAsync(JsonSerializer.Serialize(item, RetrievalJsonContext.Default.RetrievalItem));
                }
                return items.Count;
            });
            classifier?.Save(Path.Combine(dir, ModelFiles.Classifier));

            manifest = new ModelManifest
            {
                Version = stem,
                CreatedAt = time.GetUtcNow(),
                DataFingerprint = fingerprint,
                SnapshotId = snapshotId,
                GateOverridden = !gate.Passed,
                Samples = hashes.Count,
                RetrievalItems = items.Count,
                Neighbours = tuning.Settings.Neighbours,
                Temperature = tuning.Settings.Temperature,
                CalibrationBounds = calibration.Bounds,
                CalibrationValues = calibration.Values,
                CalibrationFloor = calibration.Floor,
                CrossValidatedRougeL = tuning.MeanRougeL,
                TypeLabels = classifier?.Labels ?? [],
                TypeMacroF1 = typeF1,
                TypeTrainer = typeTrainer,
            };
            for (var n = 2; ; n++)
            {
                if (!Directory.Exists(registry.PathOf(manifest.Version)))
                {
                    var staged = manifest;
                    await AtomicFile.WriteAsync(Path.Combine(dir, ModelFiles.Manifest), async stream =>
                    {
                        await JsonSerializer.SerializeAsync(stream, staged, RegistryJsonContext.Default.ModelManifest, cancellationToken);
                        return true;
                    });
                    if (registry.TryPublish(dir, manifest.Version))
                    {
                        break;
                    }
                }
                manifest = manifest with { Version = $"{stem}-{n}" };
            }
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        // The first model becomes active by itself (decided under the registry's lock); later ones wait for a promote unless asked.
        await registry.RegisterAsync(manifest, activate: request.Promote, activateWhenNoneActive: true);
        return (gate, manifest);
    }

    /// <summary>
    /// Equal-count bins of the held-out scores; each bin's value is the share of its answers that reached
    /// <see cref="GoodRougeL"/>, made non-decreasing by pooling adjacent bins that break the order (the least-squares
    /// non-decreasing fit, weighted by the bins' sizes), so a higher score never means a lower confidence. A running
    /// maximum did that before, and one lucky low bin then lifted every bin above it: on a history where a tenth of the
    /// tickets nobody can know scored in the middle, they were all served at confidence 1.
    /// </summary>
    internal static Calibration Calibrate(IReadOnlyList<(double Score, double RougeL)> observations)
    {
        if (observations.Count == 0)
        {
            return new Calibration([double.MaxValue], [0.5], 0);
        }
        var sorted = observations.OrderBy(o => o.Score).ToList();
        var bins = Math.Min(CalibrationBins, sorted.Count);
        var bounds = new List<double>(bins);
        // Pool adjacent violators: blocks of consecutive bins, each with its good answers and its size.
        var blocks = new List<(double Good, int Count, int Bins)>(bins);
        for (var b = 0; b < bins; b++)
        {
            var slice = sorted.Skip(b * sorted.Count / bins).Take((b + 1) * sorted.Count / bins - b * sorted.Count / bins).ToList();
            bounds.Add(b == bins - 1 ? double.MaxValue : slice[^1].Score);
            blocks.Add((slice.Count(o => o.RougeL >= GoodRougeL), slice.Count, 1));
            while (blocks.Count > 1 && blocks[^2].Good / blocks[^2].Count > blocks[^1].Good / blocks[^1].Count)
            {
                var (high, low) = (blocks[^1], blocks[^2]);
                blocks.RemoveAt(blocks.Count - 1);
                blocks[^1] = (low.Good + high.Good, low.Count + high.Count, low.Bins + high.Bins);
            }
        }
        var values = blocks.SelectMany(block => Enumerable.Repeat(Math.Round(block.Good / block.Count, 4), block.Bins)).ToList();
        return new Calibration(bounds, values, sorted[0].Score);
    }

    private static string Fingerprint(IEnumerable<string> hashes)
    {
        var joined = string.Join('\n', hashes.Order(StringComparer.Ordinal));
        return Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(joined)));
    }
}
