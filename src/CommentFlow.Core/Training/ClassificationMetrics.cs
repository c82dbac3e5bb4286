namespace CommentFlow.Training;

/// <summary>Accuracy, macro-F1, per-class precision/recall and the confusion matrix of predictions against truth.</summary>
internal sealed record ClassificationMetrics
{
    public required int Count { get; init; }
    public required double Accuracy { get; init; }
    public required double MacroF1 { get; init; }
    public required double WeightedPrecision { get; init; }
    public required double WeightedRecall { get; init; }
    public required IReadOnlyList<ClassMetrics> PerClass { get; init; }

    /// <summary>Rows: true label, columns: predicted label, both in <see cref="Labels"/> order.</summary>
    public required int[][] Confusion { get; init; }
    public required IReadOnlyList<string> Labels { get; init; }

    public static ClassificationMetrics Compute(IReadOnlyList<string> truth, IReadOnlyList<string> predicted)
    {
        if (truth.Count != predicted.Count)
        {
            throw new ArgumentException("truth and predictions differ in length");
        }
        var labels = truth.Concat(predicted).Distinct().Order(StringComparer.Ordinal).ToList();
        var position = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i);
        var confusion = labels.Select(_ => new int[labels.Count]).ToArray();
        for (var i = 0; i < truth.Count; i++)
        {
            confusion[position[truth[i]]][position[predicted[i]]]++;
        }

        var perClass = new List<ClassMetrics>();
        for (var c = 0; c < labels.Count; c++)
        {
            var tp = confusion[c][c];
            var support = confusion[c].Sum();
            var predictedCount = confusion.Sum(row => row[c]);
            var precision = predictedCount == 0 ? 0 : (double)tp / predictedCount;
            var recall = support == 0 ? 0 : (double)tp / support;
            var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            perClass.Add(new ClassMetrics(labels[c], support, precision, recall, f1));
        }

        // Like scikit-learn: macro averages over the labels present in the truth or the predictions.
        var n = truth.Count;
        return new ClassificationMetrics
        {
            Count = n,
            Accuracy = n == 0 ? 0 : (double)Enumerable.Range(0, labels.Count).Sum(c => confusion[c][c]) / n,
            MacroF1 = perClass.Count == 0 ? 0 : perClass.Average(p => p.F1),
            WeightedPrecision = n == 0 ? 0 : perClass.Sum(p => p.Precision * p.Support) / n,
            WeightedRecall = n == 0 ? 0 : perClass.Sum(p => p.Recall * p.Support) / n,
            PerClass = perClass,
            Confusion = confusion,
            Labels = labels,
        };
    }
}

internal sealed record ClassMetrics(string Label, int Support, double Precision, double Recall, double F1);
