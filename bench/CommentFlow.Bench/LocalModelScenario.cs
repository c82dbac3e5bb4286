using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using CommentFlow.Configuration;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Engines.Local;
using CommentFlow.OwnModel;
using CommentFlow.Training;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CommentFlow.Bench;

/// <summary>
/// The own model's served path at N indexed tickets of real length (<see cref="RealisticTickets"/>): a model trained the
/// way the server trains one (<see cref="ModelTrainer"/>: retrieval settings and calibration tuned, the type classifier
/// fitted, on the shared tickets not held out), its index then grown to N tickets, loaded by <see cref="LocalModelHost"/>
/// as the server loads it, and <see cref="LocalEngine.Suggest"/> timed on the held-out tickets, one request at a time,
/// warm. The same requests then time each stage alone, so a regression can be placed: the nearest tickets
/// (<see cref="RetrievalIndex.Nearest(string, string, int)"/>: featurisation and search), the composition and the adapted
/// alternatives (<see cref="OwnSuggestions.From"/>), the classifier's <see cref="TextClassifier.PredictOne"/> (against ML.NET's prediction engine on the same texts). The reference, measured in the same run: an exact scan
/// of every ticket of the language, for the search's recall and time.
/// </summary>
internal static class LocalModelScenario
{
    private const int Suggestions = 5;

    public static async Task<List<ResultRow>> RunAsync(BenchEnvironment env, int samples, Dictionary<string, object> details)
    {
        var corpus = RealisticTickets.Load(env.SharedData);
        var dataDir = env.NewDir("local");
        var host = new LocalModelHost(new ModelRegistry(new CommentFlowOptions { DataDir = dataDir }.ResolveModelsDir()), Options.Create(new LocalOptions()),
            TimeProvider.System, NullLogger<LocalModelHost>.Instance);

        // Trained as the server trains: the tickets with their answers as kept comments, typed as an agent's would be.
        var trainedOn = env.Quick ? corpus.Pool.Take(600).ToList() : corpus.Pool;
        var clock = Stopwatch.StartNew();
        var (_, manifest) = await ModelTrainer.TrainAsync(Samples(trainedOn), null, new TrainingRequest(Promote: true, Force: true), new TrainingOptions(),
            host.Registry, TimeProvider.System, null, CancellationToken.None);
        var trainSeconds = clock.Elapsed.TotalSeconds;
        var version = manifest ?? throw new InvalidOperationException("training refused the shared tickets");

        // The index grown to N tickets: the version's items file rewritten, as a store of N samples would have written it.
        var directory = host.Registry.PathOf(version.Version);
        var items = corpus.Items(samples);
        await WriteItemsAsync(Path.Combine(directory, ModelFiles.Items), items);
        await using (var stream = File.Create(Path.Combine(directory, ModelFiles.Manifest)))
        {
            await JsonSerializer.SerializeAsync(stream, version with { RetrievalItems = items.Count }, RegistryJsonContext.Default.ModelManifest);
        }
        var averageLength = items.Average(i => i.Text.Length);
        items = null;

        // Memory per indexed ticket: the heap's growth over the load, less the classifier's (loaded alone first).
        var classifierBytes = Growth(() => TextClassifier.Load(Path.Combine(directory, ModelFiles.Classifier)));
        clock.Restart();
        var loaded = Growth(host.Refresh);
        var loadSeconds = clock.Elapsed.TotalSeconds;
        var model = host.Current ?? throw new InvalidOperationException("the own model did not load");
        var bytesPerTicket = (loaded - classifierBytes) / samples;

        var engine = new LocalEngine(host);
        var requests = corpus.Held.Select(t => t.Context).ToList();
        var texts = requests.Select(TicketText.Of).ToList();
        var languages = texts.Select(LanguageDetector.Detect).ToList();

        // Warm: tiered JIT keeps optimising the hot loops for several seconds; a service is warm after its first minutes.
        var first = Measure(requests, c => engine.Suggest(c, Suggestions));
        var warming = Stopwatch.StartNew();
        while (warming.Elapsed < TimeSpan.FromSeconds(env.Quick ? 2 : 15))
        {
            Measure(requests, c => engine.Suggest(c, Suggestions));
        }
        var answeredByModel = requests.Count(c => engine.Suggest(c, Suggestions) is { Succeeded: true, Engine: EngineNames.Local });
        var (allocated, collections, paused) = (GC.GetAllocatedBytesForCurrentThread(), GC.CollectionCount(0), GC.GetTotalPauseDuration());
        var suggest = Passes(() => Measure(requests, c => engine.Suggest(c, Suggestions)));
        var allocatedPerRequest = (GC.GetAllocatedBytesForCurrentThread() - allocated) / suggest.Count;
        var pausedPerRequest = (GC.GetTotalPauseDuration() - paused).TotalMicroseconds / suggest.Count;
        var gen0 = GC.CollectionCount(0) - collections;

        var index = model.Index;
        var neighbours = model.Settings.Neighbours;
        var positions = Enumerable.Range(0, requests.Count).ToList();
        // Each stage alone on the same requests, as the served path runs it (OwnSuggestions.For).
        Func<int, object> nearestOf = i => index.Nearest(texts[i], languages[i], neighbours);
        Func<int, QueryWords> wordsOf = i =>
        {
            var (text, subjectLength) = OwnSuggestions.Joined(requests[i], texts[i]);
            return new QueryWords(index, text, subjectLength);
        };
        var nearest = Passes(() => Measure(positions, nearestOf));
        var found = positions.Select(i => index.Nearest(texts[i], languages[i], Math.Max(neighbours, ReplyComposer.ReferenceNeighbours))).ToList();
        var words = positions.Select(wordsOf).ToList();
        Func<int, object> compositionOf = i => OwnSuggestions.From(index, found[i], words[i], Suggestions);
        var queryWords = Passes(() => Measure(positions, wordsOf));
        var composition = Passes(() => Measure(positions, compositionOf));
        var replyWords = positions.Select(i => OwnSuggestions.From(index, found[i], words[i], 1) is [var top, ..] ? TextMetrics.Tokens(top.Text).Length : 0).Order().ToList();
        var classifierTexts = requests.Select(TicketText.ForClassifier).ToList();
        var predict = model.Types is { } types ? Passes(() => Measure(classifierTexts, types.PredictOne)) : [0];
        // The classifier's reference: the same texts through ML.NET's prediction engine, the served path before the plain C#
        // scorer (and still the path of models saved without it); one pass to warm it first, as Suggest warmed PredictOne.
        List<double> predictByEngine = [0];
        if (model.Types is { } reference)
        {
            Measure(classifierTexts, reference.PredictOneByEngine);
            predictByEngine = Passes(() => Measure(classifierTexts, reference.PredictOneByEngine));
        }
        var detect = Passes(() => Measure(texts, LanguageDetector.Detect));
        // What each stage allocates a request: the collections a server pays for scale with it.
        var allocatedByStage = new Dictionary<string, long>
        {
            ["nearest"] = Allocated(positions, nearestOf),
            ["query_words"] = Allocated(positions, wordsOf),
            ["composition"] = Allocated(positions, compositionOf),
            ["classifier"] = model.Types is { } scorer ? Allocated(classifierTexts, scorer.PredictOne) : 0,
        };

        // The reference: an exact scan of the language. Recall@10 strict (the exact ten tickets, ties by similarity) and
        // by real ticket (a near-copy of one of the exact ten's real tickets counts).
        var checkedCount = env.Quick ? 30 : 200;
        var exactMs = new List<double>(checkedCount);
        double strict = 0, sameTicket = 0, top1 = 0;
        foreach (var i in positions.Take(checkedCount))
        {
            var start = Stopwatch.GetTimestamp();
            var exact = index.NearestExhaustive(texts[i], languages[i], 10);
            exactMs.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            var fast = index.Nearest(texts[i], languages[i], 10);
            if (exact.Count == 0)
            {
                continue;
            }
            var tenth = exact[^1].Similarity - 1e-6f;
            strict += fast.Count(f => f.Similarity >= tenth) / (double)exact.Count;
            var truth = exact.Select(e => corpus.SourceOf(e.Doc)).ToHashSet();
            sameTicket += fast.Select(f => corpus.SourceOf(f.Doc)).Distinct().Count(truth.Contains) / (double)truth.Count;
            top1 += fast.Count > 0 && corpus.SourceOf(fast[0].Doc) == corpus.SourceOf(exact[0].Doc) ? 1 : 0;
        }
        exactMs.Sort();
        var checkedQueries = Math.Min(checkedCount, positions.Count);
        (strict, sameTicket, top1) = (strict / checkedQueries, sameTicket / checkedQueries, top1 / checkedQueries);

        var result = new
        {
            samples,
            queries = suggest.Count,
            average_text_chars = Math.Round(averageLength),
            trained_on = trainedOn.Count,
            train_seconds = Math.Round(trainSeconds, 1),
            load_seconds = Math.Round(loadSeconds, 1),
            bytes_per_sample = bytesPerTicket,
            classifier_bytes = classifierBytes,
            neighbours,
            answered_by_model = answeredByModel,
            p50_ms = P(suggest, 0.5),
            p99_ms = P(suggest, 0.99),
            p999_ms = P(suggest, 0.999),
            first_pass_p50_ms = P(first, 0.5),
            first_pass_p99_ms = P(first, 0.99),
            allocated_bytes_per_request = allocatedPerRequest,
            allocated_bytes_by_stage = allocatedByStage,
            gc_pause_us_per_request = Math.Round(pausedPerRequest, 1),
            gc_collections = gen0,
            nearest_p50_ms = P(nearest, 0.5),
            nearest_p99_ms = P(nearest, 0.99),
            query_words_p50_ms = P(queryWords, 0.5),
            query_words_p99_ms = P(queryWords, 0.99),
            composition_p50_ms = P(composition, 0.5),
            composition_p99_ms = P(composition, 0.99),
            reply_words_p50 = replyWords[replyWords.Count / 2],
            classifier_p50_ms = P(predict, 0.5),
            classifier_p99_ms = P(predict, 0.99),
            classifier_scorer = model.Types?.HasScorer ?? false,
            classifier_p50_us = Micros(predict, 0.5),
            classifier_p99_us = Micros(predict, 0.99),
            classifier_mlnet_p50_us = Micros(predictByEngine, 0.5),
            classifier_mlnet_p99_us = Micros(predictByEngine, 0.99),
            language_detection_p50_ms = P(detect, 0.5),
            exact_scan_p50_ms = P(exactMs, 0.5),
            exact_scan_p99_ms = P(exactMs, 0.99),
            recall_at_10 = Math.Round(strict, 3),
            recall_at_10_same_ticket = Math.Round(sameTicket, 3),
            recall_at_1_same_ticket = Math.Round(top1, 3),
        };
        details["local"] = result;
        Console.WriteLine($"local model, {samples:N0} indexed tickets ({result.average_text_chars} characters on average; model trained on {trainedOn.Count:N0} in {result.train_seconds} s, loaded in {result.load_seconds} s): " +
            $"{bytesPerTicket:N0} B/ticket; Suggest p50 {result.p50_ms} ms, p99 {result.p99_ms} ms, p99.9 {result.p999_ms} ms (first pass p50 {result.first_pass_p50_ms}, p99 {result.first_pass_p99_ms}); " +
            $"{answeredByModel}/{requests.Count} answered by the own model; {allocatedPerRequest:N0} B allocated per request ({string.Join(", ", allocatedByStage.Select(a => $"{a.Key} {a.Value:N0}"))}), {gen0} collections in {suggest.Count:N0} requests, pausing {result.gc_pause_us_per_request} µs a request on average; " +
            $"stages p50/p99: nearest {result.nearest_p50_ms}/{result.nearest_p99_ms} ms, the ticket's words {result.query_words_p50_ms}/{result.query_words_p99_ms} ms, composition and alternatives {result.composition_p50_ms}/{result.composition_p99_ms} ms (composed reply: {result.reply_words_p50} words at p50), " +
            $"classifier {result.classifier_p50_us}/{result.classifier_p99_us} µs (served scorer: {result.classifier_scorer}; ML.NET's prediction engine on the same texts {result.classifier_mlnet_p50_us}/{result.classifier_mlnet_p99_us} µs), language detection {result.language_detection_p50_ms} ms; " +
            $"exact scan p50 {result.exact_scan_p50_ms} ms; recall@10 {result.recall_at_10:0.000} (same ticket {result.recall_at_10_same_ticket:0.000}, @1 {result.recall_at_1_same_ticket:0.000})");
        GC.KeepAlive(model);

        const string exactScan = "exact scan of the language";
        const string mlNetEngine = "ML.NET PredictionEngine, same texts";
        return
        [
            new("local", "Suggest, p50", "ms", result.p50_ms, exactScan, result.exact_scan_p50_ms, "p50 ≤ 0.5 ms", result.p50_ms <= 0.5, HigherIsBetter: false),
            new("local", "Suggest, p99", "ms", result.p99_ms, exactScan, result.exact_scan_p99_ms, "p99 ≤ 2 ms", result.p99_ms <= 2, HigherIsBetter: false),
            new("local", "nearest tickets, p50", "ms", result.nearest_p50_ms, exactScan, result.exact_scan_p50_ms, "p50 ≤ 0.25 ms", result.nearest_p50_ms <= 0.25, HigherIsBetter: false),
            new("local", "nearest tickets, p99", "ms", result.nearest_p99_ms, exactScan, result.exact_scan_p99_ms, "p99 ≤ 1 ms", result.nearest_p99_ms <= 1, HigherIsBetter: false),
            new("local", "the ticket's words (QueryWords), p50", "ms", result.query_words_p50_ms, "", null, "report", null, HigherIsBetter: false),
            new("local", "composition and alternatives, p50", "ms", result.composition_p50_ms, "", null, "report", null, HigherIsBetter: false),
            new("local", "composition and alternatives, p99", "ms", result.composition_p99_ms, "", null, "report", null, HigherIsBetter: false),
            new("local-classifier", "classifier PredictOne, p50", "µs", result.classifier_p50_us, mlNetEngine, result.classifier_mlnet_p50_us, "p50 ≤ 30 µs",
                result.classifier_p50_us <= 30, HigherIsBetter: false),
            new("local-classifier", "classifier PredictOne, p99", "µs", result.classifier_p99_us, mlNetEngine, result.classifier_mlnet_p99_us, "report", null,
                HigherIsBetter: false),
            new("local-recall", "recall@10, same ticket", "recall", result.recall_at_10_same_ticket, exactScan, 1, "report", null),
            new("local-recall", "recall@10, strict", "recall", result.recall_at_10, exactScan, 1, "report", null),
            new("local-memory", "managed memory per indexed ticket", "bytes", bytesPerTicket, "", null, "≤ 6 KB", bytesPerTicket <= 6 * 1024, HigherIsBetter: false),
        ];
    }

    private static async IAsyncEnumerable<CleanedSample> Samples(IEnumerable<SharedTicket> tickets)
    {
        foreach (var t in tickets)
        {
            var context = t.Stored;
            yield return new CleanedSample
            {
                ContextHash = context.Hash(),
                CreatedAt = DateTimeOffset.UnixEpoch,
                Engine = "history",
                Model = "history",
                Context = context,
                Suggestions = [new Suggestion(t.Answer, t.AnswerType, 1.0)],
            };
        }
        await Task.CompletedTask;
    }

    /// <summary>The items file as <see cref="ModelTrainer"/> writes it: JSON Lines, GZip.</summary>
    private static async Task WriteItemsAsync(string path, List<RetrievalItem> items)
    {
        await using var file = File.Create(path);
        await using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        await using var writer = new StreamWriter(gzip, new UTF8Encoding(false));
        foreach (var item in items)
        {
            await writer.WriteLineAsync(JsonSerializer.Serialize(item, RetrievalJsonContext.Default.RetrievalItem));
        }
    }

    /// <summary>Managed heap growth over <paramref name="load"/>, what it loaded kept alive until measured.</summary>
    private static long Growth(Func<object?> load)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var loaded = load();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(loaded);
        return after - before;
    }

    private static long Growth(Action load) => Growth(() =>
    {
        load();
        return null;
    });

    /// <summary>Three passes, latencies pooled and sorted.</summary>
    private static List<double> Passes(Func<List<double>> pass) => [.. Enumerable.Range(0, 3).SelectMany(_ => pass()).Order()];

    /// <summary>One call at a time over every input; latencies in ms, sorted.</summary>
    private static List<double> Measure<T, TResult>(List<T> inputs, Func<T, TResult> call)
    {
        var latencies = new List<double>(inputs.Count);
        foreach (var input in inputs)
        {
            var start = Stopwatch.GetTimestamp();
            GC.KeepAlive(call(input));
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        latencies.Sort();
        return latencies;
    }

    private static long Allocated<T, TResult>(List<T> inputs, Func<T, TResult> call)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var input in inputs)
        {
            call(input);
        }
        return (GC.GetAllocatedBytesForCurrentThread() - before) / Math.Max(1, inputs.Count);
    }

    private static double Micros(List<double> sorted, double p) => Math.Round(sorted[(int)Math.Min(sorted.Count - 1, Math.Round(p * (sorted.Count - 1)))] * 1000, 1);

    private static double P(List<double> sorted, double p) => Math.Round(sorted[(int)Math.Min(sorted.Count - 1, Math.Round(p * (sorted.Count - 1)))], 3);
}
