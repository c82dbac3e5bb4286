namespace CommentFlow.OwnModel;

/// <summary>
/// The own model's confidence: the share of held-out training tickets whose served reply reached ROUGE-L
/// <see cref="Training.ModelTrainer.GoodRougeL"/>, by bins of their score (<see cref="OwnSuggestion.Score"/>), made
/// non-decreasing. Below <paramref name="Floor"/>, the lowest score seen on the folds, nothing was observed: the
/// confidence falls in proportion instead of staying at the lowest bin's value, so a ticket unlike any the model was
/// checked on is handed to Ollama.
/// </summary>
internal sealed record Calibration(IReadOnlyList<double> Bounds, IReadOnlyList<double> Values, double Floor)
{
    public double Confidence(double score)
    {
        if (Values.Count == 0)
        {
            return 0;
        }
        if (score < Floor)
        {
            return Values[0] * Math.Max(0, score) / Floor;
        }
        for (var i = 0; i < Bounds.Count; i++)
        {
            if (score <= Bounds[i])
            {
                return Values[i];
            }
        }
        return Values[^1];
    }
}
