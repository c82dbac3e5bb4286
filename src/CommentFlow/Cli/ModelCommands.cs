using CommentFlow.OwnModel;
using System.CommandLine;
using System.Text.Json;
using CommentFlow.Dataset;
using CommentFlow.Training;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace CommentFlow.Cli;

/// <summary><c>train</c> and <c>models list|promote|rollback</c>: the own model's life cycle.</summary>
internal static class ModelCommands
{
    public static Command Train()
    {
        var promote = new Option<bool>("--promote") { Description = "Make the new version active at once (the first version always is)." };
        var json = new Option<bool>("--json") { Description = "Print the new version's manifest as JSON." };
        var snapshot = new Option<string?>("--snapshot") { Description = "Train from this dataset snapshot (see 'dataset snapshots') instead of a fresh snapshot of the store." };
        var force = new Option<bool>("--force") { Description = "Train even when the data gate refuses (Training:MinSamples, Training:MinSamplesPerClass): for experiments." };
        var command = new Command("train", "Snapshot the store's cleaned data (or take --snapshot) and train a new version of the own model from it (retrieval index, calibrated confidence, type classifier).")
        {
            promote, json, snapshot, force,
        };
        command.SetAction(async (parse, ct) =>
        {
            var (host, store) = await CliHost.OpenStoreAsync(parse.UnmatchedTokens, ct);
            using (host)
            {
                var registry = Registry(host);
                var snapshots = host.Services.GetRequiredService<SnapshotStore>();
                var options = host.Services.GetRequiredService<IOptions<TrainingOptions>>().Value;
                var cleaning = host.Services.GetRequiredService<IOptions<CleaningOptions>>().Value;
                var time = host.Services.GetRequiredService<TimeProvider>();
                var request = new TrainingRequest(parse.GetValue(promote), parse.GetValue(force), parse.GetValue(snapshot));
                if (request.SnapshotId is { } id && snapshots.Find(id) is null)
                {
                    var known = snapshots.List().Select(m => m.Id).ToList();
                    await Console.Error.WriteLineAsync($"No dataset snapshot '{id}'. Known: {(known.Count == 0 ? "none ('commentflow dataset snapshot' takes one)" : string.Join(", ", known))}.");
                    return 1;
                }
                TrainingResult result;
                try
                {
                    result = await CliProgress.PhasesAsync(parse.GetValue(json), "Training", phase =>
                        ModelTrainer.TrainAsync(store, snapshots, request, options, cleaning, registry, time, new InlineProgress<string>(phase), ct));
                }
                catch (InvalidDataException ex)
                {
                    await Console.Error.WriteLineAsync($"Not trained: {ex.Message}");
                    return 1;
                }
                if (result.Model is not { } manifest)
                {
                    // stderr, so a script reading --json never mistakes the refusal for a manifest.
                    await Console.Error.WriteLineAsync($"Not trained (snapshot {result.Snapshot.Id}). {result.Gate.Message}");
                    return 1;
                }
                if (parse.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(manifest, CliJson.Options));
                    return 0;
                }
                if (manifest.GateOverridden)
                {
                    AnsiConsole.MarkupLineInterpolated($"[yellow]Forced past the data gate:[/] {string.Join("; ", result.Gate.Shortfalls)}.");
                }
                var active = registry.Read().Active == manifest.Version;
                AnsiConsole.MarkupLineInterpolated(
                    $"Trained [bold]{manifest.Version}[/] from snapshot [bold]{manifest.SnapshotId}[/] on {manifest.RetrievalItems:N0} comments ({manifest.Samples:N0} samples): cross-validated ROUGE-L {manifest.CrossValidatedRougeL:0.000}, k={manifest.Neighbours}, T={manifest.Temperature}.");
                AnsiConsole.MarkupLine(active ? "[green]Active.[/]" : $"Not active yet: commentflow models promote {manifest.Version}");
                return 0;
            }
        });
        return command;
    }

    public static Command Models()
    {
        var command = new Command("models", "List, promote and roll back versions of the own model; a running server picks the change up within seconds.");
        var list = new Command("list", "The versions, newest first, and which is active.");
        list.TreatUnmatchedTokensAsErrors = false;
        list.SetAction(parse =>
        {
            using var host = CliHost.Build(parse.UnmatchedTokens);
            var state = Registry(host).Read();
            var table = new Table().AddColumn("Version").AddColumn("Created").AddColumn("Snapshot").AddColumn(new TableColumn("Comments").RightAligned())
                .AddColumn(new TableColumn("CV ROUGE-L").RightAligned()).AddColumn("k / T").AddColumn("");
            foreach (var v in state.Versions.OrderByDescending(v => v.CreatedAt))
            {
                table.AddRow(v.Version, $"{v.CreatedAt:u}", v.SnapshotId is null ? "-" : v.GateOverridden ? $"{v.SnapshotId} [yellow](forced)[/]" : v.SnapshotId, $"{v.RetrievalItems:N0}", $"{v.CrossValidatedRougeL:0.000}", $"{v.Neighbours} / {v.Temperature}",
                    v.Version == state.Active ? "[green]active[/]" : "");
            }
            AnsiConsole.Write(table);
            return 0;
        });
        var version = new Argument<string>("version");
        var promote = new Command("promote", "Make a version the active one.") { version };
        promote.TreatUnmatchedTokensAsErrors = false;
        promote.SetAction(async parse => await ChangeAsync(parse.UnmatchedTokens, r => r.PromoteAsync(parse.GetValue(version)!)));
        var rollback = new Command("rollback", "Go back to the version that was active before.");
        rollback.TreatUnmatchedTokensAsErrors = false;
        rollback.SetAction(async parse => await ChangeAsync(parse.UnmatchedTokens, r => r.RollbackAsync()));
        command.Subcommands.Add(list);
        command.Subcommands.Add(promote);
        command.Subcommands.Add(rollback);
        return command;
    }

    private static async Task<int> ChangeAsync(IEnumerable<string> configurationArgs, Func<ModelRegistry, Task<RegistryChange>> change)
    {
        using var host = CliHost.Build(configurationArgs);
        var result = await change(Registry(host));
        if (result.Outcome != RegistryOutcome.Changed)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{result.Refusal}[/]");
            return 1;
        }
        AnsiConsole.MarkupLineInterpolated($"Active model: [green]{result.State.Active}[/]");
        return 0;
    }

    private static ModelRegistry Registry(IHost host) => host.Services.GetRequiredService<ModelRegistry>();
}
