using System.Text;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Engines.Local;
using CommentFlow.OwnModel;
using CommentFlow.Storage;

namespace CommentFlow.Training;

/// <summary>
/// <c>commentflow evaluate</c> on the store: the own model's recipe trained on the saved split's train side only, measured on
/// its test side — retrieval against a random same-language comment, the type classifier against the majority class and
/// the rules engine, agreement with Ollama on the samples Ollama produced, agreement with what agents accepted or edited,
/// and what each confidence threshold would mean.
/// </summary>
internal static class StoreEvaluation
{
    /// <summary>The roadmap's goal: the own model agrees with Ollama's types on more than 85 % of tickets.</summary>
    public const double OllamaAgreementGoal = 0.85;

    public static async Task<StoreEvaluationReport> RunAsync(ITrainingStore store, CleaningOptions cleaning, TrainingOptions options,
        RulesEngine rules, string modelsDir, CancellationToken cancellationToken)
    {
        var cleaner = new DatasetCleaner(cleaning, await AgentReplyIndex.ReadAsync(store, cancellationToken));
        var contexts = new List<(TrainingSample Sample, IReadOnlyList<Suggestion> Kept, string Text, string Language)>();
        await foreach (var sample in store.ReadAllAsync(cancellationToken))
        {
            var kept = cleaner.Clean(sample);
            if (kept.Count > 0)
            {
                var text = TicketText.Of(sample.Context);
                contexts.Add((sample, kept, text, sample.Context.Language ?? LanguageDetector.Detect(text)));
            }
        }
        if (contexts.Count < options.MinSamples)
        {
            throw new InvalidOperationException($"Only {contexts.Count} usable samples; evaluation needs at least {options.MinSamples} (Training:MinSamples).");
        }

        var splitPath = Path.Combine(modelsDir, TicketSplit.FileName);
        var split = TicketSplit.Load(splitPath);
        if (split is null)
        {
            split = TicketSplit.Create(contexts.Select(c => (c.Sample.ContextHash, Label(c.Kept))), options.Seed);
            await split.SaveAsync(splitPath);
        }
        var train = contexts.Where(c => !split.IsTest(c.Sample.ContextHash)).ToList();
        var test = contexts.Where(c => split.IsTest(c.Sample.ContextHash)).ToList();

        // Retrieval, tuned and calibrated on the train side as training does.
        var trainItems = train.SelectMany(c => c.Kept.Select(k => new LabelledTicket(0, c.Text, SuggestionTypes.Normalize(k.Type) ?? "", k.Text, c.Language))).ToList();
        var tuning = Evaluation.TuneRetrieval(trainItems, options.Seed);
        var calibration = ModelTrainer.Calibrate(tuning.Observations);
        var index = RetrievalIndex.Build(trainItems.Select(Evaluation.Item).ToList());
        // What the engine serves: the same path, so the figures are the served model's.
        OwnSuggestion? Top(TicketContext context, string language) => OwnSuggestions.For(index, tuning.Settings, context, language, 1) is [var first, ..] ? first : null;

        var random = new Random(options.Seed);
        var answered = new List<(double Confidence, double RougeL)>();
        double rouge = 0, f1 = 0, randomRouge = 0, randomF1 = 0;
        // Grounding learns from every (context, kept comment) pair the index holds; the real answer is the stored comment.
        var grounding = Grounding.Learn(trainItems.Select(t => (t.Text, t.Answer)));
        GroundingScores own = new(grounding), nearest = new(grounding), real = new(grounding);
        foreach (var c in test)
        {
            var reference = c.Kept[0].Text;
            var top = Top(c.Sample.Context, c.Language);
            own.Add(top?.Text ?? "", c.Text, reference);
            nearest.Add(index.Nearest(c.Text, c.Language, 1) is [var first, ..] ? index.AnswerOf(first.Doc) : "", c.Text, reference);
            real.Add(reference, c.Text, reference: null);
            var r = top is null ? 0 : TextMetrics.RougeL(top.Text, reference);
            rouge += r;
            f1 += top is null ? 0 : TextMetrics.TokenF1(top.Text, reference);
            answered.Add((top is null ? 0 : calibration.Confidence(top.Score), r));
            var other = index.RandomAnswer(c.Language, random);
            randomRouge += TextMetrics.RougeL(other, reference);
            randomF1 += TextMetrics.TokenF1(other, reference);
        }
        var n = Math.Max(1, test.Count);
        var thresholds = Enumerable.Range(0, 10).Select(i => i / 10.0).Select(t =>
        {
            var covered = answered.Where(a => a.Confidence >= t).ToList();
            return new ThresholdRow(t, Math.Round((double)covered.Count / n, 4), covered.Count == 0 ? 0 : Math.Round(covered.Average(a => a.RougeL), 4));
        }).ToList();
        // The lowest threshold whose answered tickets reach the "good" ROUGE-L on average: the own model answers as often as it can while it is right.
        var suggested = thresholds.FirstOrDefault(t => t.Coverage > 0 && t.RougeL >= ModelTrainer.GoodRougeL)?.Threshold ?? 1.0;

        // The type classifier, when both sides have typed comments.
        TypeReport? types = null;
        var typedTrain = train.SelectMany(c => c.Kept.Take(1).Where(k => SuggestionTypes.Normalize(k.Type) is not null).Select(k => (Text: TicketText.ForClassifier(c.Sample.Context), Type: SuggestionTypes.Normalize(k.Type)!))).ToList();
        var typedTest = test.Where(c => SuggestionTypes.Normalize(c.Kept[0].Type) is not null).ToList();
        TextClassifier? classifier = null;
        if (typedTrain.Select(t => t.Type).Distinct().Count() >= 2 && typedTest.Count > 0)
        {
            // The trainer as training picks it; with under three examples of a class there is nothing to cross-validate.
            var trainer = typedTrain.GroupBy(t => t.Type).All(g => g.Count() >= 3)
                ? Evaluation.SelectTrainer(typedTrain, options.Seed).Best
                : ClassifierTrainer.SdcaMaximumEntropy;
            classifier = TextClassifier.Train(typedTrain, trainer, options.Seed);
            var truth = typedTest.Select(c => SuggestionTypes.Normalize(c.Kept[0].Type)!).ToList();
            var metrics = ClassificationMetrics.Compute(truth, classifier.Predict(typedTest.Select(c => TicketText.ForClassifier(c.Sample.Context))));
            var majorityLabel = typedTrain.GroupBy(t => t.Type).MaxBy(g => g.Count())!.Key;
            var majority = ClassificationMetrics.Compute(truth, truth.Select(_ => majorityLabel).ToList());
            var byRules = ClassificationMetrics.Compute(truth, typedTest.Select(c => rules.Suggest(c.Sample.Context, 1).Suggestions[0].Type).ToList());
            types = new TypeReport(typedTrain.Count, typedTest.Count, metrics.Accuracy, metrics.MacroF1, metrics.PerClass, metrics.Labels, metrics.Confusion,
                majority.Accuracy, majority.MacroF1, byRules.Accuracy, byRules.MacroF1);
        }

        // Agreement with Ollama on the test samples it answered: a live label that needs no annotator.
        OllamaAgreement? agreement = null;
        var byOllama = test.Where(c => c.Sample.Engine == EngineNames.Ollama).ToList();
        if (byOllama.Count > 0)
        {
            var predicted = classifier?.Predict(byOllama.Select(c => TicketText.ForClassifier(c.Sample.Context)))
                ?? byOllama.Select(c => Top(c.Sample.Context, c.Language)?.Type ?? "").ToList();
            var agree = byOllama.Select((c, i) => SuggestionTypes.Normalize(c.Sample.Suggestions[0].Type) == predicted[i]).Count(x => x);
            var accuracy = (double)agree / byOllama.Count;
            agreement = new OllamaAgreement(byOllama.Count, accuracy, OllamaAgreementGoal, accuracy > OllamaAgreementGoal);
        }

        // Against the agents: on held-out contexts where an agent accepted or edited a suggestion, is the own model's top
        // answer close to what they kept (ROUGE-L ≥ GoodRougeL), and of a type they kept?
        AgentAgreement? agents = null;
        var judged = test.Select(c => (Context: c, Kept: KeptByAgents(c.Sample))).Where(j => j.Kept.Count > 0).ToList();
        if (judged.Count > 0)
        {
            var tops = judged.Select(j => Top(j.Context.Sample.Context, j.Context.Language)).ToList();
            var predictedTypes = classifier?.Predict(judged.Select(j => TicketText.ForClassifier(j.Context.Sample.Context))) ?? tops.Select(t => t?.Type ?? "").ToList();
            var best = judged.Select((j, i) => tops[i] is { } top ? j.Kept.Max(k => TextMetrics.RougeL(top.Text, k.Text)) : 0).ToList();
            var typeHits = judged.Select((j, i) => j.Kept.Any(k => SuggestionTypes.Normalize(k.Type) == predictedTypes[i])).Count(x => x);
            agents = new AgentAgreement(judged.Count, best.Count(r => r >= ModelTrainer.GoodRougeL) / (double)judged.Count, best.Average(),
                typeHits / (double)judged.Count);
        }

        return new StoreEvaluationReport
        {
            Train = train.Count,
            Test = test.Count,
            SplitPath = splitPath,
            Retrieval = new StoreRetrievalReport(test.Count, rouge / n, f1 / n, randomRouge / n, randomF1 / n, tuning.Settings.Neighbours, tuning.Settings.Temperature,
                new GroundingReport(own.Summary(), nearest.Summary(), real.Summary())),
            Types = types,
            Ollama = agreement,
            Agents = agents,
            Thresholds = thresholds,
            SuggestedThreshold = suggested,
        };
    }

    /// <summary>The suggestions an agent accepted, or edited (with the agent's text), by their latest feedback, and the replies agents wrote.</summary>
    private static List<Suggestion> KeptByAgents(TrainingSample sample)
    {
        if (sample.Feedback.Count == 0)
        {
            return [];
        }
        var latest = sample.LatestFeedback();
        var reviewed = sample.Reviewed();
        // Past the suggestions come the agents' own replies (Written), kept by definition.
        return reviewed.Where((_, i) => i >= latest.Length || (latest[i] is { } f && FeedbackActions.IsKept(f.Action))).ToList();
    }

    /// <summary>What a context is stratified by: the type of its first kept suggestion.</summary>
    private static string Label(IReadOnlyList<Suggestion> kept) => SuggestionTypes.Normalize(kept[0].Type) ?? "unknown";

    /// <summary>The grounding figures as a Markdown table; a dash where a figure was not measured.</summary>
    private static string GroundingMarkdown(GroundingReport g)
    {
        static string F(double? v) => v is { } x ? $"{x:0.0000}" : "–"; // the figures are rounded to 4 places: shown as they are
        var md = new StringBuilder();
        md.AppendLine("| | ROUGE-L F1 | foreign ↓ | grounded ↑ | mentions ↑ |").AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var (name, f) in (ReadOnlySpan<(string, GroundingFigures)>)[("own model", g.OwnModel), ("nearest ticket's answer", g.NearestAnswer), ("real answer", g.RealAnswer)])
        {
            md.AppendLine($"| {name} | {F(f.RougeL)} | {F(f.Foreign)} | {F(f.Grounded)} | {F(f.Mentions)} |");
        }
        md.AppendLine().AppendLine("foreign: names a ticket-specific token (product, model, place learnt from the train side) this ticket lacks; " +
            "grounded: of those it names, the share this ticket has (over the suggestions that name any); mentions: names at least one this ticket has.");
        return md.ToString();
    }

    public static string Markdown(StoreEvaluationReport r)
    {
        var md = new StringBuilder();
        md.AppendLine("# CommentFlow own model: evaluation").AppendLine();
        md.AppendLine($"Trained on {r.Train:N0} contexts, measured on {r.Test:N0} held-out contexts (split by context hash: `{r.SplitPath}`).").AppendLine();
        md.AppendLine("## Retrieval: the top suggestion against the comment the agent (or engine) really wrote").AppendLine();
        md.AppendLine("| | ROUGE-L F1 | token F1 |").AppendLine("| --- | ---: | ---: |");
        md.AppendLine($"| own model (k = {r.Retrieval.Neighbours}, T = {r.Retrieval.Temperature}) | {r.Retrieval.RougeL:0.000} | {r.Retrieval.TokenF1:0.000} |");
        md.AppendLine($"| random comment, same language | {r.Retrieval.RandomSameLanguageRougeL:0.000} | {r.Retrieval.RandomSameLanguageTokenF1:0.000} |").AppendLine();
        md.AppendLine("## Grounding: does the suggestion name this ticket's products, or another ticket's?").AppendLine();
        md.Append(GroundingMarkdown(r.Retrieval.Grounding)).AppendLine();
        md.AppendLine("## Confidence thresholds").AppendLine();
        md.AppendLine("| threshold | share answered by the own model | their mean ROUGE-L |").AppendLine("| ---: | ---: | ---: |");
        foreach (var t in r.Thresholds)
        {
            md.AppendLine($"| {t.Threshold:0.0} | {t.Coverage:P0} | {t.RougeL:0.000} |");
        }
        md.AppendLine().AppendLine($"Suggested `Local:Threshold`: **{r.SuggestedThreshold:0.0}** (the lowest at which the answered tickets reach ROUGE-L {ModelTrainer.GoodRougeL} on average).").AppendLine();
        md.AppendLine("## Suggestion type").AppendLine();
        if (r.Types is { } t2)
        {
            md.AppendLine("| | accuracy | macro-F1 |").AppendLine("| --- | ---: | ---: |");
            md.AppendLine($"| own classifier | {t2.Accuracy:0.000} | {t2.MacroF1:0.000} |");
            md.AppendLine($"| majority class | {t2.MajorityAccuracy:0.000} | {t2.MajorityMacroF1:0.000} |");
            md.AppendLine($"| rules engine | {t2.RulesAccuracy:0.000} | {t2.RulesMacroF1:0.000} |").AppendLine();
        }
        else
        {
            md.AppendLine("Not measured: the store has too few typed comments on one side of the split (history replies carry no type).").AppendLine();
        }
        md.AppendLine("## Agreement with Ollama").AppendLine();
        md.AppendLine(r.Ollama is { } o
            ? $"On {o.Samples:N0} held-out tickets Ollama answered, the own model gave the same type {o.TypeAccuracy:P1} of the time. The goal is above {o.Goal:P0}: **{(o.MeetsGoal ? "met" : "not met")}**."
            : "Not measured: no held-out sample was answered by Ollama. The goal (above 85 % agreement) cannot be judged yet.");
        md.AppendLine().AppendLine("## Against what agents accepted or corrected").AppendLine();
        md.AppendLine(r.Agents is { } a
            ? $"On {a.Contexts:N0} held-out tickets where an agent accepted or edited a suggestion, the own model's top answer was close to what they kept (ROUGE-L ≥ {ModelTrainer.GoodRougeL}) {a.Accuracy:P1} of the time (mean best ROUGE-L {a.RougeL:0.000}), and of a type they kept {a.TypeAccuracy:P1} of the time."
            : "Not measured: no held-out ticket has accepted or edited feedback yet (POST /api/ml/comments/feedback).");
        return md.ToString();
    }
}

internal static class StoreEvaluationFiles
{
    public const string Json = "evaluation.json";
    public const string Markdown = "evaluation.md";
}

internal sealed record StoreEvaluationReport
{
    public required int Train { get; init; }
    public required int Test { get; init; }
    public required string SplitPath { get; init; }
    public required StoreRetrievalReport Retrieval { get; init; }
    public TypeReport? Types { get; init; }
    public OllamaAgreement? Ollama { get; init; }
    public AgentAgreement? Agents { get; init; }
    public required IReadOnlyList<ThresholdRow> Thresholds { get; init; }
    public required double SuggestedThreshold { get; init; }
}

internal sealed record StoreRetrievalReport(int NQueries, double RougeL, double TokenF1, double RandomSameLanguageRougeL, double RandomSameLanguageTokenF1, int Neighbours, double Temperature,
    GroundingReport Grounding);

internal sealed record TypeReport(int NTrain, int NTest, double Accuracy, double MacroF1, IReadOnlyList<ClassMetrics> PerClass, IReadOnlyList<string> Labels,
    int[][] Confusion, double MajorityAccuracy, double MajorityMacroF1, double RulesAccuracy, double RulesMacroF1);

internal sealed record OllamaAgreement(int Samples, double TypeAccuracy, double Goal, bool MeetsGoal);

/// <param name="Accuracy">Share of the tickets whose top answer reached ROUGE-L <see cref="ModelTrainer.GoodRougeL"/> against a comment an agent kept.</param>
internal sealed record AgentAgreement(int Contexts, double Accuracy, double RougeL, double TypeAccuracy);

internal sealed record ThresholdRow(double Threshold, double Coverage, double RougeL);
