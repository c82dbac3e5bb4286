using CommentFlow.Dataset;
using CommentFlow.OwnModel;
using System.Diagnostics;

namespace CommentFlow.Training;

/// <summary>What <c>commentflow evaluate</c> reports: the classifier against the majority class, and retrieval against a random answer.</summary>
internal sealed record EvaluationReport
{
    public required string Label { get; init; }
    public required int NTrain { get; init; }
    public required int NTest { get; init; }
    public required int Skipped { get; init; }
    public required string Trainer { get; init; }
    public required IReadOnlyDictionary<string, double> ValidationMacroF1 { get; init; }
    public required double Accuracy { get; init; }
    public required double MacroF1 { get; init; }
    public required double Precision { get; init; }
    public required double Recall { get; init; }
    public required double FitSeconds { get; init; }
    public required double SelectionSeconds { get; init; }
    public required double PredictMicrosecondsPerTicket { get; init; }
    public required BaselineReport Majority { get; init; }
    public required IReadOnlyList<ClassMetrics> PerClass { get; init; }
    public required IReadOnlyList<string> Labels { get; init; }
    public required int[][] Confusion { get; init; }
    /// <summary>Null when only the classifier was asked for (<c>evaluate --classifier-only</c>).</summary>
    public required RetrievalReport? Retrieval { get; init; }
}

internal sealed record BaselineReport(string Label, double Accuracy, double MacroF1);

/// <param name="Grounding">Whether the suggestions name this ticket's products or another's, beside the nearest and the real answers.</param>
/// <param name="OwnModelWider">The same by the wider yardstick (<see cref="Evaluation.WiderTicketShare"/> of each language's tickets).</param>
/// <param name="RealAnswerWider">The agents' real answers by the wider yardstick: what its figures are next to.</param>
internal sealed record RetrievalReport(int NQueries, double RougeL, double TokenF1, double NearestRougeL,
    double RandomSameLanguageRougeL, double RandomSameLanguageTokenF1, int Neighbours, double Temperature,
    double TuningSeconds, double BuildSeconds, double QueryMillisecondsMean, GroundingReport Grounding,
    GroundingFigures OwnModelWider, GroundingFigures NearestAnswerWider, GroundingFigures RealAnswerWider);

internal static class Evaluation
{
    /// <summary>The most examples trainer selection cross-validates on.</summary>
    public const int SelectionCap = 20_000;

    /// <summary>
    /// Picks the trainer by stratified 3-fold cross-validation on the training side (the test side is never looked at;
    /// a single validation fold flips between trainers on differences that are only noise). One averaged model per fold
    /// yields all three candidates: each member alone, and their average. Returns the best and every candidate's mean macro-F1.
    /// Above <see cref="SelectionCap"/> examples the choice is made on a stratified sample of that many: six fits on the
    /// whole set cost six times the final fit (at 100k tickets they held 5 GB and ran past 12 minutes), and the choice
    /// between two linear models on the same features does not need them.
    /// </summary>
    public static (ClassifierTrainer Best, Dictionary<string, double> ValidationMacroF1) SelectTrainer(IReadOnlyList<(string Text, string Label)> train, int seed,
        CancellationToken cancellationToken = default)
    {
        const int folds = 3;
        train = SelectionSample(train, seed);
        var fold = StratifiedSplit.Folds(train, t => t.Label, folds, seed);
        ClassifierTrainer[] members = [ClassifierTrainer.SdcaMaximumEntropy, ClassifierTrainer.LbfgsMaximumEntropy];
        var sums = Enum.GetValues<ClassifierTrainer>().ToDictionary(t => t, _ => 0.0);
        for (var f = 0; f < folds; f++)
        {
            var fit = train.Where((_, i) => fold[i] != f).ToList();
            var validation = train.Where((_, i) => fold[i] == f).ToList();
            var expected = validation.Select(t => t.Label).ToList();
            var candidate = TextClassifier.Train(fit, ClassifierTrainer.Averaged, seed, cancellationToken, servedScorer: false);
            var texts = validation.Select(t => t.Text).ToList();
            var byMember = candidate.PredictByMember(texts);
            for (var m = 0; m < members.Length; m++)
            {
                sums[members[m]] += ClassificationMetrics.Compute(expected, byMember[m]).MacroF1;
            }
            sums[ClassifierTrainer.Averaged] += ClassificationMetrics.Compute(expected, candidate.Predict(texts)).MacroF1;
        }
        return (sums.MaxBy(kv => kv.Value).Key, sums.ToDictionary(kv => kv.Key.ToString(), kv => Math.Round(kv.Value / folds, 4)));
    }

    /// <summary>What trainer selection cross-validates on: all of <paramref name="train"/> up to <see cref="SelectionCap"/>, else a stratified sample of about that many.</summary>
    internal static IReadOnlyList<(string Text, string Label)> SelectionSample(IReadOnlyList<(string Text, string Label)> train, int seed) =>
        train.Count <= SelectionCap ? train : StratifiedSplit.Split(train, t => t.Label, (double)SelectionCap / train.Count, seed).HeldOut;

    /// <summary>Trains on <paramref name="train"/> only, then measures on <paramref name="test"/>.</summary>
    public static EvaluationReport Run(string label, IReadOnlyList<LabelledTicket> train, IReadOnlyList<LabelledTicket> test, int skipped, int seed = 42, bool retrieval = true)
    {
        var clock = Stopwatch.StartNew();
        var (best, validationF1) = SelectTrainer(train.Select(t => (t.Text, t.Label)).ToList(), seed);
        var selectionSeconds = clock.Elapsed.TotalSeconds;

        clock.Restart();
        var model = TextClassifier.Train(train.Select(t => (t.Text, t.Label)).ToList(), best, seed);
        var fitSeconds = clock.Elapsed.TotalSeconds;

        clock.Restart();
        var predictions = model.Predict(test.Select(t => t.Text));
        var predictMicros = clock.Elapsed.TotalMicroseconds / Math.Max(1, test.Count);
        var truth = test.Select(t => t.Label).ToList();
        var metrics = ClassificationMetrics.Compute(truth, predictions);

        var majorityLabel = train.GroupBy(t => t.Label).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
        var majority = ClassificationMetrics.Compute(truth, truth.Select(_ => majorityLabel).ToList());

        return new EvaluationReport
        {
            Label = label,
            NTrain = train.Count,
            NTest = test.Count,
            Skipped = skipped,
            Trainer = best.ToString(),
            ValidationMacroF1 = validationF1,
            Accuracy = metrics.Accuracy,
            MacroF1 = metrics.MacroF1,
            Precision = metrics.WeightedPrecision,
            Recall = metrics.WeightedRecall,
            FitSeconds = fitSeconds,
            SelectionSeconds = selectionSeconds,
            PredictMicrosecondsPerTicket = predictMicros,
            Majority = new BaselineReport(majorityLabel, majority.Accuracy, majority.MacroF1),
            PerClass = metrics.PerClass,
            Labels = metrics.Labels,
            Confusion = metrics.Confusion,
            Retrieval = retrieval ? Retrieval(train, test, seed) : null,
        };
    }

    public static RetrievalReport Retrieval(IReadOnlyList<LabelledTicket> train, IReadOnlyList<LabelledTicket> test, int seed)
    {
        var clock = Stopwatch.StartNew();
        var settings = TuneRetrieval(train, seed).Settings;
        var tuning = clock.Elapsed.TotalSeconds;

        clock.Restart();
        var index = RetrievalIndex.Build(Answered(train).Select(Item).ToList());
        var build = clock.Elapsed.TotalSeconds;

        var random = new Random(seed);
        double rouge = 0, f1 = 0, nearest = 0, randomRouge = 0, randomF1 = 0;
        var queries = Answered(test).ToList();
        var tops = new List<string>(queries.Count);
        clock.Restart();
        foreach (var q in queries)
        {
            var top = TopSuggestion(index, settings, q);
            tops.Add(top);
            rouge += TextMetrics.RougeL(top, q.Answer);
            f1 += TextMetrics.TokenF1(top, q.Answer);
        }
        var queryMs = clock.Elapsed.TotalMilliseconds / Math.Max(1, queries.Count);

        var grounding = Grounding.Learn(Answered(train).Select(t => (t.Text, t.Answer)));
        GroundingScores own = new(grounding), nearestScores = new(grounding), real = new(grounding);
        var wider = Grounding.Learn(Answered(train).Select(t => (t.Text, t.Answer, t.Language)), WiderTicketShare);
        GroundingScores ownWider = new(wider), nearestWider = new(wider), realWider = new(wider);
        for (var i = 0; i < queries.Count; i++)
        {
            var q = queries[i];
            var near = index.Nearest(q.Text, q.Language, 1) is [var first, ..] ? index.AnswerOf(first.Doc) : "";
            nearest += TextMetrics.RougeL(near, q.Answer);
            // LabelledTicket.Text is subject + " " + body: the ticket text the Python measure reads.
            own.Add(tops[i], q.Text, q.Answer);
            nearestScores.Add(near, q.Text, q.Answer);
            real.Add(q.Answer, q.Text, reference: null);
            ownWider.Add(tops[i], q.Text, reference: null);
            nearestWider.Add(near, q.Text, reference: null);
            realWider.Add(q.Answer, q.Text, reference: null);
            var other = index.RandomAnswer(q.Language, random);
            randomRouge += TextMetrics.RougeL(other, q.Answer);
            randomF1 += TextMetrics.TokenF1(other, q.Answer);
        }
        var n = Math.Max(1, queries.Count);
        return new RetrievalReport(queries.Count, rouge / n, f1 / n, nearest / n, randomRouge / n, randomF1 / n,
            settings.Neighbours, settings.Temperature, tuning, build, queryMs,
            new GroundingReport(own.Summary(), nearestScores.Summary(), real.Summary()), ownWider.Summary(), nearestWider.Summary(), realWider.Summary());
    }

    /// <summary>
    /// The served reply cross-validated on the train side only (the test side is never read): the figures every composer
    /// setting is chosen by. Each fold's index and grounding yardstick are learnt on the other folds.
    /// </summary>
    public static CrossValidationReport CrossValidate(IReadOnlyList<LabelledTicket> train, int folds, int seed)
    {
        var answered = Answered(train).ToList();
        var random = new Random(seed);
        var fold = answered.Select(_ => random.Next(folds)).ToArray();
        GroundingScores? own = null, nearest = null, real = null, ownWider = null, nearestWider = null, realWider = null;
        var lengths = new List<int>();
        for (var f = 0; f < folds; f++)
        {
            var fit = answered.Where((_, i) => fold[i] != f).ToList();
            var index = RetrievalIndex.Build(fit.Select(Item).ToList());
            var grounding = Grounding.Learn(fit.Select(t => (t.Text, t.Answer)));
            (own ??= new(grounding)).Against = grounding;
            (nearest ??= new(grounding)).Against = grounding;
            (real ??= new(grounding)).Against = grounding;
            var wider = Grounding.Learn(fit.Select(t => (t.Text, t.Answer, t.Language)), WiderTicketShare);
            (ownWider ??= new(wider)).Against = wider;
            (nearestWider ??= new(wider)).Against = wider;
            (realWider ??= new(wider)).Against = wider;
            foreach (var q in answered.Where((_, i) => fold[i] == f))
            {
                var near = index.Nearest(q.Text, q.Language, RetrievalSettings.Default.Neighbours);
                var top = OwnSuggestions.From(index, near, Query(index, q), 1) is [var first, ..] ? first.Text : "";
                own.Add(top, q.Text, q.Answer);
                nearest.Add(near.Count > 0 ? index.AnswerOf(near[0].Doc) : "", q.Text, q.Answer);
                real.Add(q.Answer, q.Text, reference: null);
                ownWider.Add(top, q.Text, reference: null);
                nearestWider.Add(near.Count > 0 ? index.AnswerOf(near[0].Doc) : "", q.Text, reference: null);
                realWider.Add(q.Answer, q.Text, reference: null);
                lengths.Add(TextMetrics.Tokens(top).Length);
            }
        }
        lengths.Sort();
        return new CrossValidationReport(folds, lengths.Count, lengths.Count == 0 ? 0 : lengths[lengths.Count / 2],
            new GroundingReport(own!.Summary(), nearest!.Summary(), real!.Summary()), ownWider!.Summary(), nearestWider!.Summary(), realWider!.Summary());
    }

    /// <summary>
    /// The wider yardstick cross-validation also judges by: tokens echoed as the yardstick's are, in up to 15 % of the
    /// tickets of each language (a product the data repeats, one router in a tenth of the tickets, is still another
    /// customer's product).
    /// </summary>
    public const double WiderTicketShare = 0.15;

    /// <summary>The own model's top suggestion for a test ticket, by the path the engine serves.</summary>
    private static string TopSuggestion(RetrievalIndex index, RetrievalSettings settings, LabelledTicket q)
    {
        var near = index.Nearest(q.Text, q.Language, Math.Max(settings.Neighbours, ReplyComposer.ReferenceNeighbours));
        return OwnSuggestions.From(index, near, Query(index, q), 1) is [var top, ..] ? top.Text : "";
    }

    /// <summary>
    /// Chooses the number of neighbours and the temperature by k-fold cross-validation on the training side (the
    /// test side is never looked at). One neighbour list and agreement matrix per query serve every setting; the number of
    /// neighbours bounds the alternatives the engine offers. Also returns, on the same folds, what the served reply scored:
    /// each held-out ticket's fit score (similarity × fit, see <see cref="OwnSuggestion"/>) and the ROUGE-L of the composed
    /// reply, from which the engine's confidence is calibrated.
    /// </summary>
    internal static RetrievalTuning TuneRetrieval(IReadOnlyList<LabelledTicket> train, int seed, int folds = 3,
        CancellationToken cancellationToken = default)
    {
        int[] neighbours = [10, 20, 40];
        double[] temperatures = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 1];
        var answered = Answered(train).ToList();
        if (answered.Count < folds * 2)
        {
            return new RetrievalTuning(RetrievalSettings.Default, [], 0);
        }
        var random = new Random(seed);
        var fold = answered.Select(_ => random.Next(folds)).ToArray();
        var observations = new List<(double Similarity, double RougeL)>[neighbours.Length, temperatures.Length];
        for (var a = 0; a < neighbours.Length; a++)
        {
            for (var b = 0; b < temperatures.Length; b++)
            {
                observations[a, b] = [];
            }
        }
        var composed = new List<(double Similarity, double RougeL)>();
        for (var f = 0; f < folds; f++)
        {
            var index = RetrievalIndex.Build(answered.Where((_, i) => fold[i] != f).Select(Item).ToList());
            var heldOut = 0;
            foreach (var q in answered.Where((_, i) => fold[i] == f))
            {
                cancellationToken.ThrowIfCancellationRequested();
                // The confidence is calibrated on what is served, the composed reply, on up to CalibrationQueries held-out tickets.
                if (heldOut++ < CalibrationQueries / folds)
                {
                    var near = index.Nearest(q.Text, q.Language, ReplyComposer.ReferenceNeighbours);
                    var top = near.Count == 0 ? null : OwnSuggestions.From(index, near, Query(index, q), 1).FirstOrDefault();
                    composed.Add(top is null ? (0, 0) : (top.Score, TextMetrics.RougeL(top.Text, q.Answer)));
                }
                var nearest = index.Nearest(q.Text, q.Language, neighbours.Max());
                var agreement = index.AgreementMatrix(nearest);
                var reference = TextMetrics.Tokens(q.Answer);
                for (var a = 0; a < neighbours.Length; a++)
                {
                    for (var b = 0; b < temperatures.Length; b++)
                    {
                        var top = index.Rank(nearest, new RetrievalSettings(neighbours[a], temperatures[b]), agreement).FirstOrDefault();
                        observations[a, b].Add(top is null ? (0, 0) : (top.Similarity, TextMetrics.RougeL(TextMetrics.Tokens(top.Answer), reference)));
                    }
                }
            }
        }
        var best = (A: 0, B: 0);
        for (var a = 0; a < neighbours.Length; a++)
        {
            for (var b = 0; b < temperatures.Length; b++)
            {
                if (observations[a, b].Sum(o => o.RougeL) > observations[best.A, best.B].Sum(o => o.RougeL))
                {
                    best = (a, b);
                }
            }
        }
        return new RetrievalTuning(new RetrievalSettings(neighbours[best.A], temperatures[best.B]), composed, composed.Average(o => o.RougeL));
    }

    /// <summary>Held-out tickets the composed replies are calibrated on: enough for ten bins, bounded at any store size.</summary>
    public const int CalibrationQueries = 3_000;

    /// <summary>A ticket's words for the composer: the subject, when known, is where its key phrase is looked for first.</summary>
    internal static QueryWords Query(RetrievalIndex index, LabelledTicket q)
    {
        var body = q.Subject.Length > 0 && q.Text.StartsWith(q.Subject, StringComparison.Ordinal) ? q.Text[q.Subject.Length..].TrimStart() : q.Text;
        return new QueryWords(index, body.Length < q.Text.Length ? q.Subject : "", body);
    }

    internal static RetrievalItem Item(LabelledTicket t) => new(t.Text, t.Answer, t.Label, t.Language);

    private static IEnumerable<LabelledTicket> Answered(IEnumerable<LabelledTicket> tickets) => tickets.Where(t => !string.IsNullOrWhiteSpace(t.Answer));
}

/// <param name="MedianWords">The composed reply's length in words at the median: a short reply can score well and say little.</param>
/// <param name="OwnModelWider">Foreign, grounded and mentions by the wider yardstick (<see cref="Evaluation.WiderTicketShare"/>).</param>
internal sealed record CrossValidationReport(int Folds, int NQueries, int MedianWords, GroundingReport Grounding,
    GroundingFigures OwnModelWider, GroundingFigures NearestAnswerWider, GroundingFigures RealAnswerWider);

internal sealed record RetrievalTuning(RetrievalSettings Settings, IReadOnlyList<(double Similarity, double RougeL)> Observations, double MeanRougeL);
