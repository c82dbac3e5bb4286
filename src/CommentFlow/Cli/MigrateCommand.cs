using CommentFlow.OwnModel;
using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using CommentFlow.Hosting;
using CommentFlow.Storage;
using CommentFlow.Training;
using Npgsql;
using Spectre.Console;

namespace CommentFlow.Cli;

/// <summary>
/// <c>migrate --from FILE --to CONNECTION</c>: a SQLite store into PostgreSQL, with its models. Exit codes: 0 copied and
/// verified; 1 verification failed, interrupted or failed (run again to resume); 2 refused before copying anything.
/// </summary>
internal static class MigrateCommand
{
    public const int Refused = 2;

    public static Command Create()
    {
        var from = new Option<FileInfo>("--from") { Description = "The SQLite store file (commentflow.db); its ml_models folder beside it is copied too.", Required = true };
        var to = new Option<string>("--to") { Description = "The destination PostgreSQL connection string (Host=…;Port=…;Username=…;Password=…;Database=…).", Required = true };
        var modelsTo = new Option<DirectoryInfo?>("--models-to") { Description = "Where the models go; default: the configured CommentFlow:ModelsDir (or DataDir/ml_models)." };
        var merge = new Option<bool>("--merge") { Description = "Allow a destination that already holds other samples: add this store's to them." };
        var batchSize = new Option<int>("--batch-size") { Description = "Samples per transaction.", DefaultValueFactory = _ => StoreCopy.DefaultBatchSize };
        batchSize.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 100_000)
            {
                r.AddError("--batch-size must be between 1 and 100000.");
            }
        });
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object (no progress bar)." };
        var command = new Command("migrate", "Copy a SQLite store (samples, feedback, model registry) into PostgreSQL: resumable, verified at the end.")
        {
            from, to, modelsTo, merge, batchSize, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var file = parse.GetValue(from)!;
            var asJson = parse.GetValue(json);
            if (!file.Exists)
            {
                return await RefuseAsync($"No such store file: {file.FullName}");
            }
            NpgsqlConnectionStringBuilder connection;
            try
            {
                connection = new NpgsqlConnectionStringBuilder(parse.GetValue(to));
            }
            catch (ArgumentException ex)
            {
                return await RefuseAsync($"--to is not a PostgreSQL connection string: {ex.Message}");
            }
            if (string.IsNullOrEmpty(connection.Host))
            {
                return await RefuseAsync("--to names no Host: it is a PostgreSQL connection string, Host=…;Port=…;Username=…;Password=…;Database=….");
            }

            using var host = CliHost.Build(parse.UnmatchedTokens);
            var stores = host.Services.GetRequiredService<TrainingStores>();
            var time = host.Services.GetRequiredService<TimeProvider>();
            // No masker on either side: the samples were masked when first stored, and are copied as they are.
            var source = stores.Sqlite(SqliteTrainingStore.ConnectionStringFor(file.FullName));
            await using var dataSource = NpgsqlDataSource.Create(connection.ConnectionString);
            var destination = stores.Postgres(dataSource);
            var migration = new StoreCopy(source, destination, time) { BatchSize = parse.GetValue(batchSize), Merge = parse.GetValue(merge) };

            var clock = Stopwatch.StartNew();
            StoreCopyResult result;
            try
            {
                result = asJson
                    ? await migration.RunAsync(null, ct)
                    : await AnsiConsole.Progress()
                        .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                        .StartAsync(progress => migration.RunAsync(new ProgressBars(progress, clock), ct));
            }
            catch (StoreCopyRefusedException ex)
            {
                return await RefuseAsync(ex.Message);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("Interrupted: every finished batch is kept; run the same command again to continue where it stopped.");
                return 1;
            }
            catch (NpgsqlException ex)
            {
                await Console.Error.WriteLineAsync($"The destination failed: {ex.Message} Run the same command again to continue where it stopped.");
                return 1;
            }

            // The models, once the store is copied: a model is of no use without the data it names. The source's are beside
            // its file, wherever this configuration's are.
            var sourceModels = new ModelRegistry(Path.Combine(file.DirectoryName!, "ml_models"));
            var destinationModels = parse.GetValue(modelsTo) is { } dir ? new ModelRegistry(dir.FullName) : host.Services.GetRequiredService<ModelRegistry>();
            var modelsDir = destinationModels.ModelsDir;
            ModelImportResult? models = null;
            if (Path.GetFullPath(sourceModels.ModelsDir) != Path.GetFullPath(modelsDir) && File.Exists(Path.Combine(sourceModels.ModelsDir, ModelRegistry.FileName)))
            {
                try
                {
                    models = await destinationModels.ImportAsync(sourceModels);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or TimeoutException)
                {
                    await Console.Error.WriteLineAsync($"The store is copied; the models are not: {ex.Message} Run the same command again to finish.");
                    return 1;
                }
            }
            var seconds = clock.Elapsed.TotalSeconds;

            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    success = result.Verified,
                    result.Verified,
                    result.Problems,
                    result.Resumed,
                    result.Exact,
                    result.Written,
                    result.Duplicates,
                    result.FeedbackCopied,
                    result.SourceSamples,
                    result.DestinationSamples,
                    result.SourceFeedback,
                    result.DestinationFeedback,
                    result.SourceChecksum,
                    result.DestinationChecksum,
                    result.SourceId,
                    Models = models is null ? null : new { Dir = modelsDir, models.Copied, models.AlreadyPresent, models.Missing, models.Active },
                    Seconds = Math.Round(seconds, 2),
                }, CliJson.Options));
            }
            else
            {
                AnsiConsole.MarkupLineInterpolated(
                    $"{(result.Resumed ? "Resumed: " : "")}[bold]{result.Written:N0}[/] samples written, {result.Duplicates:N0} already there, {result.FeedbackCopied:N0} feedback rows copied in {seconds:0.0} s.");
                AnsiConsole.MarkupLineInterpolated(
                    $"Source {result.SourceSamples:N0} samples / {result.SourceFeedback:N0} feedback (checksum {result.SourceChecksum}); destination {result.DestinationSamples:N0} / {result.DestinationFeedback:N0} ({result.DestinationChecksum}).");
                if (models is not null)
                {
                    AnsiConsole.MarkupLineInterpolated(
                        $"Models: {models.Copied} versions copied, {models.AlreadyPresent} already in {modelsDir}; active: {models.Active ?? "none"}.");
                    foreach (var version in models.Missing)
                    {
                        AnsiConsole.MarkupLineInterpolated($"[yellow]Version {version} is in the source registry but its folder is missing: not copied.[/]");
                    }
                }
                AnsiConsole.MarkupLine(result.Verified ? "[green]Verified.[/]" : "[red]Verification failed.[/]");
            }
            if (!result.Verified)
            {
                await Console.Error.WriteLineAsync($"Verification failed: {string.Join("; ", result.Problems)}.");
                return 1;
            }
            return 0;
        });
        return command;
    }

    private static async Task<int> RefuseAsync(string message)
    {
        await Console.Error.WriteLineAsync($"Refused: {message}");
        return Refused;
    }

    /// <summary>One bar per phase; the description carries the counts and the rate.</summary>
    private sealed class ProgressBars(ProgressContext context, Stopwatch clock) : IProgress<StoreCopyProgress>
    {
        private readonly Dictionary<StoreCopyPhase, (ProgressTask Task, double StartedAt, long StartedDone)> _bars = [];

        public void Report(StoreCopyProgress value)
        {
            if (!_bars.TryGetValue(value.Phase, out var bar))
            {
                bar = (context.AddTask(value.Phase.ToString(), maxValue: Math.Max(1, value.Total)), clock.Elapsed.TotalSeconds, value.Done);
                _bars[value.Phase] = bar;
            }
            var seconds = clock.Elapsed.TotalSeconds - bar.StartedAt;
            var rate = seconds > 0 ? (value.Done - bar.StartedDone) / seconds : 0;
            bar.Task.Description = value.Phase == StoreCopyPhase.Verifying
                ? "Verifying"
                : $"{value.Phase} {value.Done:N0}/{value.Total:N0} ({rate:N0}/s)";
            bar.Task.Value = value.Done;
        }
    }
}
