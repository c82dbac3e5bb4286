using CommentFlow.OwnModel;
using CommentFlow.Training;

namespace CommentFlow.Tests.Training;

public sealed class TextClassifierTests
{
    private static List<(string Text, string Label)> Synthetic(int seed, int perClass)
    {
        var random = new Random(seed);
        string[] filler = ["hola", "buenos días", "hello", "thanks", "please", "gracias", "team", "equipo", "today", "hoy"];
        var topics = new Dictionary<string, string[]>
        {
            ["access"] = ["password", "contraseña", "login", "acceso", "cuenta bloqueada"],
            ["billing"] = ["invoice", "factura", "payment", "pago", "refund"],
            ["hardware"] = ["printer", "impresora", "laptop", "monitor", "teclado"],
        };
        var rows = new List<(string, string)>();
        foreach (var (label, words) in topics)
        {
            for (var i = 0; i < perClass; i++)
            {
                var text = string.Join(' ', Enumerable.Range(0, 8).Select(_ => random.Next(3) == 0 ? words[random.Next(words.Length)] : filler[random.Next(filler.Length)]));
                rows.Add((text + " " + words[random.Next(words.Length)], label));
            }
        }
        return rows;
    }

    [Theory]
    [InlineData("SdcaMaximumEntropy")]
    [InlineData("LbfgsMaximumEntropy")]
    [InlineData("Averaged")]
    public void Train_SeparableTopics_PredictsHeldOutWell(string trainer)
    {
        var model = TextClassifier.Train(Synthetic(1, 60), Enum.Parse<ClassifierTrainer>(trainer));
        var test = Synthetic(2, 20);
        var metrics = ClassificationMetrics.Compute(test.Select(t => t.Label).ToList(), model.Predict(test.Select(t => t.Text)));
        Assert.True(metrics.Accuracy > 0.9, $"accuracy {metrics.Accuracy}");
        Assert.Equal(["access", "billing", "hardware"], model.Labels);
    }

    [Fact]
    public void SaveLoad_Averaged_PredictsAsBeforeAndIsRepeatable()
    {
        var examples = Synthetic(3, 40);
        var test = Synthetic(4, 15).Select(t => t.Text).ToList();
        var model = TextClassifier.Train(examples, ClassifierTrainer.Averaged);
        var path = Path.Combine(TempDir.Create(), "classifier.zip");
        model.Save(path);
        var loaded = TextClassifier.Load(path);

        Assert.Equal(model.Predict(test), loaded.Predict(test));
        Assert.Equal(model.Predict(test), test.Select(loaded.PredictOne).ToList());
        Assert.Equal(model.Labels, loaded.Labels);
        // Single-threaded SDCA: the same data and seed give the same model.
        Assert.Equal(model.Predict(test), TextClassifier.Train(examples, ClassifierTrainer.Averaged).Predict(test));
        Assert.Equal(2, model.PredictByMember(test).Count);
    }

    [Fact]
    public void Clean_Whitespace_CollapsedSoWordsDoNotGlue() =>
        Assert.Equal("line one line two", TextClassifier.Clean("line one\nline\t two\r\n"));

    [Fact]
    public void SelectionSample_AboveTheCap_StratifiedSampleOfAboutTheCap()
    {
        // 30,000 examples, 10 % of them the rare class: the sample keeps the proportions and every class.
        var examples = Enumerable.Range(0, 30_000).Select(i => ($"text {i}", i % 10 == 0 ? "rare" : i % 2 == 0 ? "even" : "odd")).ToList();

        var sample = Evaluation.SelectionSample(examples, seed: 42);

        Assert.InRange(sample.Count, Evaluation.SelectionCap - 3, Evaluation.SelectionCap + 3);
        Assert.Equal(sample.Count, sample.Distinct().Count());
        Assert.Subset(examples.ToHashSet(), sample.ToHashSet());
        Assert.InRange(sample.Count(e => e.Label == "rare") / (double)sample.Count, 0.099, 0.101);
    }

    [Fact]
    public void SelectionSample_AtOrBelowTheCap_EveryExample()
    {
        var examples = Synthetic(5, 30);

        Assert.Same(examples, Evaluation.SelectionSample(examples, seed: 42));
    }
}
