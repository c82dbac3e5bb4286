using System.CommandLine;
using System.Text.Json;
using CommentFlow.Domain;
using CommentFlow.Import;
using CommentFlow.Storage;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace CommentFlow.Cli;

internal static class ImportTicketsCommand
{
    private const int ProblemsShown = 20;

    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "Tickets CSV (columns mapped by CommentFlow:Import:Columns), or a Jira search export (.json, .json.gz)." };
        var format = new Option<string?>("--format") { Description = "csv or jira; default: from the file name." };
        format.AcceptOnlyFromAmong("csv", "jira");
        var json = new Option<bool>("--json") { Description = "No progress bar; print the result as JSON." };
        var command = new Command("import-tickets", "Import historical tickets and the agents' real replies as training samples (engine 'history'; a Jira export by the rules of import-jira).") { file, format, json };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            if (!path.Exists)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]No such file: {path.FullName}[/]");
                return 2;
            }
            var jira = (parse.GetValue(format) ?? (path.Name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? "csv" : "jira")) == "jira";

            var (host, store) = await CliHost.OpenStoreAsync(parse.UnmatchedTokens, ct);
            using (host)
            {
                var options = host.Services.GetRequiredService<IOptions<ImportOptions>>().Value;
                var now = host.Services.GetRequiredService<TimeProvider>().GetUtcNow();
                IEnumerable<ImportItem> Items() => jira ? HistoryImport.ReadJira(path.FullName, now) : HistoryImport.ReadCsv(path.FullName, options, now);

                try
                {
                    var total = Items().Count(); // a cheap first pass, so the bar knows its end
                    var quiet = parse.GetValue(json);
                    var result = await CliProgress.RunAsync(quiet, $"Importing {path.Name}", total, counter => ImportAsync(Items(), store, options.BatchSize, counter, ct));
                    if (quiet)
                    {
                        await parse.InvocationConfiguration.Output.WriteLineAsync(JsonSerializer.Serialize(result, CliJson.Options));
                        return 0;
                    }
                    Report(result, path.Name);
                    return 0;
                }
                catch (InvalidDataException ex)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]Refused:[/] {ex.Message}");
                    return 1;
                }
            }
        });
        return command;
    }

    private sealed record ImportResult(int Written, int Duplicates, List<ImportProblem> Problems);

    /// <summary>One transaction per batch: an interrupted import keeps every finished batch and loses no more than the current one.</summary>
    private static async Task<ImportResult> ImportAsync(IEnumerable<ImportItem> items, ITrainingStore store, int batchSize, ProgressCounter task, CancellationToken ct)
    {
        var batch = new List<TrainingSample>(batchSize);
        var problems = new List<ImportProblem>();
        int written = 0, duplicates = 0;
        async Task FlushAsync()
        {
            var r = await store.WriteAsync(batch, null, ct);
            (written, duplicates) = (written + r.Written, duplicates + r.Duplicates);
            task.Increment(batch.Count);
            batch.Clear();
        }
        foreach (var item in items)
        {
            if (item.Problem is { } problem)
            {
                problems.Add(problem);
                task.Increment(1);
                continue;
            }
            batch.Add(item.Sample!);
            if (batch.Count >= batchSize)
            {
                await FlushAsync();
            }
        }
        await FlushAsync();
        return new ImportResult(written, duplicates, problems);
    }

    private static void Report(ImportResult result, string name)
    {
        AnsiConsole.MarkupLineInterpolated(
            $"Imported [bold]{result.Written:N0}[/] samples from {name}; [bold]{result.Duplicates:N0}[/] duplicates skipped; [bold]{result.Problems.Count:N0}[/] records skipped.");
        foreach (var p in result.Problems.Take(ProblemsShown))
        {
            AnsiConsole.MarkupLineInterpolated($"  [yellow]line {p.Line}[/]: {p.Reason}");
        }
        if (result.Problems.Count > ProblemsShown)
        {
            AnsiConsole.MarkupLineInterpolated($"  … and {result.Problems.Count - ProblemsShown:N0} more");
        }
    }
}
