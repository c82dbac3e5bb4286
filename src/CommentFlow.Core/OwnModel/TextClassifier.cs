using System.IO.Compression;
using System.Text.RegularExpressions;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Transforms.Text;

namespace CommentFlow.OwnModel;

/// <summary>A labelled example: the ticket's text and, optionally, the short fields that describe it.</summary>
internal sealed class ClassifierRow
{
    public string Text { get; set; } = "";
    public string Label { get; set; } = "";
    public float Weight { get; set; } = 1;
}

internal sealed class ClassifierPrediction
{
    public float[] Score { get; set; } = [];
}

/// <summary>Every member's scores end to end, from one pass of the shared featurizer (<see cref="TextClassifier.Served"/>).</summary>
internal sealed class MemberScores
{
    public float[] Scores { get; set; } = [];
}

internal enum ClassifierTrainer
{
    SdcaMaximumEntropy,
    LbfgsMaximumEntropy,

    /// <summary>Both maximum-entropy models on the same features, their probabilities averaged.</summary>
    Averaged,
}

/// <summary>
/// Multiclass text classifier: word 1–2-grams and character 1–5-grams (TF-IDF, each block normalised on its own, so any
/// language works without a tokenizer), then a linear maximum-entropy model, or two averaged. Each example is weighted n / (K × count of its
/// class): on these skewed labels that is the lever that lifts macro-F1. The two trainers disagree most on the small
/// classes, and their average was steadier on the shared splits than either alone.
/// </summary>
internal sealed partial class TextClassifier
{
    private const string MemberPrefix = "member-";

    /// <summary>The zip entry of the served scorer's dictionaries (<see cref="ScorerVocabulary"/>); models saved before it have none.</summary>
    private const string ScorerEntry = "scorer.bin";

    private readonly MLContext _ml;
    private readonly ITransformer[] _members;
    private readonly DataViewSchema _schema;
    private readonly ObjectPool<PredictionEngine<ClassifierRow, MemberScores>> _engines;
    private readonly ScorerVocabulary? _vocabulary;
    private readonly LinearTextScorer? _scorer;

    private TextClassifier(MLContext ml, ITransformer[] members, DataViewSchema schema, ScorerVocabulary? vocabulary)
    {
        _ml = ml;
        _members = members;
        _schema = schema;
        var probe = members[0].Transform(ml.Data.LoadFromEnumerable(Array.Empty<ClassifierRow>()));
        VBuffer<ReadOnlyMemory<char>> names = default;
        probe.Schema["Score"].GetSlotNames(ref names);
        Slots = [.. names.DenseValues().Select(n => n.ToString())];
        Labels = [.. Slots.Order(StringComparer.Ordinal)];
        _engines = new DefaultObjectPool<PredictionEngine<ClassifierRow, MemberScores>>(new EnginePolicy(ml, Served(ml, members)), MaxEngines);
        _vocabulary = vocabulary;
        _scorer = vocabulary is null ? null : Scorer(vocabulary, members);
    }

    /// <summary>The served scorer, from the saved dictionaries and the members' own weights and biases (public model parameters).</summary>
    private static LinearTextScorer Scorer(ScorerVocabulary vocabulary, ITransformer[] members)
    {
        var weights = new float[members.Length][][];
        var biases = new float[members.Length][];
        for (var m = 0; m < members.Length; m++)
        {
            var model = Flatten(members[m]).OfType<IPredictionTransformer<object>>().Single().Model as MaximumEntropyModelParameters
                ?? throw new InvalidDataException("the served scorer needs maximum-entropy members");
            VBuffer<float>[] classes = [];
            model.GetWeights(ref classes, out var count);
            weights[m] = [.. classes.Take(count).Select(w => w.DenseValues().ToArray())];
            biases[m] = [.. model.GetBiases()];
        }
        return new LinearTextScorer(vocabulary, weights, biases);
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer transformer) =>
        transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [transformer];

    /// <summary>Whether <see cref="PredictOne"/> runs the served scorer (false for models saved before it, which ML.NET serves).</summary>
    internal bool HasScorer => _scorer is not null;

    /// <summary>Why training saved no scorer: the learnt dictionaries differed from ML.NET's (null when they matched).</summary>
    internal string? ScorerMismatch { get; private init; }

    /// <summary>
    /// A <see cref="PredictionEngine{TSrc,TDst}"/> is not thread-safe: a request rents one. Requests run on thread-pool
    /// threads, whose number grows past the cores under load; an engine returned to a full pool would be dropped and the
    /// next request would build one again (milliseconds each), so every engine a burst built is kept.
    /// </summary>
    private const int MaxEngines = 256;

    private sealed class EnginePolicy(MLContext ml, ITransformer served) : PooledObjectPolicy<PredictionEngine<ClassifierRow, MemberScores>>
    {
        public override PredictionEngine<ClassifierRow, MemberScores> Create() => ml.Model.CreatePredictionEngine<ClassifierRow, MemberScores>(served);

        public override bool Return(PredictionEngine<ClassifierRow, MemberScores> obj) => true;
    }

    /// <summary>
    /// The members as one chain for the request path: the featurizer once (the members were fitted on the same features
    /// and saved each with a copy of it; it is most of a prediction's time), then each member's model, its scores kept
    /// under a name of their own and concatenated.
    /// </summary>
    private static ITransformer Served(MLContext ml, ITransformer[] members)
    {
        var chains = members.Select(m => ((IEnumerable<ITransformer>)m).ToArray()).ToArray();
        var parts = new List<ITransformer>(chains[0][..^1]);
        var view = parts.Aggregate(ml.Data.LoadFromEnumerable(Array.Empty<ClassifierRow>()), (data, t) => t.Transform(data));
        for (var i = 0; i < chains.Length; i++)
        {
            var model = chains[i][^1];
            view = model.Transform(view);
            var copy = ml.Transforms.CopyColumns($"Score{i}", "Score").Fit(view);
            view = copy.Transform(view);
            parts.AddRange([model, copy]);
        }
        parts.Add(ml.Transforms.Concatenate(nameof(MemberScores.Scores), [.. chains.Select((_, i) => $"Score{i}")]).Fit(view));
        return new TransformerChain<ITransformer>([.. parts]);
    }

    public IReadOnlyList<string> Labels { get; }

    /// <summary>The label of each position of the score vector (the key order the featurizer gave them).</summary>
    private string[] Slots { get; }

    /// <param name="servedScorer">Whether to learn the served scorer's dictionaries: not for a cross-validation fold,
    /// whose model only predicts in batch and is thrown away.</param>
    public static TextClassifier Train(IReadOnlyList<(string Text, string Label)> examples, ClassifierTrainer trainer, int seed = 42,
        CancellationToken cancellationToken = default, bool servedScorer = true)
    {
        // ML.NET's fits take no token (its CancelExecution is internal): the token is checked between them.
        cancellationToken.ThrowIfCancellationRequested();
        var ml = new MLContext(seed);
        var data = ml.Data.LoadFromEnumerable(Weighted(examples));
        // The features are computed once and cached, whichever trainers then learn from them.
        // Words and characters are normalised apart, as scikit-learn's union of two TF-IDF vectorisers does: under one
        // norm the far more numerous character n-grams drown the words.
        var featurizer = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.Text.FeaturizeText("WordFeatures", new TextFeaturizingEstimator.Options
            {
                CaseMode = TextNormalizingEstimator.CaseMode.Lower,
                KeepDiacritics = true,
                KeepPunctuations = false,
                KeepNumbers = true,
                WordFeatureExtractor = new WordBagEstimator.Options { NgramLength = 2, UseAllLengths = true, Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf },
                CharFeatureExtractor = null,
                Norm = TextFeaturizingEstimator.NormFunction.L2,
            }, nameof(ClassifierRow.Text)))
            .Append(ml.Transforms.Text.FeaturizeText("CharFeatures", new TextFeaturizingEstimator.Options
            {
                CaseMode = TextNormalizingEstimator.CaseMode.Lower,
                KeepDiacritics = true,
                KeepPunctuations = false,
                KeepNumbers = true,
                WordFeatureExtractor = null,
                CharFeatureExtractor = new WordBagEstimator.Options { NgramLength = 5, UseAllLengths = true, Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf },
                Norm = TextFeaturizingEstimator.NormFunction.L2,
            }, nameof(ClassifierRow.Text)))
            .Append(ml.Transforms.Concatenate("Features", "WordFeatures", "CharFeatures"))
            .Fit(data);
        var features = ml.Data.Cache(featurizer.Transform(data));
        ClassifierTrainer[] trainers = trainer == ClassifierTrainer.Averaged
            ? [ClassifierTrainer.SdcaMaximumEntropy, ClassifierTrainer.LbfgsMaximumEntropy]
            : [trainer];
        var members = trainers.Select(t =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            return (ITransformer)featurizer.Append(Trainer(ml, t).Fit(features));
        }).ToArray();
        // After the fits and in a context of its own: the trainers draw from the context's random numbers, and a model
        // must not change because the scorer's dictionaries were learnt.
        var (vocabulary, mismatch) = servedScorer ? LearnVocabulary(new MLContext(seed), featurizer, data) : (null, "not learnt");
        return new TextClassifier(ml, members, data.Schema, vocabulary) { ScorerMismatch = mismatch };
    }

    /// <summary>The featurizer's dictionaries and idf learnt again from the same rows, kept only if every slot is ML.NET's.</summary>
    private static (ScorerVocabulary? Vocabulary, string? Mismatch) LearnVocabulary(MLContext ml, ITransformer featurizer, IDataView data)
    {
        var texts = ml.Data.CreateEnumerable<ClassifierRow>(data, reuseRowObject: false).Select(r => r.Text).ToList();
        var vocabulary = ScorerVocabulary.Learn(texts);
        var schema = featurizer.GetOutputSchema(data.Schema);
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<ClassifierRow>());
        var tokenizer = ml.Transforms.Text.TokenizeIntoCharactersAsKeys("Characters", nameof(ClassifierRow.Text)).Fit(empty);
        VBuffer<ReadOnlyMemory<char>> charNames = default;
        tokenizer.GetOutputSchema(empty.Schema)["Characters"].GetKeyValues(ref charNames);
        var mismatch = vocabulary.Mismatch(SlotNames(schema["WordFeatures"]), SlotNames(schema["CharFeatures"]),
            [.. charNames.DenseValues().Select(n => n.ToString())]);
        return (mismatch is null ? vocabulary : null, mismatch);
    }

    private static List<string> SlotNames(DataViewSchema.Column column)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetSlotNames(ref names);
        return [.. names.DenseValues().Select(n => n.ToString())];
    }

    /// <summary>Predicts many at once (one pass through each member), in input order.</summary>
    public IReadOnlyList<string> Predict(IEnumerable<string> texts) => [.. Probabilities(texts).Select(s => Best(s))];

    /// <summary>What each member alone predicts, in member order: cross-validation compares them with their average at no extra cost.</summary>
    public IReadOnlyList<IReadOnlyList<string>> PredictByMember(IEnumerable<string> texts)
    {
        var data = Rows(texts);
        return [.. _members.Select(m => (IReadOnlyList<string>)[.. Scores(m, data).Select(s => Best(s))])];
    }

    private IDataView Rows(IEnumerable<string> texts) => _ml.Data.LoadFromEnumerable(texts.Select(t => new ClassifierRow { Text = Clean(t) }).ToList());

    private List<float[]> Scores(ITransformer member, IDataView data) =>
        [.. _ml.Data.CreateEnumerable<ClassifierPrediction>(member.Transform(data), reuseRowObject: false).Select(p => p.Score)];

    /// <summary>Class probabilities per text, by <see cref="Slots"/> position, summed over the members.</summary>
    private List<float[]> Probabilities(IEnumerable<string> texts)
    {
        var data = Rows(texts);
        List<float[]>? sum = null;
        foreach (var member in _members)
        {
            var scores = Scores(member, data);
            if (sum is null)
            {
                sum = scores;
                continue;
            }
            for (var i = 0; i < sum.Count; i++)
            {
                for (var j = 0; j < sum[i].Length; j++)
                {
                    sum[i][j] += scores[i][j];
                }
            }
        }
        return sum!;
    }

    private string Best(ReadOnlySpan<float> scores)
    {
        var best = 0;
        for (var j = 1; j < scores.Length; j++)
        {
            if (scores[j] > scores[best])
            {
                best = j;
            }
        }
        return Slots[best];
    }

    /// <summary>
    /// One model file: a zip of the members as ML.NET saves them and the served scorer's dictionaries. (Before the scorer,
    /// a single member was saved as ML.NET's file alone; <see cref="Load"/> still reads those.)
    /// </summary>
    public void Save(string path)
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        for (var i = 0; i < _members.Length; i++)
        {
            using var entry = zip.CreateEntry($"{MemberPrefix}{i}.zip", CompressionLevel.NoCompression).Open();
            _ml.Model.Save(_members[i], _schema, entry);
        }
        if (_vocabulary is not null)
        {
            using var entry = zip.CreateEntry(ScorerEntry, CompressionLevel.Fastest).Open();
            _vocabulary.Write(entry);
        }
    }

    /// <summary>A saved classifier, for serving. Labels come from the model's own key metadata.</summary>
    public static TextClassifier Load(string path, int seed = 42)
    {
        var ml = new MLContext(seed);
        using (var zip = ZipFile.OpenRead(path))
        {
            var entries = zip.Entries.Where(e => e.Name.StartsWith(MemberPrefix, StringComparison.Ordinal)).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
            if (entries.Count > 0)
            {
                DataViewSchema schema = null!;
                var members = entries.Select(e =>
                {
                    // ML.NET needs a seekable stream.
                    using var buffer = new MemoryStream();
                    using (var stream = e.Open())
                    {
                        stream.CopyTo(buffer);
                    }
                    buffer.Position = 0;
                    return ml.Model.Load(buffer, out schema);
                }).ToArray();
                ScorerVocabulary? vocabulary = null;
                if (zip.GetEntry(ScorerEntry) is { } scorer)
                {
                    using var stream = scorer.Open();
                    vocabulary = ScorerVocabulary.Read(stream);
                }
                return new TextClassifier(ml, members, schema, vocabulary);
            }
        }
        var model = ml.Model.Load(path, out var single);
        return new TextClassifier(ml, [model], single, vocabulary: null);
    }

    /// <summary>One prediction on the request path: the served scorer when the model has one, else ML.NET.</summary>
    public string PredictOne(string text)
    {
        if (_scorer is null)
        {
            return PredictOneByEngine(text);
        }
        Span<float> sum = stackalloc float[Slots.Length];
        _scorer.Score(text, sum);
        return Best(sum);
    }

    /// <summary>One prediction through ML.NET's prediction engine, whatever the model holds (the reference the scorer must equal).</summary>
    internal string PredictOneByEngine(string text) => Best(EngineScores(text));

    /// <summary>The members' probabilities summed, by <see cref="Slots"/> position, from ML.NET.</summary>
    internal float[] EngineScores(string text)
    {
        var engine = _engines.Get();
        try
        {
            var scores = engine.Predict(new ClassifierRow { Text = Clean(text) }).Scores;
            var sum = scores[..Slots.Length];
            for (var from = Slots.Length; from < scores.Length; from += Slots.Length)
            {
                for (var j = 0; j < sum.Length; j++)
                {
                    sum[j] += scores[from + j];
                }
            }
            return sum;
        }
        finally
        {
            _engines.Return(engine);
        }
    }

    /// <summary>The same sums from the served scorer; null when the model has none.</summary>
    internal float[]? ScorerScores(string text)
    {
        if (_scorer is null)
        {
            return null;
        }
        var sum = new float[Slots.Length];
        _scorer.Score(text, sum);
        return sum;
    }

    /// <summary>FeaturizeText splits words on spaces only: newlines and tabs would glue words together.</summary>
    public static string Clean(string text) => Whitespace().Replace(text, " ").Trim();

    private static List<ClassifierRow> Weighted(IReadOnlyList<(string Text, string Label)> examples)
    {
        var counts = examples.GroupBy(e => e.Label).ToDictionary(g => g.Key, g => g.Count());
        float n = examples.Count, k = counts.Count;
        return examples.Select(e => new ClassifierRow { Text = Clean(e.Text), Label = e.Label, Weight = n / (k * counts[e.Label]) }).ToList();
    }

    private static IEstimator<ITransformer> Trainer(MLContext ml, ClassifierTrainer trainer) => (trainer switch
    {
        ClassifierTrainer.LbfgsMaximumEntropy => (IEstimator<ITransformer>)ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(
            new Microsoft.ML.Trainers.LbfgsMaximumEntropyMulticlassTrainer.Options
            {
                LabelColumnName = "Label",
                FeatureColumnName = "Features",
                ExampleWeightColumnName = nameof(ClassifierRow.Weight),
                L1Regularization = 0, // the default of 1 collapses to the majority class on these features
                // Stopping at 1e-4 rather than 1e-7 is early stopping: cross-validated macro-F1 rose on three of the four
                // shared tasks and fit time fell by half or more (bench/README.md).
                OptimizationTolerance = 1e-4f,
            }),
        _ => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(new Microsoft.ML.Trainers.SdcaMaximumEntropyMulticlassTrainer.Options
        {
            LabelColumnName = "Label",
            FeatureColumnName = "Features",
            ExampleWeightColumnName = nameof(ClassifierRow.Weight),
            NumberOfThreads = 1, // several threads update the weights in a racy order: the same data gave different models
        }),
    }).Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
