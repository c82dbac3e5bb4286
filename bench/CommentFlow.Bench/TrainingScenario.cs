using System.Globalization;
using System.Text.Json.Nodes;

namespace CommentFlow.Bench;

/// <summary>
/// Scenario 6: the type and queue classifiers of <c>commentflow evaluate</c> (ML.NET) against
/// <c>sklearn_baseline.py</c>'s balanced logistic regression on the identical fixed splits, macro-F1 and fit time side by
/// side; then both trained on 1k to 100k tickets (the multilang training side repeated with two words swapped) and
/// tested on the same held-out tickets, to show how fit time grows.
/// </summary>
internal static class TrainingScenario
{
    public static async Task<List<ResultRow>> RunAsync(BenchEnvironment env, Dictionary<string, object> details)
    {
        await EnsureSklearnAsync(env);
        var rows = new List<ResultRow>();
        var splits = new List<object>();
        (string Data, string Label)[] tasks = env.Quick
            ? [("tickets-en-de", "type")]
            : [("tickets-multilang", "type"), ("tickets-multilang", "queue"), ("tickets-en-de", "type"), ("tickets-en-de", "queue")];
        foreach (var (data, label) in tasks)
        {
            var csv = Path.Combine(env.SharedData, $"{data}.csv");
            var split = Path.Combine(env.Shared, "bench", "splits", $"{data}_{label}.json");
            var ours = await OursAsync(env, ["--csv", csv, "--split", split, "--label", label]);
            var theirs = await SklearnAsync(env, ["--csv", csv, "--label", label, "--split-in", split]);
            Console.WriteLine($"training {data}/{label}: ML.NET macro-F1 {ours.MacroF1:0.000} in {ours.FitSeconds:N1} s, scikit-learn {theirs.MacroF1:0.000} in {theirs.FitSeconds:N1} s");
            rows.Add(new ResultRow("training-f1", $"{data}, {label}", "macro-F1", ours.MacroF1, "scikit-learn balanced LR", theirs.MacroF1,
                label == "type" ? "beat scikit-learn" : "within .01 of scikit-learn", label == "type" ? ours.MacroF1 > theirs.MacroF1 : ours.MacroF1 >= theirs.MacroF1 - 0.01));
            rows.Add(new ResultRow("training-fit", $"{data}, {label}", "s", ours.FitSeconds, "scikit-learn balanced LR", theirs.FitSeconds,
                "fit faster", ours.FitSeconds < theirs.FitSeconds, HigherIsBetter: false));
            splits.Add(new { data, label, ours, theirs });
        }

        // Growth: the same test tickets, training sets of 1k to 100k.
        var scaling = new List<object>();
        var dir = env.NewDir("scaling");
        var test = Path.Combine(dir, "test.csv");
        foreach (var size in env.Quick ? [1_000] : new[] { 1_000, 10_000, 100_000 })
        {
            var train = Path.Combine(dir, $"train-{size}.csv");
            await env.RunAsync("python3", ["-c", ScaleScript, Path.Combine(env.SharedData, "tickets-multilang.csv"),
                Path.Combine(env.Shared, "bench", "splits", "tickets-multilang_type.json"), size.ToString(CultureInfo.InvariantCulture), train, test]);
            // The classifier alone: retrieval is the local scenario's, and its tuning would dominate the time here.
            var ours = await OursAsync(env, ["--train-csv", train, "--test-csv", test, "--label", "type", "--classifier-only"]);
            var theirs = await SklearnAsync(env, ["--train-csv", train, "--test-csv", test, "--label", "type"]);
            Console.WriteLine($"training on {size:N0} tickets: ML.NET {ours.FitSeconds:N1} s (macro-F1 {ours.MacroF1:0.000}), scikit-learn {theirs.FitSeconds:N1} s (macro-F1 {theirs.MacroF1:0.000})");
            rows.Add(new ResultRow("training-growth", $"{size:N0} tickets", "s", ours.FitSeconds, "scikit-learn balanced LR", theirs.FitSeconds, "report", null, HigherIsBetter: false));
            scaling.Add(new { size, ours, theirs });
        }
        details["training"] = new { splits, scaling };
        return rows;
    }

    internal sealed record Fit(double MacroF1, double Accuracy, double FitSeconds);

    private static async Task<Fit> OursAsync(BenchEnvironment env, string[] args)
    {
        var json = JsonNode.Parse(await env.RunAsync("dotnet", ["exec", env.ServiceDll, "evaluate", .. args, "--json"]))!;
        return new Fit(json["macro_f1"]!.GetValue<double>(), json["accuracy"]!.GetValue<double>(), json["fit_seconds"]!.GetValue<double>());
    }

    private static async Task<Fit> SklearnAsync(BenchEnvironment env, string[] args)
    {
        var output = await env.RunAsync("/usr/bin/python3", [Path.Combine(env.Shared, "bench", "sklearn_baseline.py"), .. args, "--models", "linear_balanced"]);
        var line = output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!)
            .Single(n => n["model"]?.GetValue<string>() == "linear_balanced");
        return new Fit(line["macro_f1"]!.GetValue<double>(), line["accuracy"]!.GetValue<double>(), line["fit_s"]!.GetValue<double>());
    }

    private static async Task EnsureSklearnAsync(BenchEnvironment env)
    {
        try
        {
            await env.RunAsync("/usr/bin/python3", ["-c", "import sklearn"]);
        }
        catch (InvalidOperationException)
        {
            await env.InstallDebianAsync("python3-sklearn");
        }
    }

    // Writes the training side of the split repeated to N rows (two words of the body swapped in each copy, so no two
    // rows are identical) and the split's test side, with the original header.
    private const string ScaleScript = """
        import csv, json, random, sys
        src, split, n, train_out, test_out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
        with open(src, newline="", encoding="utf-8") as f:
            reader = csv.reader(f); header = next(reader); rows = list(reader)
        s = json.load(open(split))
        train = [rows[i] for i in s["train_indices"]]; test = [rows[i] for i in s["test_indices"]]
        body = header.index("body"); rng = random.Random(42); out = []
        while len(out) < n:
            for r in train:
                if len(out) >= n: break
                r = list(r); words = r[body].split()
                if len(out) >= len(train) and len(words) > 3:
                    i, j = rng.sample(range(len(words)), 2); words[i], words[j] = words[j], words[i]; r[body] = " ".join(words)
                out.append(r)
        for path, data in ((train_out, out), (test_out, test)):
            with open(path, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f); w.writerow(header); w.writerows(data)
        """;
}
