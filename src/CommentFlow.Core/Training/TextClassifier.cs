using System.Text.RegularExpressions;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Text;

namespace CommentFlow.Training;

/// <summary>A labelled example: the ticket's text and, optionally, the short fields that describe it.</summary>
internal sealed class ClassifierRow
{
    public string Text { get; set; } = "";
    public string Label { get; set; } = "";
    public float Weight { get; set; } = 1;
}

internal sealed class ClassifierPrediction
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = [];
}

internal enum ClassifierTrainer
{
    SdcaMaximumEntropy,
    LbfgsMaximumEntropy,
}

/// <summary>
/// Multiclass text classifier: word 1–2-grams and character 1–5-grams (TF-IDF, so any language works without
/// a tokenizer), then a linear maximum-entropy model. Each example is weighted n / (K × count of its class):
/// on these skewed labels that is the lever that lifts macro-F1.
/// </summary>
internal sealed partial class TextClassifier
{
    private readonly MLContext _ml;
    private readonly ITransformer _model;
    private readonly DataViewSchema _schema;

    private readonly ObjectPool<PredictionEngine<ClassifierRow, ClassifierPrediction>> _engines;

    private TextClassifier(MLContext ml, ITransformer model, DataViewSchema schema, IReadOnlyList<string> labels)
    {
        _ml = ml;
        _model = model;
        _schema = schema;
        Labels = labels;
        _engines = new DefaultObjectPool<PredictionEngine<ClassifierRow, ClassifierPrediction>>(new EnginePolicy(ml, model), Environment.ProcessorCount * 2);
    }

    private sealed class EnginePolicy(MLContext ml, ITransformer model) : PooledObjectPolicy<PredictionEngine<ClassifierRow, ClassifierPrediction>>
    {
        public override PredictionEngine<ClassifierRow, ClassifierPrediction> Create() => ml.Model.CreatePredictionEngine<ClassifierRow, ClassifierPrediction>(model);

        public override bool Return(PredictionEngine<ClassifierRow, ClassifierPrediction> obj) => true;
    }

    public IReadOnlyList<string> Labels { get; }

    public static TextClassifier Train(IReadOnlyList<(string Text, string Label)> examples, ClassifierTrainer trainer, int seed = 42)
    {
        var ml = new MLContext(seed);
        var rows = Weighted(examples);
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.Text.FeaturizeText("Features", new TextFeaturizingEstimator.Options
            {
                CaseMode = TextNormalizingEstimator.CaseMode.Lower,
                KeepDiacritics = true,
                KeepPunctuations = false,
                KeepNumbers = true,
                WordFeatureExtractor = new WordBagEstimator.Options { NgramLength = 2, UseAllLengths = true, Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf },
                CharFeatureExtractor = new WordBagEstimator.Options { NgramLength = 5, UseAllLengths = true, Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf },
                Norm = TextFeaturizingEstimator.NormFunction.L2,
            }, nameof(ClassifierRow.Text)))
            .AppendCacheCheckpoint(ml)
            .Append(Trainer(ml, trainer))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(data);
        var labels = rows.Select(r => r.Label).Distinct().Order(StringComparer.Ordinal).ToList();
        return new TextClassifier(ml, model, data.Schema, labels);
    }

    /// <summary>Predicts many at once (one pass through the pipeline), in input order.</summary>
    public IReadOnlyList<string> Predict(IEnumerable<string> texts)
    {
        var data = _ml.Data.LoadFromEnumerable(texts.Select(t => new ClassifierRow { Text = Clean(t) }));
        return _ml.Data.CreateEnumerable<ClassifierPrediction>(_model.Transform(data), reuseRowObject: false)
            .Select(p => p.PredictedLabel).ToList();
    }

    public void Save(string path) => _ml.Model.Save(_model, _schema, path);

    /// <summary>A saved classifier, for serving. Labels come from the model's own key metadata.</summary>
    public static TextClassifier Load(string path, int seed = 42)
    {
        var ml = new MLContext(seed);
        var model = ml.Model.Load(path, out var schema);
        var probe = model.Transform(ml.Data.LoadFromEnumerable(Array.Empty<ClassifierRow>()));
        VBuffer<ReadOnlyMemory<char>> names = default;
        probe.Schema["Score"].GetSlotNames(ref names);
        return new TextClassifier(ml, model, schema, names.DenseValues().Select(n => n.ToString()).Order(StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// One prediction on the request path. A <see cref="PredictionEngine{TSrc,TDst}"/> is not thread-safe, so engines are
    /// pooled: each call rents one, and a burst creates at most one per concurrent request.
    /// </summary>
    public string PredictOne(string text)
    {
        var engine = _engines.Get();
        try
        {
            return engine.Predict(new ClassifierRow { Text = Clean(text) }).PredictedLabel;
        }
        finally
        {
            _engines.Return(engine);
        }
    }

    /// <summary>FeaturizeText splits words on spaces only: newlines and tabs would glue words together.</summary>
    public static string Clean(string text) => Whitespace().Replace(text, " ").Trim();

    private static List<ClassifierRow> Weighted(IReadOnlyList<(string Text, string Label)> examples)
    {
        var counts = examples.GroupBy(e => e.Label).ToDictionary(g => g.Key, g => g.Count());
        float n = examples.Count, k = counts.Count;
        return examples.Select(e => new ClassifierRow { Text = Clean(e.Text), Label = e.Label, Weight = n / (k * counts[e.Label]) }).ToList();
    }

    private static IEstimator<ITransformer> Trainer(MLContext ml, ClassifierTrainer trainer) => trainer switch
    {
        ClassifierTrainer.LbfgsMaximumEntropy => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(
            new Microsoft.ML.Trainers.LbfgsMaximumEntropyMulticlassTrainer.Options
            {
                LabelColumnName = "Label",
                FeatureColumnName = "Features",
                ExampleWeightColumnName = nameof(ClassifierRow.Weight),
                L1Regularization = 0, // the default of 1 collapses to the majority class on these features
            }),
        _ => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(
            labelColumnName: "Label", featureColumnName: "Features", exampleWeightColumnName: nameof(ClassifierRow.Weight)),
    };

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
