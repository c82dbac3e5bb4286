using System.IO.Compression;
using CommentFlow.OwnModel;
using CommentFlow.Training;
using Xunit.Abstractions;

namespace CommentFlow.Tests.Training;

/// <summary>The served scorer (<see cref="LinearTextScorer"/>) must compute what ML.NET computes: same label, same sums.</summary>
public sealed class TextClassifierScorerTests(ITestOutputHelper output)
{
    /// <summary>Relative to the summed probability, floored so that near-zero probabilities compare absolutely.</summary>
    private const double Tolerance = 1e-4;

    /// <summary>Corners of the normalisation and tokenisation: empty, whitespace and punctuation only, punctuation between spaces, surrogates, NUL, casing.</summary>
    private static readonly string[] Corners =
    [
        "", "   ", "...", "a . b", " \t leading and trailing \n ", "Hello, World!  Café ÀÉ 123-456", "emoji 😀 test 😀😀",
        "tab\there\r\nnew line", "nul\0char", "İstanbul ǅ Straße ẞ ΣΑΣ", "«quoted» — dash – text", "x|y a|b || |",
        "Drucker druckt nicht, bitte um Hilfe!", "Printer not printing please help",
    ];

    [Theory]
    [InlineData("tickets-multilang")]
    [InlineData("tickets-en-de")]
    public void PredictOne_SharedSplit_ScorerEqualsMlNetOnEveryTestTicket(string name)
    {
        var (tickets, _) = LabelledTickets.Read(Path.Combine(Paths.Shared, "data", name + ".csv"), "type");
        var split = SplitFile.Load(Path.Combine(Paths.Shared, "bench", "splits", name + "_type.json"));
        var train = tickets.Where(t => split.Train.Contains(t.Index)).Select(t => (t.Text, t.Label)).ToList();
        var test = tickets.Where(t => split.Test.Contains(t.Index)).Select(t => t.Text).ToList();

        var trained = TextClassifier.Train(train, ClassifierTrainer.Averaged);
        Assert.Null(trained.ScorerMismatch);
        var path = Path.Combine(TempDir.Create(), ModelFiles.Classifier);
        trained.Save(path);
        var model = TextClassifier.Load(path);
        Assert.True(model.HasScorer);

        double worst = 0;
        var texts = test.Concat(Corners).ToList();
        foreach (var text in texts)
        {
            var expected = model.EngineScores(text);
            var actual = model.ScorerScores(text)!;
            Assert.Equal(model.PredictOneByEngine(text), model.PredictOne(text));
            for (var j = 0; j < expected.Length; j++)
            {
                var difference = Math.Abs(actual[j] - expected[j]) / Math.Max(Math.Abs(expected[j]), 1e-3);
                Assert.True(difference <= Tolerance, $"'{text}' class {j}: ML.NET {expected[j]}, scorer {actual[j]}");
                worst = Math.Max(worst, difference);
            }
        }
        // The trained object serves the same way as the loaded one.
        Assert.Equal(test.Select(trained.PredictOneByEngine), test.Select(trained.PredictOne));
        output.WriteLine($"{name}: {texts.Count} texts ({test.Count} test tickets), labels equal, largest relative difference {worst:E2}");
    }

    [Theory]
    [InlineData("Averaged")]
    [InlineData("SdcaMaximumEntropy")]
    public void Load_ModelSavedBeforeTheScorer_ServedByMlNet(string trainer)
    {
        var model = TextClassifier.Train(Synthetic(), Enum.Parse<ClassifierTrainer>(trainer));
        var directory = TempDir.Create();
        var path = Path.Combine(directory, ModelFiles.Classifier);
        model.Save(path);
        var old = Path.Combine(directory, "old-" + ModelFiles.Classifier);
        using (var zip = ZipFile.OpenRead(path))
        {
            if (model.PredictByMember(["x"]).Count == 1)
            {
                // A single member used to be ML.NET's own file.
                zip.GetEntry("member-0.zip")!.ExtractToFile(old);
            }
        }
        if (!File.Exists(old))
        {
            // Several members: the same zip, without the scorer's entry.
            File.Copy(path, old);
            using var zip = ZipFile.Open(old, ZipArchiveMode.Update);
            zip.GetEntry("scorer.bin")!.Delete();
        }

        var loaded = TextClassifier.Load(old);

        Assert.False(loaded.HasScorer);
        Assert.True(TextClassifier.Load(path).HasScorer);
        string[] texts = ["printer jam again", "invoice refund please", "password locked", ""];
        Assert.Equal(model.Predict(texts), texts.Select(loaded.PredictOne));
        Assert.Equal(model.Labels, loaded.Labels);
    }

    [Fact]
    public void SaveLoad_LoneSurrogatesAndEmojiInTraining_ScorerStillEqualsMlNet()
    {
        // Words and n-grams holding half of a surrogate pair must survive the scorer's file unchanged.
        string[] odd = ["printer \uD800jam again", "invoice 😀 refund", "password x\uDC00 locked"];
        var examples = Synthetic().Concat(odd.Select((t, i) => (t, i == 0 ? "hardware" : i == 1 ? "billing" : "access"))).ToList();
        var path = Path.Combine(TempDir.Create(), ModelFiles.Classifier);
        TextClassifier.Train(examples, ClassifierTrainer.Averaged).Save(path);

        var model = TextClassifier.Load(path);

        Assert.True(model.HasScorer);
        foreach (var text in odd.Append("\uD800jam 😀 x\uDC00"))
        {
            var expected = model.EngineScores(text);
            var actual = model.ScorerScores(text)!;
            Assert.All(expected.Zip(actual), p => Assert.InRange(p.Second, p.First - 1e-5, p.First + 1e-5));
        }
    }

    private static List<(string, string)> Synthetic()
    {
        var random = new Random(7);
        var topics = new Dictionary<string, string[]>
        {
            ["access"] = ["password", "login", "cuenta bloqueada"],
            ["billing"] = ["invoice", "factura", "refund"],
            ["hardware"] = ["printer", "monitor", "teclado"],
        };
        return [.. topics.SelectMany(t => Enumerable.Range(0, 30).Select(_ => ($"hello {t.Value[random.Next(3)]} please {t.Value[random.Next(3)]}", t.Key)))];
    }
}
