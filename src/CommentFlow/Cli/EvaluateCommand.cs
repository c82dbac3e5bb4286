using CommentFlow.Storage;
using System.CommandLine;
using System.Text.Json;
using CommentFlow.OwnModel;
using CommentFlow.Dataset;
using CommentFlow.Engines;
using CommentFlow.Export;
using CommentFlow.Training;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace CommentFlow.Cli;

internal static class EvaluateCommand
{
    public static Command Create()
    {
        var csv = new Option<FileInfo?>("--csv") { Description = "Tickets CSV to split with --split." };
        var split = new Option<FileInfo?>("--split") { Description = "Split file (record indices), as in ../shared/bench/splits/." };
        var trainCsv = new Option<FileInfo?>("--train-csv") { Description = "Train on every usable row of this CSV..." };
        var testCsv = new Option<FileInfo?>("--test-csv") { Description = "...and test on every usable row of this one." };
        var label = new Option<string>("--label") { Description = "The column to predict: type, queue, priority, …", DefaultValueFactory = _ => "type" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (for scripts)." };
        var classifierOnly = new Option<bool>("--classifier-only") { Description = "Measure the classifier only, not retrieval (its tuning is most of the time on large sets)." };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 42 };
        var folds = new Option<int?>("--folds")
        {
            Description = "Cross-validate the own model's replies on the train side only, in N folds (the test side is not read): what its settings are chosen by.",
        };
        var command = new Command("evaluate", "Train on the train side only and measure on the test side, against baselines. Without --csv/--train-csv: the store, on its saved split by context hash.")
        {
            csv, split, trainCsv, testCsv, label, json, classifierOnly, seed, folds,
        };
        command.Validators.Add(result =>
        {
            var bySplit = result.GetValue(csv) is not null || result.GetValue(split) is not null;
            var byFiles = result.GetValue(trainCsv) is not null || result.GetValue(testCsv) is not null;
            if ((bySplit && byFiles) || (bySplit && (result.GetValue(csv) is null || result.GetValue(split) is null))
                || (byFiles && (result.GetValue(trainCsv) is null || result.GetValue(testCsv) is null)))
            {
                result.AddError("Give either --csv FILE --split SPLIT.json, or --train-csv A --test-csv B, or neither (the store).");
            }
            if (result.GetValue(folds) is { } n && (n < 2 || n > 10 || (!bySplit && !byFiles)))
            {
                result.AddError("--folds takes 2 to 10, with --csv/--split or --train-csv/--test-csv.");
            }
        });
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(csv) is null && parse.GetValue(trainCsv) is null)
            {
                return await EvaluateStoreAsync(parse.UnmatchedTokens, parse.GetValue(json), ct);
            }
            var column = parse.GetValue(label)!;
            List<LabelledTicket> train, test;
            int skipped;
            try
            {
                if (parse.GetValue(csv) is { } file)
                {
                    var (tickets, s) = LabelledTickets.Read(file.FullName, column);
                    var indices = SplitFile.Load(parse.GetValue(split)!.FullName);
                    train = tickets.Where(t => indices.Train.Contains(t.Index)).ToList();
                    test = tickets.Where(t => indices.Test.Contains(t.Index)).ToList();
                    skipped = s;
                }
                else
                {
                    var (a, sa) = LabelledTickets.Read(parse.GetValue(trainCsv)!.FullName, column);
                    var (b, sb) = LabelledTickets.Read(parse.GetValue(testCsv)!.FullName, column);
                    (train, test, skipped) = (a, b, sa + sb);
                }
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or JsonException)
            {
                Console.Error.WriteLine(ex.Message);
                return 2;
            }
            if (train.Count == 0 || test.Count == 0)
            {
                Console.Error.WriteLine($"Nothing to evaluate: {train.Count} training and {test.Count} test tickets.");
                return 2;
            }

            if (parse.GetValue(folds) is { } k)
            {
                var cv = await CliProgress.PhasesAsync(parse.GetValue(json), "Cross-validating", phase =>
                {
                    phase($"{train.Count:N0} train tickets in {k} folds; the test side is not read");
                    return Task.Run(() => Evaluation.CrossValidate(train, k, parse.GetValue(seed)), ct);
                });
                Console.WriteLine(JsonSerializer.Serialize(cv, CliJson.Compact));
                return 0;
            }
            var report = await CliProgress.PhasesAsync(parse.GetValue(json), "Evaluating", phase =>
            {
                phase($"{column}: {train.Count:N0} train, {test.Count:N0} test tickets");
                return Task.Run(() => Evaluation.Run(column, train, test, skipped, parse.GetValue(seed), retrieval: !parse.GetValue(classifierOnly)), ct);
            });
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(report, CliJson.Compact));
                return 0;
            }
            Render(report);
            return 0;
        });
        return command;
    }

    private static async Task<int> EvaluateStoreAsync(IEnumerable<string> configurationArgs, bool json, CancellationToken ct)
    {
        var (host, store) = await CliHost.OpenStoreAsync(configurationArgs, ct);
        using (host)
        {
            var modelsDir = host.Services.GetRequiredService<ModelRegistry>().ModelsDir;
            var rules = host.Services.GetRequiredService<RulesEngine>();
            StoreEvaluationReport report;
            try
            {
                report = await CliProgress.PhasesAsync(json, "Evaluating the store", phase =>
                {
                    phase("reading the samples, training on the train side, measuring on the test side");
                    return StoreEvaluation.RunAsync(store, host.Services.GetRequiredService<IOptions<CleaningOptions>>().Value,
                        host.Services.GetRequiredService<IOptions<TrainingOptions>>().Value, rules, modelsDir, ct);
                });
            }
            catch (InvalidOperationException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return 1;
            }
            var markdown = StoreEvaluation.Markdown(report);
            await AtomicFile.WriteAsync(Path.Combine(modelsDir, StoreEvaluationFiles.Json), async s =>
            {
                await JsonSerializer.SerializeAsync(s, report, CliJson.Options, ct);
                return true;
            });
            await File.WriteAllTextAsync(Path.Combine(modelsDir, StoreEvaluationFiles.Markdown), markdown, ct);
            Console.WriteLine(json ? JsonSerializer.Serialize(report, CliJson.Compact) : markdown);
            return 0;
        }
    }

    private static void Render(EvaluationReport r)
    {
        var table = new Table().Title($"[bold]{Markup.Escape(r.Label)}[/]: {r.NTrain:N0} train, {r.NTest:N0} test ({r.Skipped} rows skipped)")
            .AddColumn("Model").AddColumn(new TableColumn("Accuracy").RightAligned()).AddColumn(new TableColumn("Macro-F1").RightAligned()).AddColumn(new TableColumn("Fit s").RightAligned());
        table.AddRow($"ML.NET {r.Trainer}", $"{r.Accuracy:0.000}", $"{r.MacroF1:0.000}", $"{r.FitSeconds:0.0}");
        table.AddRow($"majority ({Markup.Escape(r.Majority.Label)})", $"{r.Majority.Accuracy:0.000}", $"{r.Majority.MacroF1:0.000}", "");
        AnsiConsole.Write(table);

        var classes = new Table().AddColumn("Class").AddColumn(new TableColumn("Support").RightAligned()).AddColumn(new TableColumn("Precision").RightAligned()).AddColumn(new TableColumn("Recall").RightAligned()).AddColumn(new TableColumn("F1").RightAligned());
        foreach (var c in r.PerClass)
        {
            classes.AddRow(Markup.Escape(c.Label), $"{c.Support}", $"{c.Precision:0.000}", $"{c.Recall:0.000}", $"{c.F1:0.000}");
        }
        AnsiConsole.Write(classes);

        if (r.Retrieval is not { } own)
        {
            return;
        }
        var retrieval = new Table().Title("Retrieval: top suggestion vs the real answer").AddColumn("").AddColumn(new TableColumn("ROUGE-L F1").RightAligned()).AddColumn(new TableColumn("Token F1").RightAligned());
        retrieval.AddRow("own retrieval (central answer)", $"{own.RougeL:0.000}", $"{own.TokenF1:0.000}");
        retrieval.AddRow("nearest ticket's answer", $"{own.NearestRougeL:0.000}", "");
        retrieval.AddRow("random answer, same language", $"{own.RandomSameLanguageRougeL:0.000}", $"{own.RandomSameLanguageTokenF1:0.000}");
        AnsiConsole.Write(retrieval);

        static string F(double? v) => v is { } x ? $"{x:0.0000}" : "–"; // the figures are rounded to 4 places: shown as they are
        var grounding = new Table().Title("Grounding: does the suggestion name this ticket's products, or another's?").AddColumn("")
            .AddColumn(new TableColumn("ROUGE-L F1").RightAligned()).AddColumn(new TableColumn("Foreign ↓").RightAligned())
            .AddColumn(new TableColumn("Grounded ↑").RightAligned()).AddColumn(new TableColumn("Mentions ↑").RightAligned());
        foreach (var (name, f) in (ReadOnlySpan<(string, GroundingFigures)>)[("own model", own.Grounding.OwnModel),
            ("nearest ticket's answer", own.Grounding.NearestAnswer), ("real answer", own.Grounding.RealAnswer)])
        {
            grounding.AddRow(name, F(f.RougeL), F(f.Foreign), F(f.Grounded), F(f.Mentions));
        }
        grounding.Caption("ticket-specific tokens (products, models, places) learnt from the train side; foreign: names one this ticket lacks; grounded: share of those named it has; mentions: names one it has");
        AnsiConsole.Write(grounding);
    }
}
