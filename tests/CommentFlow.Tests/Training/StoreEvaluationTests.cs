using System.Net;
using System.Text.Json.Nodes;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Storage;
using CommentFlow.Tests.Fakes;
using CommentFlow.Training;
using Microsoft.Extensions.Logging.Abstractions;

namespace CommentFlow.Tests.Training;

public sealed class StoreEvaluationTests
{
    [Fact]
    public void Split_ByContextHash_StratifiedSeededAndStable()
    {
        var contexts = Enumerable.Range(0, 200).Select(i => (Hash: ContextHash.Compute($"t{i}", "", []), Label: i % 4 == 0 ? "resolution" : "action")).ToList();
        var a = TicketSplit.Create(contexts, seed: 42);
        var b = TicketSplit.Create(contexts.AsEnumerable().Reverse(), seed: 42);

        Assert.Equal(a.Test.Order(), b.Test.Order()); // the order the store returns does not matter
        Assert.Empty(a.Train.Intersect(a.Test));
        Assert.Equal(40, a.Test.Count);
        Assert.Equal(10, contexts.Count(c => c.Label == "resolution" && a.Test.Contains(c.Hash))); // 20 % of each stratum
        // Contexts the split has not seen go by their hash: the same side in every split, about the test fraction of them.
        var unseen = Enumerable.Range(0, 2_000).Select(i => ContextHash.Compute($"new ticket {i}", "", [])).ToList();
        Assert.Equal(unseen.Select(a.IsTest), unseen.Select(b.IsTest));
        Assert.InRange(unseen.Count(a.IsTest) / 2_000.0, 0.17, 0.23);
    }

    [Fact]
    public async Task Split_SavedAndLoaded_SameSides()
    {
        var split = TicketSplit.Create(Enumerable.Range(0, 30).Select(i => (ContextHash.Compute($"t{i}", "", []), "x")), 7);
        var path = Path.Combine(TempDir.Create(), TicketSplit.FileName);
        await split.SaveAsync(path);
        var loaded = TicketSplit.Load(path)!;
        Assert.Equal(split.Test.Order(), loaded.Test.Order());
        Assert.Equal(split.Train.Order(), loaded.Train.Order());
    }

    [Fact]
    public async Task Run_StoreWithOllamaAndHistory_ReportsRetrievalTypesAgreementAndThresholds()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        var samples = Some.TopicSamples(); // the type follows the topic: the classifier can learn it
        await store.WriteAsync(samples, null, CancellationToken.None);

        var rules = new RulesEngine(RuleSet.Load(Path.Combine(AppContext.BaseDirectory, "rules.json")));
        var modelsDir = Path.Combine(dataDir, "ml_models");
        var report = await StoreEvaluation.RunAsync(store, new CleaningOptions(), new TrainingOptions { MinSamples = 50 }, rules, modelsDir, CancellationToken.None);

        Assert.Equal(90, report.Train + report.Test);
        Assert.Equal(18, report.Test);
        Assert.True(File.Exists(Path.Combine(modelsDir, TicketSplit.FileName)));
        Assert.True(report.Retrieval.RougeL > 0.9, $"rouge {report.Retrieval.RougeL}"); // each topic has one answer
        Assert.True(report.Retrieval.RougeL > report.Retrieval.RandomSameLanguageRougeL);
        Assert.NotNull(report.Types);
        Assert.True(report.Types!.MacroF1 > report.Types.MajorityMacroF1);
        Assert.Equal(18, report.Ollama!.Samples);
        Assert.True(report.Ollama.MeetsGoal, $"agreement {report.Ollama.TypeAccuracy}");
        Assert.Equal(1.0, report.Thresholds[0].Coverage);
        Assert.Contains("**met**", StoreEvaluation.Markdown(report), StringComparison.Ordinal);

        // The same split is used again next time.
        var again = await StoreEvaluation.RunAsync(store, new CleaningOptions(), new TrainingOptions { MinSamples = 50 }, rules, modelsDir, CancellationToken.None);
        Assert.Equal(report.Test, again.Test);
        Assert.Equal(report.Retrieval.RougeL, again.Retrieval.RougeL);
    }

    [Fact]
    public async Task Run_TicketsNamingTheirProducts_GroundingOfTopNearestAndStoredComment()
    {
        // 45 products, four tickets each, whose comments repeat the product's name: with 180 contexts a name in at most
        // four of them is ticket-specific wherever three of its tickets fall on the train side.
        string[] syllables = ["ka", "lo", "mi", "ru", "te", "vo", "zu", "ne", "pa"];
        var products = syllables.SelectMany(a => syllables.Take(5).Select(b => $"{a}{b}x")).ToList();
        var samples = products.SelectMany((product, p) => Enumerable.Range(0, 4).Select(i =>
        {
            var context = new TicketContext { TicketKey = $"PR-{p}-{i}", Summary = $"The {product} display flickers", Description = $"case {p * 4 + i}", Language = "en" };
            return TrainingSample.From(context, context.Hash(), [new Suggestion($"Please reset the {product} and update its firmware.", "action", 0.9)],
                "llama3.2", "ollama", 900, DateTimeOffset.UnixEpoch);
        })).ToList();
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync(samples, null, CancellationToken.None);
        var rules = new RulesEngine(RuleSet.Load(Path.Combine(AppContext.BaseDirectory, "rules.json")));

        var report = await StoreEvaluation.RunAsync(store, new CleaningOptions(), new TrainingOptions { MinSamples = 50 }, rules,
            Path.Combine(dataDir, "ml_models"), CancellationToken.None);

        var g = report.Retrieval.Grounding;
        Assert.Null(g.RealAnswer.RougeL);
        Assert.Equal(0, g.RealAnswer.Foreign); // a stored comment names its own ticket's product
        Assert.Equal(1, g.RealAnswer.Grounded);
        Assert.True(g.RealAnswer.Mentions > 0, $"{g}");
        Assert.Equal(Math.Round(report.Retrieval.RougeL, 4), g.OwnModel.RougeL!.Value, 4);
        // The nearest ticket is another ticket about the same product: its comment names this ticket's product.
        Assert.Equal(0, g.NearestAnswer.Foreign);
        Assert.True(g.NearestAnswer.Mentions > 0, $"{g}");
        Assert.Contains("| real answer | – |", StoreEvaluation.Markdown(report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EvaluationEndpoint_NoReportYet_404Problem()
    {
        await using var server = await TestServer.StartAsync();
        var response = await server.Client.GetAsync("/api/ml/comments/evaluation");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var models = await server.GetJsonAsync("/api/ml/comments/models");
        Assert.Null(models["active"]);
        Assert.Empty(models["versions"]!.AsArray());
    }
}
