using System.CommandLine;
using System.Text.Json;
using CommentFlow.Dataset;
using CommentFlow.Privacy;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace CommentFlow.Cli;

/// <summary>
/// <c>forget --ticket-key KEY</c>: the erasure of <c>DELETE /api/ml/comments/samples</c>, on the store directly. A server
/// running on the same store keeps its queued samples and cached answers; the README says to use the endpoint then.
/// </summary>
internal static class ForgetCommand
{
    public static Command Create()
    {
        var ticketKey = new Option<string>("--ticket-key") { Description = "The ticket whose samples and feedback are erased.", Required = true };
        ticketKey.Validators.Add(result =>
        {
            if (Erasure.ValidateTicketKey(result.GetValueOrDefault<string>()) is { } error)
            {
                result.AddError(error.Replace("A ticket_key", "--ticket-key", StringComparison.Ordinal));
            }
        });
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("forget", "Erase a ticket: every sample and feedback row of it, and every copy of their bytes in the store's files.") { ticketKey, json };
        command.SetAction(async (parse, ct) =>
        {
            var key = parse.GetValue(ticketKey)!;
            var (host, store) = await CliHost.OpenStoreAsync(parse.UnmatchedTokens, ct);
            using (host)
            {
                var (result, snapshots) = await Erasure.ForgetTicketAsync(store, host.Services.GetRequiredService<SnapshotStore>(), key, ct);
                var output = parse.InvocationConfiguration.Output;
                if (parse.GetValue(json))
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(
                        new { Success = true, TicketKey = key, SamplesDeleted = result.Samples, FeedbackDeleted = result.Feedback, result.Scrubbed, SnapshotsDeleted = snapshots.Count }, CliJson.Options));
                    return 0;
                }
                var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
                console.MarkupLineInterpolated($"Ticket [bold]{key}[/]: {result.Samples:N0} samples, {result.Feedback:N0} feedback rows and {snapshots.Count:N0} dataset snapshots erased.");
                if (!result.Scrubbed)
                {
                    console.MarkupLine("[yellow]A reader kept the store from being rewritten in time; the deleted bytes may remain in the file until the next erasure. Run it again.[/]");
                }
                return 0;
            }
        });
        return command;
    }
}
