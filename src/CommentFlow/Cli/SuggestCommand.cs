using System.CommandLine;
using System.Text.Json;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Engines.Ollama;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace CommentFlow.Cli;

internal static class SuggestCommand
{
    public static Command Create()
    {
        var summary = new Option<string>("--summary") { Description = "Ticket summary." };
        var description = new Option<string>("--description") { Description = "Ticket description." };
        var issueType = new Option<string>("--issue-type") { DefaultValueFactory = _ => TicketContext.DefaultIssueType };
        var status = new Option<string>("--status") { DefaultValueFactory = _ => TicketContext.DefaultStatus };
        var priority = new Option<string>("--priority") { DefaultValueFactory = _ => TicketContext.DefaultPriority };
        var key = new Option<string?>("--ticket-key");
        var comments = new Option<string[]>("--comment") { Description = "A comment, oldest first; repeat for several.", AllowMultipleArgumentsPerToken = false };
        var max = new Option<int>("--max") { Description = "How many suggestions (1-10).", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Print the answer as JSON." };
        var command = new Command("suggest", "Suggest comments for a ticket, with the same engines as the server; the answer is captured.")
        {
            summary, description, issueType, status, priority, key, comments, max, json,
        };
        command.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValue(summary)) && string.IsNullOrWhiteSpace(result.GetValue(description)))
            {
                result.AddError("--summary or --description is required.");
            }
        });
        max.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 10)
            {
                result.AddError("--max must be between 1 and 10.");
            }
        });
        command.SetAction(async (parse, ct) =>
        {
            using var host = CliHost.Build(parse.UnmatchedTokens, engines: true);
            await host.StartAsync(ct);
            // A one-off command cannot wait for the monitor's first poll: ask Ollama once now.
            await host.Services.GetRequiredService<OllamaMonitor>().ProbeAsync(ct);
            var context = new TicketContext
            {
                TicketKey = parse.GetValue(key),
                Summary = parse.GetValue(summary) ?? "",
                Description = parse.GetValue(description) ?? "",
                IssueType = parse.GetValue(issueType)!,
                Status = parse.GetValue(status)!,
                Priority = parse.GetValue(priority)!,
                Comments = parse.GetValue(comments) ?? [],
            };
            var outcome = await host.Services.GetRequiredService<SuggestionService>().SuggestAsync(context, parse.GetValue(max), ct);
            await host.StopAsync(CancellationToken.None); // drains capture: the sample is stored before we exit

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(outcome, CliJson.Options));
                return 0;
            }
            var table = new Table()
                .Title($"[bold]{outcome.Suggestions.Count} suggestions[/] from [green]{outcome.Engine}[/] ({Markup.Escape(outcome.Model)})")
                .AddColumn("Type").AddColumn(new TableColumn("Confidence").RightAligned()).AddColumn("Text");
            foreach (var s in outcome.Suggestions)
            {
                table.AddRow(s.Type, $"{s.Confidence:0.00}", Markup.Escape(s.Text));
            }
            AnsiConsole.Write(table);
            if (outcome.Fallback is { } f)
            {
                AnsiConsole.MarkupLineInterpolated($"[yellow]{f.From} could not answer ({f.Reason}); fell back to {outcome.Engine}.[/]");
            }
            AnsiConsole.MarkupLineInterpolated($"Context hash [grey]{outcome.ContextHash}[/]");
            return 0;
        });
        return command;
    }
}
