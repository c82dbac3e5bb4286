using System.CommandLine;
using System.Text.Json;
using CommentFlow.Dataset;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace CommentFlow.Cli;

internal static class DatasetCommand
{
    public static Command Create()
    {
        var command = new Command("dataset", "Look at the training data before training on it.");
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var report = new Command("report", "Counts by suggestion type, issue type, status, priority, language and model; confidence histogram; text lengths; what cleaning would remove.") { json };
        report.TreatUnmatchedTokensAsErrors = false;
        report.SetAction(async (parse, ct) =>
        {
            var (host, store) = await CliHost.OpenStoreAsync(parse.UnmatchedTokens, ct);
            using (host)
            {
                var result = await DatasetReport.BuildAsync(store, host.Services.GetRequiredService<IOptions<CleaningOptions>>().Value, ct);
                if (parse.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(result, CliJson.Options));
                    return 0;
                }
                Render(result);
                return 0;
            }
        });
        command.Subcommands.Add(report);
        return command;
    }

    private static void Render(DatasetReport r)
    {
        AnsiConsole.MarkupLineInterpolated($"[bold]{r.Samples:N0}[/] samples, [bold]{r.Suggestions:N0}[/] suggestions; [bold]{r.SuggestionsAfterCleaning:N0}[/] left after cleaning.");
        var grid = new Grid().AddColumn().AddColumn().AddColumn();
        var tables = new[]
        {
            Counts("Suggestion type", r.BySuggestionType), Counts("Issue type", r.ByIssueType), Counts("Status", r.ByStatus),
            Counts("Priority", r.ByPriority), Counts("Language", r.ByLanguage), Counts("Model", r.ByModel),
            Counts("Confidence", r.ConfidenceHistogram), Counts("Text length", r.TextLengthPercentiles.ToDictionary(kv => kv.Key, kv => (long)kv.Value)),
            Counts("Cleaning removes", r.CleaningRemoves),
        };
        for (var i = 0; i < tables.Length; i += 3)
        {
            grid.AddRow(tables.Skip(i).Take(3).Cast<Spectre.Console.Rendering.IRenderable>().ToArray());
        }
        AnsiConsole.Write(grid);
    }

    private static Table Counts(string title, IReadOnlyDictionary<string, long> counts)
    {
        var table = new Table().AddColumn(title).AddColumn(new TableColumn("").RightAligned());
        foreach (var (k, v) in counts)
        {
            table.AddRow(Markup.Escape(k), $"{v:N0}");
        }
        return table;
    }
}
