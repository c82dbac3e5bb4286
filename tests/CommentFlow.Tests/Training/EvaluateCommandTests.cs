using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using CommentFlow.Training;

namespace CommentFlow.Tests.Training;

/// <summary>The <c>evaluate</c> contract scripts rely on, run as the real executable on the shared tickets.</summary>
public sealed class EvaluateCommandTests
{
    private static string MultilangCsv => Path.Combine(Paths.Shared, "data", "tickets-multilang.csv");

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["exec", Path.Combine(AppContext.BaseDirectory, "commentflow.dll"), .. args])
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }

    private static void AssertReport(JsonObject r, int nTrain, int nTest)
    {
        Assert.Equal(nTrain, r["n_train"]!.GetValue<int>());
        Assert.Equal(nTest, r["n_test"]!.GetValue<int>());
        Assert.InRange(r["accuracy"]!.GetValue<double>(), 0, 1);
        Assert.True(r["macro_f1"]!.GetValue<double>() > r["majority"]!["macro_f1"]!.GetValue<double>(), r.ToJsonString());
        Assert.True(r["fit_seconds"]!.GetValue<double>() > 0);
        var retrieval = r["retrieval"]!;
        Assert.True(retrieval["rouge_l"]!.GetValue<double>() > retrieval["random_same_language_rouge_l"]!.GetValue<double>(), retrieval.ToJsonString());
        Assert.InRange(retrieval["token_f1"]!.GetValue<double>(), 0.01, 1);
    }

    [Fact]
    public async Task Evaluate_CsvAndSplit_TrainsOnTrainSideAndPrintsOneJsonObject()
    {
        // A smaller split in the shared format: the first 400 usable records train, the next 120 test.
        var (tickets, _) = LabelledTickets.Read(MultilangCsv, "type");
        var split = Path.Combine(TempDir.Create(), "split.json");
        await File.WriteAllTextAsync(split, JsonSerializer.Serialize(new
        {
            format = "sklearn_baseline.split.v1",
            label = "type",
            train_indices = tickets.Take(400).Select(t => t.Index),
            test_indices = tickets.Skip(400).Take(120).Select(t => t.Index),
        }));

        var (code, stdout, stderr) = await RunAsync("evaluate", "--csv", MultilangCsv, "--split", split, "--label", "type", "--json");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var report = JsonNode.Parse(Assert.Single(lines))!.AsObject();
        AssertReport(report, 400, 120);

        // Grounding, computed in the same run: the real answers' figures are the Python baseline's on the same split.
        var grounding = report["retrieval"]!["grounding"]!;
        foreach (var system in (string[])["own_model", "nearest_answer", "real_answer"])
        {
            Assert.Equal(["rouge_l", "foreign", "grounded", "mentions"], grounding[system]!.AsObject().Select(kv => kv.Key));
            Assert.InRange(grounding[system]!["foreign"]!.GetValue<double>(), 0, 1);
        }
        Assert.Null(grounding["real_answer"]!["rouge_l"]);
        Assert.Equal(Math.Round(report["retrieval"]!["rouge_l"]!.GetValue<double>(), 4), grounding["own_model"]!["rouge_l"]!.GetValue<double>(), 4);
        var python = GroundingBaseline.Summaries(MultilangCsv, split);
        Assert.Equal(GroundingTests.Figures(python["real_answer"]!), GroundingTests.Figures(grounding["real_answer"]!));
        // A copied answer names another ticket's products more often than the ticket's own answer does.
        Assert.True(grounding["nearest_answer"]!["foreign"]!.GetValue<double>() > grounding["real_answer"]!["foreign"]!.GetValue<double>(), grounding.ToJsonString());
    }

    [Fact]
    public async Task Evaluate_ClassifierOnly_ReportsTheClassifierAndNoRetrieval()
    {
        var (header, records) = TicketCsv.Open(MultilangCsv);
        var complete = records.Where(r => r.Complete).Take(300).ToList();
        var dir = TempDir.Create();
        var train = Path.Combine(dir, "train.csv");
        var test = Path.Combine(dir, "test.csv");
        File.WriteAllLines(train, [Csv(header), .. complete.Take(240).Select(r => Csv(r.Fields))]);
        File.WriteAllLines(test, [Csv(header), .. complete.Skip(240).Select(r => Csv(r.Fields))]);

        var (code, stdout, stderr) = await RunAsync("evaluate", "--train-csv", train, "--test-csv", test, "--label", "type", "--classifier-only", "--json");

        Assert.True(code == 0, stderr);
        var report = JsonNode.Parse(stdout)!.AsObject();
        Assert.Equal(240, report["n_train"]!.GetValue<int>());
        Assert.True(report["macro_f1"]!.GetValue<double>() > 0, report.ToJsonString());
        Assert.True(report.ContainsKey("retrieval"));
        Assert.Null(report["retrieval"]);
    }

    [Fact]
    public async Task Evaluate_TrainAndTestCsv_UsesEveryUsableRowOfEach()
    {
        var (header, records) = TicketCsv.Open(MultilangCsv);
        var complete = records.Where(r => r.Complete).Take(460).ToList();
        var dir = TempDir.Create();
        string Write(string name, IEnumerable<CsvTicket> rows)
        {
            var path = Path.Combine(dir, name);
            File.WriteAllLines(path, [Csv(header), .. rows.Select(r => Csv(r.Fields))]);
            return path;
        }
        var train = Write("train.csv", complete.Take(360));
        var test = Write("test.csv", complete.Skip(360));

        var (code, stdout, stderr) = await RunAsync("evaluate", "--train-csv", train, "--test-csv", test, "--label", "queue", "--json");
        Assert.True(code == 0, stderr);
        var report = JsonNode.Parse(stdout)!.AsObject();
        Assert.Equal("queue", report["label"]!.GetValue<string>());
        AssertReport(report, 360, 100);
    }

    [Fact]
    public async Task Evaluate_MissingArguments_RefusedWithUsage()
    {
        var (code, _, stderr) = await RunAsync("evaluate", "--csv", MultilangCsv, "--label", "type");
        Assert.NotEqual(0, code);
        Assert.Contains("--split", stderr, StringComparison.Ordinal);
    }

    private static string Csv(IEnumerable<string> fields) => string.Join(',', fields.Select(f => "\"" + f.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""));
}
