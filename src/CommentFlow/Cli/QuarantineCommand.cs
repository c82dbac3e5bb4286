using System.CommandLine;
using System.Text.Json;
using CommentFlow.Capture;
using Microsoft.Extensions.DependencyInjection;

namespace CommentFlow.Cli;

/// <summary><c>quarantine list|replay</c>: the samples the store refused for what they hold (see <see cref="Quarantine"/>).</summary>
internal static class QuarantineCommand
{
    public static Command Create()
    {
        var command = new Command("quarantine", "Samples capture could not store because the store refused them (DataDir/quarantine/).");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Replay());
        return command;
    }

    private static Command List()
    {
        var json = new Option<bool>("--json") { Description = "Print the entries as JSON." };
        var list = new Command("list", "Show each quarantined sample: when, its context hash, ticket key, and the store's error.") { json };
        list.TreatUnmatchedTokensAsErrors = false;
        list.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            using var host = CliHost.Build(parse.UnmatchedTokens);
            var quarantine = host.Services.GetRequiredService<Quarantine>();
            var entries = await quarantine.ListAsync(ct);
            if (parse.GetValue(json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(
                    entries.Select(e => new { at = e.At, context_hash = e.Sample.ContextHash, ticket_key = e.Sample.Context.TicketKey, error = e.Error }), CliJson.Options));
                return 0;
            }
            await output.WriteLineAsync($"{entries.Count} quarantined sample(s) in {quarantine.FilePath}");
            foreach (var e in entries)
            {
                await output.WriteLineAsync($"{e.At:u}  {e.Sample.ContextHash}  {e.Sample.Context.TicketKey ?? "-"}  {e.Error}");
            }
            return 0;
        });
        return list;
    }

    private static Command Replay()
    {
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var replay = new Command("replay", "Write the quarantined samples to the store; those it still refuses stay. Exit 0 all stored, 1 some still refused.") { json };
        replay.TreatUnmatchedTokensAsErrors = false;
        replay.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var (host, store) = await CliHost.OpenStoreAsync(parse.UnmatchedTokens, ct);
            using (host)
            {
                var result = await host.Services.GetRequiredService<Quarantine>().ReplayAsync(store, ct);
                await output.WriteLineAsync(parse.GetValue(json)
                    ? JsonSerializer.Serialize(new { written = result.Written, duplicates = result.Duplicates, still_refused = result.StillRefused }, CliJson.Options)
                    : $"Replayed: {result.Written} written, {result.Duplicates} already stored, {result.StillRefused} still refused (kept in quarantine).");
                return result.StillRefused == 0 ? 0 : 1;
            }
        });
        return replay;
    }
}
