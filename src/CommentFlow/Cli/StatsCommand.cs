using System.CommandLine;
using System.Text.Json;
using CommentFlow.Storage;
using Spectre.Console;

namespace CommentFlow.Cli;

internal static class StatsCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the stats as JSON." };
        var command = new Command("stats", "Show what the training store holds.") { json };
        command.SetAction(async (parse, ct) =>
        {
            var (host, store) = await CliHost.OpenStoreAsync(parse.UnmatchedTokens, ct);
            using (host)
            {
                var stats = await store.GetStatsAsync(ct);
                if (parse.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(stats, CliJson.Options));
                    return 0;
                }
                Render(stats, store.Provider);
                return 0;
            }
        });
        return command;
    }

    private static void Render(StoreStats stats, string provider)
    {
        var table = new Table().Title("[bold]CommentFlow training store[/]").AddColumn("Measure").AddColumn(new TableColumn("Value").RightAligned());
        table.AddRow("Storage", provider);
        table.AddRow("Samples", $"{stats.TotalSamples:N0}");
        table.AddRow("Suggestions", $"{stats.TotalSuggestions:N0} ({stats.AvgSuggestionsPerSample:0.00} per sample)");
        table.AddRow("Comments", $"{stats.TotalComments:N0} ({stats.AvgCommentsPerSample:0.00} per sample)");
        table.AddRow("Compressed", stats.Compressed ? "yes" : "no");
        table.AddRow("Archived", stats.ArchivedSamples.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("Created", $"{stats.Created:u}");
        table.AddRow("Last modified", $"{stats.LastModified:u}");
        AnsiConsole.Write(table);

        foreach (var (title, counts) in new[] { ("Issue type", stats.ByIssueType), ("Status", stats.ByStatus), ("Priority", stats.ByPriority), ("Engine", stats.ByEngine), ("Model", stats.ByModel), ("Language", stats.ByLanguage), ("Masked", stats.Masked) })
        {
            if (counts.Count == 0)
            {
                continue;
            }
            var t = new Table().AddColumn(title).AddColumn(new TableColumn("Samples").RightAligned());
            foreach (var (value, count) in counts)
            {
                t.AddRow(Markup.Escape(value), $"{count:N0}");
            }
            AnsiConsole.Write(t);
        }

        if (stats.Feedback.Total > 0)
        {
            var f = stats.Feedback;
            var t = new Table().Title($"[bold]Agents' feedback[/]: {f.Total:N0}").AddColumn("By").AddColumn("Value")
                .AddColumn(new TableColumn("Shown").RightAligned()).AddColumn(new TableColumn("Accepted").RightAligned())
                .AddColumn(new TableColumn("Edited").RightAligned()).AddColumn(new TableColumn("Dismissed").RightAligned())
                .AddColumn(new TableColumn("Acceptance").RightAligned());
            foreach (var (by, rows) in new[] { ("engine", f.ByEngine), ("type", f.ByType), ("model", f.ByModel) })
            {
                foreach (var (value, c) in rows)
                {
                    t.AddRow(by, Markup.Escape(value), $"{c.Shown:N0}", $"{c.Accepted:N0}", $"{c.Edited:N0}", $"{c.Dismissed:N0}", $"{c.AcceptanceRate:P1}");
                }
            }
            AnsiConsole.Write(t);
        }
    }
}
