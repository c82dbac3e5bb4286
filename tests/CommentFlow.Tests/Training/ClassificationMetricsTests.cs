using CommentFlow.Training;

namespace CommentFlow.Tests.Training;

public sealed class ClassificationMetricsTests
{
    [Fact]
    public void Compute_SmallCase_MatchesHandComputedFigures()
    {
        string[] truth = ["a", "a", "a", "b", "b", "c"];
        string[] predicted = ["a", "a", "b", "b", "c", "c"];
        var m = ClassificationMetrics.Compute(truth, predicted);

        Assert.Equal(4.0 / 6, m.Accuracy, 6);
        // a: P 2/2 R 2/3 F1 .8; b: P 1/2 R 1/2 F1 .5; c: P 1/2 R 1/1 F1 2/3
        Assert.Equal((0.8 + 0.5 + 2.0 / 3) / 3, m.MacroF1, 6);
        Assert.Equal(["a", "b", "c"], m.Labels);
        Assert.Equal([2, 1, 0], m.Confusion[0]);
        Assert.Equal([0, 1, 1], m.Confusion[1]);
        Assert.Equal([0, 0, 1], m.Confusion[2]);
        Assert.Equal((1.0 * 3 + 0.5 * 2 + 0.5 * 1) / 6, m.WeightedPrecision, 6);
    }
}
