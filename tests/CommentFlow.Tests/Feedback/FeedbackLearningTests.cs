using CommentFlow.Caching;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Feedback;
using CommentFlow.OwnModel;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using CommentFlow.Training;
using Microsoft.Extensions.Options;

namespace CommentFlow.Tests.Feedback;

/// <summary>What training and evaluation make of feedback, on a real store file.</summary>
public sealed class FeedbackLearningTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);

    private static SuggestionFeedback Given(TrainingSample sample, int position, string action, string? finalText = null, int minute = 0) => new()
    {
        ContextHash = sample.ContextHash,
        Position = position,
        Agent = "ana",
        Action = action,
        FinalText = finalText,
        TicketKey = sample.Context.TicketKey,
        Engine = sample.Engine,
        Model = sample.Model,
        SuggestionType = sample.Suggestions[position].Type,
        CreatedAt = At.AddMinutes(minute),
    };

    /// <summary>The retrieval items training builds from the store, cleaned as configured.</summary>
    private static async Task<RetrievalIndex> IndexAsync(ITrainingStore store, CleaningOptions cleaning)
    {
        var cleaner = new DatasetCleaner(cleaning);
        var items = new List<RetrievalItem>();
        await foreach (var sample in store.ReadAllAsync(CancellationToken.None))
        {
            var text = TicketText.Of(sample.Context);
            items.AddRange(cleaner.Clean(sample).Select(s => new RetrievalItem(text, s.Text, s.Type, "es", s.Confidence)));
        }
        return RetrievalIndex.Build(items);
    }

    [Fact]
    public async Task Retrieval_KeptAndDismissedOfEqualSimilarity_KeptRanksFirst()
    {
        var store = await Stores.OpenAsync(TempDir.Create());
        var context = Some.Context("La impresora de la planta 2 no imprime", "Sale un error de cola de impresión", ["¿Desde cuándo?"]);
        // One context, two comments: as neighbours they have the same similarity by construction.
        var sample = TrainingSample.From(context, context.Hash(),
            [new Suggestion("Reinicie el servicio de cola de impresión.", "action", 0.9), new Suggestion("Compruebe que la impresora tiene papel.", "action", 0.8)],
            "llama3.2", EngineNames.Ollama, 900, At);
        var other = Some.Context("No puedo entrar al correo", "Outlook pide la contraseña sin parar", []);
        await store.WriteAsync([sample, TrainingSample.From(other, other.Hash(), [new Suggestion("Borre las credenciales guardadas.", "action", 0.9)],
            "llama3.2", EngineNames.Ollama, 900, At)], null, CancellationToken.None);
        var query = TicketText.Of(context);
        var keepAll = new CleaningOptions { MinConfidence = 0 };

        // Before feedback the engine's more confident comment leads.
        var before = (await IndexAsync(store, keepAll)).Query(query, "es", RetrievalSettings.Default, take: 2);
        Assert.Equal("Reinicie el servicio de cola de impresión.", before[0].Answer);

        await store.WriteFeedbackAsync(Given(sample, 0, FeedbackActions.Dismissed), CancellationToken.None);
        await store.WriteFeedbackAsync(Given(sample, 1, FeedbackActions.Accepted), CancellationToken.None);

        var after = (await IndexAsync(store, keepAll)).Query(query, "es", RetrievalSettings.Default, take: 2);
        Assert.Equal(after[0].Similarity, after[1].Similarity, 6);
        Assert.Equal("Compruebe que la impresora tiene papel.", after[0].Answer);
        Assert.Equal("Reinicie el servicio de cola de impresión.", after[1].Answer);
        Assert.True(after[0].Score > after[1].Score);

        // With the default cleaning the dismissed comment is not trained on at all.
        var cleaned = (await IndexAsync(store, new CleaningOptions())).Query(query, "es", RetrievalSettings.Default, take: 5);
        Assert.DoesNotContain(cleaned, c => c.Answer == "Reinicie el servicio de cola de impresión.");
    }

    [Fact]
    public void Reviewed_LatestFeedbackDecides_EditedTextReplacesAcceptedKeepsDismissedDrops()
    {
        var context = Some.Context();
        var sample = TrainingSample.From(context, context.Hash(),
            [new Suggestion("uno", "diagnostic", 0.6), new Suggestion("dos", "action", 0.9), new Suggestion("tres", "resolution", 0.8), new Suggestion("cuatro", "action", 0.7)],
            "llama3.2", EngineNames.Ollama, 1, At) with
        {
            Feedback = [],
        };
        sample = sample with
        {
            Feedback =
            [
                Given(sample, 0, FeedbackActions.Accepted, minute: 1),
                Given(sample, 1, FeedbackActions.Accepted, minute: 1) with { Agent = "luis" },
                Given(sample, 1, FeedbackActions.Edited, "dos, corregido", minute: 2),
                Given(sample, 2, FeedbackActions.Edited, "tres, corregido", minute: 3),
                Given(sample, 2, FeedbackActions.Dismissed, minute: 4) with { Agent = "luis" },
            ],
        };
        var reviewed = sample.Reviewed();
        Assert.Equal(new Suggestion("uno", "diagnostic", 1.0), reviewed[0]);
        Assert.Equal(new Suggestion("dos, corregido", "action", 1.0), reviewed[1]);
        Assert.Equal(new Suggestion("tres", "resolution", TrainingSample.DismissedConfidence), reviewed[2]);
        Assert.Equal(new Suggestion("cuatro", "action", 0.7), reviewed[3]);
    }

    [Fact]
    public void Clean_RulesEngineSampleAgentAccepted_KeptWhileTheRestOfRulesIsDropped()
    {
        var context = Some.Context();
        var sample = TrainingSample.From(context, context.Hash(),
            [new Suggestion("Revise el registro de eventos.", "diagnostic", 0.8), new Suggestion("Reinicie el equipo.", "action", 0.8)], "rules-v1", EngineNames.Rules, 1, At);
        var cleaner = new DatasetCleaner(new CleaningOptions { DropRulesEngine = true });
        Assert.Empty(cleaner.Clean(sample));
        var kept = cleaner.Clean(sample with { Feedback = [Given(sample, 1, FeedbackActions.Accepted)] });
        Assert.Equal("Reinicie el equipo.", Assert.Single(kept).Text);
        Assert.Equal(3, cleaner.Removed[DatasetCleaner.RulesEngine]);
    }

    [Fact]
    public async Task Evaluation_FeedbackOnHeldOutTickets_ReportsAccuracyAgainstWhatAgentsKept()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        var samples = Some.TopicSamples();
        await store.WriteAsync(samples, null, CancellationToken.None);
        var rules = new RulesEngine(RuleSet.Load(Path.Combine(AppContext.BaseDirectory, "rules.json")));
        var modelsDir = Path.Combine(dataDir, "ml_models");
        var options = new TrainingOptions { MinSamples = 50 };

        var without = await StoreEvaluation.RunAsync(store, new CleaningOptions(), options, rules, modelsDir, CancellationToken.None);
        Assert.Null(without.Agents);
        Assert.Contains("no held-out ticket has accepted or edited feedback", StoreEvaluation.Markdown(without), StringComparison.Ordinal);

        // On the held-out side: 6 accepted (the model answers them right), 3 edited into text the model never saw, 3 dismissed.
        var split = TicketSplit.Load(Path.Combine(modelsDir, TicketSplit.FileName))!;
        var test = samples.Where(s => split.IsTest(s.ContextHash)).ToList();
        Assert.True(test.Count >= 12);
        foreach (var s in test.Take(6))
        {
            await store.WriteFeedbackAsync(Given(s, 0, FeedbackActions.Accepted), CancellationToken.None);
        }
        foreach (var s in test.Skip(6).Take(3))
        {
            await store.WriteFeedbackAsync(Given(s, 0, FeedbackActions.Edited, "Escalated to the vendor under contract 55; they replace the unit on Monday."), CancellationToken.None);
        }
        foreach (var s in test.Skip(9).Take(3))
        {
            await store.WriteFeedbackAsync(Given(s, 0, FeedbackActions.Dismissed), CancellationToken.None);
        }

        var report = await StoreEvaluation.RunAsync(store, new CleaningOptions(), options, rules, modelsDir, CancellationToken.None);
        Assert.NotNull(report.Agents);
        Assert.Equal(9, report.Agents!.Contexts); // dismissed-only tickets have nothing kept to compare with
        Assert.Equal(6 / 9.0, report.Agents.Accuracy, 6);
        Assert.Equal(1.0, report.Agents.TypeAccuracy); // an edit keeps the suggestion's type
        Assert.NotNull(report.Ollama); // reported next to agreement with Ollama
        Assert.Contains("Against what agents accepted or corrected", StoreEvaluation.Markdown(report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Record_SampleNotStoredYet_FoundInTheCacheAndStored()
    {
        var store = await Stores.OpenAsync(TempDir.Create());
        var cache = new SuggestionCache(Options.Create(new CacheOptions()), TimeProvider.System);
        var masker = new PersonalDataMasker(Options.Create(new MaskingOptions()));
        var service = new FeedbackService(store, cache, masker, TimeProvider.System);
        var hash = Some.Context().Hash();
        var target = new FeedbackTarget.ById(hash, 1);

        var unknown = await service.RecordAsync(target, FeedbackActions.Accepted, null, "ana", CancellationToken.None);
        Assert.Null(unknown.Stored);
        Assert.NotNull(unknown.Error);

        // Answered a moment ago, still in the capture queue: the cache knows it.
        cache.Set(hash, new CachedAnswer([new Suggestion("uno", "diagnostic", 0.9), new Suggestion("Escriba a soporte@example.com", "action", 0.8)], "ollama", "llama3.2", 5, "IT-9"));
        var outcome = await service.RecordAsync(target, FeedbackActions.Accepted, null, "ana", CancellationToken.None);
        Assert.Equal("action", outcome.Stored!.SuggestionType);
        Assert.Equal("IT-9", outcome.Stored.TicketKey);
        Assert.Equal(1, (await store.GetStatsAsync(CancellationToken.None)).Feedback.ByEngine["ollama"].Accepted);

        // By text, once stored: the store holds the masked text, the client sends what it was shown.
        var masking = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(TempDir.Create()), new StorageOptions(), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<SqliteTrainingStore>.Instance, masker);
        await masking.MigrateAsync(CancellationToken.None);
        var context = Some.Context();
        await masking.WriteAsync([TrainingSample.From(context, context.Hash(), [new Suggestion("uno", "diagnostic", 0.9), new Suggestion("Escriba a soporte@example.com", "action", 0.8)],
            "llama3.2", EngineNames.Ollama, 1, At)], null, CancellationToken.None);
        Assert.Equal("Escriba a <email>", (await masking.FindSampleAsync(context.Hash(), CancellationToken.None))!.Suggestions[1].Text);
        var byText = await new FeedbackService(masking, cache, masker, TimeProvider.System)
            .RecordAsync(new FeedbackTarget.ByText(context.Hash(), "Escriba a soporte@example.com"), FeedbackActions.Dismissed, null, "luis", CancellationToken.None);
        Assert.Equal(1, byText.Stored!.Position);
    }
}
