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
        command.Subcommands.Add(Snapshot());
        command.Subcommands.Add(Snapshots());
        return command;
    }

    private static Command Snapshot()
    {
        var json = new Option<bool>("--json") { Description = "Print the snapshot's manifest as JSON." };
        var command = new Command("snapshot", "Freeze the store's cleaned data under an id (a hash of its samples) in DataDir/snapshots/; 'train --snapshot ID' trains from it.") { json };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            var (host, store) = await CliHost.OpenStoreAsync(parse.UnmatchedTokens, ct);
            using (host)
            {
                var snapshots = host.Services.GetRequiredService<SnapshotStore>();
                var (manifest, reused) = await snapshots.TakeAsync(store, host.Services.GetRequiredService<IOptions<CleaningOptions>>().Value,
                    host.Services.GetRequiredService<TimeProvider>(), ct);
                if (parse.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(manifest, CliJson.Options));
                    return 0;
                }
                AnsiConsole.MarkupLineInterpolated(
                    $"Snapshot [bold]{manifest.Id}[/]: {manifest.Samples:N0} samples, {manifest.Comments:N0} comments, {manifest.Bytes:N0} bytes{(reused ? $" (unchanged data: the snapshot of {manifest.CreatedAt:u})" : "")}.");
                AnsiConsole.MarkupLineInterpolated($"{snapshots.DataPath(manifest.Id)}");
                return 0;
            }
        });
        return command;
    }

    private static Command Snapshots()
    {
        var json = new Option<bool>("--json") { Description = "Print the manifests as a JSON array." };
        var command = new Command("snapshots", "The dataset snapshots, newest first.") { json };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            using var host = CliHost.Build(parse.UnmatchedTokens);
            var list = host.Services.GetRequiredService<SnapshotStore>().List();
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(list, CliJson.Options));
                return 0;
            }
            var table = new Table().AddColumn("Id").AddColumn("Created").AddColumn(new TableColumn("Samples").RightAligned())
                .AddColumn(new TableColumn("Comments").RightAligned()).AddColumn("By type").AddColumn(new TableColumn("Bytes").RightAligned());
            foreach (var m in list)
            {
                table.AddRow(m.Id, $"{m.CreatedAt:u}", $"{m.Samples:N0}", $"{m.Comments:N0}",
                    Markup.Escape(string.Join(", ", m.ByType.Select(kv => $"{kv.Key} {kv.Value:N0}"))), $"{m.Bytes:N0}");
            }
            AnsiConsole.Write(table);
            return 0;
        });
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
            Counts("Cleaning removes", r.CleaningRemoves), Counts("Agents' Jira replies", r.AgentReplies),
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
