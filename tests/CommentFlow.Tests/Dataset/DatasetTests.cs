using System.Globalization;
using System.Text.Json.Nodes;
using CommentFlow.Cli;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.Storage;
using CommentFlow.Tests.Legacy;
using CsvHelper;
using Microsoft.Extensions.Logging.Abstractions;

namespace CommentFlow.Tests.Dataset;

[Collection(CliCollection.Name)]
public sealed class DatasetTests
{
    private static TrainingSample With(string engine, params Suggestion[] suggestions)
    {
        var context = Some.Context(comments: ["first", "second"]) with { Language = "es" };
        return TrainingSample.From(context, context.Hash(), suggestions, engine == "rules" ? "rules-v1" : "llama3.2", engine, 10, DateTimeOffset.UnixEpoch);
    }

    private static readonly TrainingSample[] Samples =
    [
        With("ollama", new("¿Puede enviar el mensaje de error?", "diagnostic", 0.9), new("¡Puede enviar el mensaje de error!", "diagnostic", 0.8),
            new("Reviso los logs del servidor.", "action", 0.5), new("ok", "action", 0.95)),
        With("ollama", new("Cerramos el ticket, ya funciona.", "resolution", 0.75), new("Escalo al equipo de red.", "escalation", 0.9)),
        With("rules", new Suggestion("Could you describe the steps?", "diagnostic", 0.5)),
    ];

    [Fact]
    public void Clean_EachRule_RemovesAndCountsItsOwn()
    {
        var cleaner = new DatasetCleaner(new CleaningOptions { DropUnknownTypes = true });
        var kept = Samples.SelectMany(cleaner.Clean).Select(s => s.Text).ToList();

        Assert.Equal(["¿Puede enviar el mensaje de error?", "Cerramos el ticket, ya funciona."], kept);
        Assert.Equal(1, cleaner.Removed[DatasetCleaner.NearDuplicate]);
        Assert.Equal(1, cleaner.Removed[DatasetCleaner.LowConfidence]);
        Assert.Equal(1, cleaner.Removed[DatasetCleaner.TooShort]);
        Assert.Equal(1, cleaner.Removed[DatasetCleaner.UnknownType]);
        Assert.Equal(1, cleaner.Removed[DatasetCleaner.RulesEngine]);
    }

    [Fact]
    public void Clean_RulesSwitchedOff_KeepEverything()
    {
        var cleaner = new DatasetCleaner(new CleaningOptions { MinConfidence = 0, MinTextLength = 0, DropNearDuplicates = false, DropRulesEngine = false });
        Assert.Equal(7, Samples.Sum(s => cleaner.Clean(s).Count));
    }

    private static async Task<string> StoreAsync()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync(Samples, null, CancellationToken.None);
        return dataDir;
    }

    [Fact]
    public async Task Report_SmallStore_CountsHistogramLengthsAndCleaning()
    {
        var dataDir = await StoreAsync();
        var store = await Stores.OpenAsync(dataDir);
        var report = await DatasetReport.BuildAsync(store, new CleaningOptions(), CancellationToken.None);

        Assert.Equal(3, report.Samples);
        Assert.Equal(7, report.Suggestions);
        Assert.Equal(3, report.SuggestionsAfterCleaning); // the duplicate, the 0.5, "ok" and the rules sample go
        Assert.Equal(3, report.BySuggestionType["diagnostic"]);
        Assert.Equal(1, report.BySuggestionType["unknown"]);
        Assert.Equal(3, report.ConfidenceHistogram["0.9"]);
        Assert.Equal(2, report.ConfidenceHistogram["0.5"]);
        Assert.Equal(3, report.ByLanguage["es"]);
        var lengths = Samples.SelectMany(s => s.Suggestions).Select(s => s.Text.Length).Order().ToList();
        Assert.Equal(lengths[1], report.TextLengthPercentiles["p10"]); // nearest rank over 7 values
        Assert.Equal(lengths[3], report.TextLengthPercentiles["p50"]);
    }

    [Fact]
    public async Task Export_ChatJsonlCsv_StreamCleanedSamplesInEachFormat()
    {
        var dataDir = await StoreAsync();
        var dir = TempDir.Create();
        async Task<string> Export(string format, bool clean = true)
        {
            var path = Path.Combine(dir, $"out.{format}");
            string[] args = ["export", "--format", format, "--out", path, $"--CommentFlow:DataDir={dataDir}", .. clean ? (string[])["--clean"] : []];
            Assert.Equal(0, await CommentFlow.Cli.CommandLine.Build().Parse(args).InvokeAsync());
            return path;
        }

        var chat = (await File.ReadAllLinesAsync(await Export("chat"))).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(2, chat.Count); // the rules sample is cleaned away
        var messages = chat[0]!["messages"]!.AsArray();
        Assert.Equal(["system", "user", "assistant"], messages.Select(m => m!["role"]!.GetValue<string>()));
        Assert.Contains("Spanish", messages[0]!["content"]!.GetValue<string>(), StringComparison.Ordinal);
        var answer = JsonNode.Parse(messages[2]!["content"]!.GetValue<string>())!["suggestions"]!.AsArray();
        Assert.Equal("¿Puede enviar el mensaje de error?", Assert.Single(answer)!["text"]!.GetValue<string>());

        var jsonl = (await File.ReadAllLinesAsync(await Export("jsonl", clean: false))).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(3, jsonl.Count);
        Assert.Equal(["first", "second"], jsonl[0]!["input"]!["comments"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal(4, jsonl[0]!["output"]!["suggestions"]!.AsArray().Count);

        using var reader = new StreamReader(await Export("csv"));
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        var rows = csv.GetRecords<dynamic>().Cast<IDictionary<string, object>>().ToList();
        Assert.Equal(3, rows.Count);
        Assert.Equal("Cerramos el ticket, ya funciona.", rows[1]["suggestion_text"]);
        Assert.Equal("escalation", rows[2]["suggestion_type"]); // unknown types are kept unless DropUnknownTypes
        Assert.Equal("[\"first\",\"second\"]", rows[0]["comments"]);
    }
}
