using System.CommandLine;
using System.Text.Json;
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
        var json = new Option<bool>("--json") { Description = "No progress bar; print the result as JSON." };
        var command = new Command("import-legacy", "Import the earlier service's store file, keeping hashes and timestamps; all or nothing.") { file, timeZone, json };
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
                var quiet = parse.GetValue(json);
                // One transaction for the whole file: an interrupted import leaves the store as it was.
                var result = await CliProgress.RunAsync(quiet, $"Importing {path.Name}", samples.Count,
                    counter => store.WriteAsync(samples, new InlineProgress<int>(n => counter.Set(n)), ct));
                if (quiet)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new { file = path.FullName, result.Written, result.Duplicates }, CliJson.Options));
                    return 0;
                }
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
