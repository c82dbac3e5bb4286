using System.CommandLine;
using CommentFlow.Domain;
using CommentFlow.Legacy;
using Spectre.Console;

namespace CommentFlow.Cli;

internal static class ImportLegacyCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "ml_training_data.json or ml_training_data.json.gz of the earlier service." };
        var timeZone = new Option<string?>("--time-zone")
        {
            Description = "Time zone of the file's naive timestamps (IANA id). Default: this machine's.",
        };
        var command = new Command("import-legacy", "Import the earlier service's store file, keeping hashes and timestamps; all or nothing.") { file, timeZone };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            if (!path.Exists)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]No such file: {path.FullName}[/]");
                return 2;
            }
            var zone = parse.GetValue(timeZone) is { } id ? TimeZoneInfo.FindSystemTimeZoneById(id) : TimeZoneInfo.Local;

            IReadOnlyList<TrainingSample> samples;
            try
            {
                samples = LegacyStoreFile.Read(path.FullName, zone);
            }
            catch (InvalidDataException ex)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]Refused, nothing imported:[/] {ex.Message}");
                return 1;
            }

            var (host, store) = await CliHost.OpenStoreAsync(parse.UnmatchedTokens, ct);
            using (host)
            {
                var result = await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .StartAsync(async progress =>
                    {
                        var task = progress.AddTask("Importing", maxValue: Math.Max(1, samples.Count));
                        // One transaction for the whole file: an interrupted import leaves the store as it was.
                        return await store.WriteAsync(samples, new InlineProgress<int>(n => task.Value = n), ct);
                    });
                AnsiConsole.MarkupLineInterpolated(
                    $"Imported [bold]{result.Written:N0}[/] samples from {path.Name}; [bold]{result.Duplicates:N0}[/] duplicates skipped.");
                return 0;
            }
        });
        return command;
    }
}

/// <summary>Reports on the calling thread; <see cref="Progress{T}"/> would post to the thread pool for every sample.</summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
