using System.CommandLine;
using System.Text.Json;
using CommentFlow.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace CommentFlow.Cli;

/// <summary>
/// <c>archive [--all]</c>: what the server's archiving job does (<see cref="ArchiveService"/>), at once and without its
/// per-run bound: whole blocks of the samples older than <c>Storage:ArchiveAfter</c>; with <c>--all</c> every sample but
/// the newest, the last block partly filled (after an import of history, say). SQLite only.
/// </summary>
internal static class ArchiveCommand
{
    public static Command Create()
    {
        var all = new Option<bool>("--all") { Description = "Archive every sample now (but the newest), not only those older than Storage:ArchiveAfter, the last block partly filled." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("archive", "Pack the store's settled samples into compressed blocks now (SQLite; the server does it by itself a day after capture).") { all, json };
        command.SetAction(async (parse, ct) =>
        {
            var (host, store) = await CliHost.OpenStoreAsync(parse.UnmatchedTokens, ct);
            using (host)
            {
                var output = parse.InvocationConfiguration.Output;
                if (store is not SqliteTrainingStore sqlite)
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync("archive: only a SQLite store archives (Storage:Provider is postgres).");
                    return 2;
                }
                var options = host.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
                var block = options.ArchiveBlock == 0 ? new StorageOptions().ArchiveBlock : options.ArchiveBlock;
                var everything = parse.GetValue(all);
                var settledBefore = everything ? DateTimeOffset.MaxValue : TimeProvider.System.GetUtcNow() - options.ArchiveAfter;
                var archived = await sqlite.ArchiveAsync(settledBefore, block, partial: everything, ct);
                var total = (await store.GetStatsAsync(ct)).ArchivedSamples;
                if (parse.GetValue(json))
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(new { Success = true, Archived = archived, ArchivedSamples = total }, CliJson.Options));
                    return 0;
                }
                var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
                console.MarkupLineInterpolated($"{archived:N0} samples archived now, in blocks of {block:N0}; {total:N0} archived in all.");
                return 0;
            }
        });
        return command;
    }
}
