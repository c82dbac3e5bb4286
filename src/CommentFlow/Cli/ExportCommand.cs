using CommentFlow.Storage;
using System.CommandLine;
using System.IO.Compression;
using System.Text.Json;
using CommentFlow.Domain;
using CommentFlow.Api;
using CommentFlow.Configuration;
using CommentFlow.Dataset;
using CommentFlow.Export;
using CommentFlow.Legacy;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace CommentFlow.Cli;

internal static class ExportCommand
{
    public static Command Create()
    {
        var format = new Option<string>("--format")
        {
            Description = "seed: the training dataset (one row per suggestion); legacy: the earlier service's store file; jsonl: one sample per line; chat: fine-tuning messages; csv: one row per suggestion.",
            DefaultValueFactory = _ => "seed",
        };
        format.AcceptOnlyFromAmong("seed", "legacy", "jsonl", "chat", "csv");
        var output = new Option<FileInfo?>("--out") { Description = "Output file (.gz compresses). Default: under DataDir." };
        var clean = new Option<bool>("--clean") { Description = "Apply the cleaning rules (CommentFlow:Cleaning) first (jsonl, chat, csv)." };
        var json = new Option<bool>("--json") { Description = "No progress bar; print path, samples and rows as JSON." };
        var command = new Command("export", "Export the training store.") { format, output, clean, json };
        command.SetAction(async (parse, ct) =>
        {
            var (host, store) = await CliHost.OpenStoreAsync(parse.UnmatchedTokens, ct);
            using (host)
            {
                var options = host.Services.GetRequiredService<IOptions<CommentFlowOptions>>().Value;
                var kind = parse.GetValue(format)!;
                var cleaner = parse.GetValue(clean) ? new DatasetCleaner(host.Services.GetRequiredService<IOptions<CleaningOptions>>().Value, await AgentReplyIndex.ReadAsync(store, ct)) : null;
                var exports = Path.Combine(options.ResolveDataDir(), "exports");
                var path = parse.GetValue(output)?.FullName ?? kind switch
                {
                    "seed" => Path.Combine(options.ResolveModelsDir(), DatasetEndpoints.TrainingDatasetFile),
                    "legacy" => Path.Combine(exports, LegacyStoreFile.FileName),
                    "chat" => Path.Combine(exports, "chat.jsonl"),
                    "csv" => Path.Combine(exports, "samples.csv"),
                    _ => Path.Combine(exports, "samples.jsonl"),
                };
                var gzip = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);

                var stats = await store.GetStatsAsync(ct);
                var quiet = parse.GetValue(json);
                var (samples, rows) = await CliProgress.RunAsync(quiet, $"Exporting {Path.GetFileName(path)}", stats.TotalSamples, counter =>
                {
                    // Counted as the exporter pulls them off the store: the bar moves with the stream.
                    async IAsyncEnumerable<TrainingSample> Counted()
                    {
                        await foreach (var sample in store.ReadAllAsync(ct))
                        {
                            counter.Increment(1);
                            yield return sample;
                        }
                    }

                    async Task<(int, int)> WriteAsync(Stream target)
                    {
                        switch (kind)
                        {
                            case "legacy":
                                var n = await LegacyStoreFile.WriteAsync(target, Counted(), stats, TimeZoneInfo.Local, ct);
                                return (n, n);
                            case "jsonl" when cleaner is null:
                                // Each line serialised where the store decodes its sample, on every core.
                                return await SampleExporters.WriteJsonLinesAsync(target, store.ReadAllAsync(SampleExporters.JsonLine, ct)
                                    .Select(line => { counter.Increment(1); return line; }), ct);
                            case "jsonl":
                                return await SampleExporters.WriteJsonLinesAsync(target, Counted(), cleaner, ct);
                            case "chat":
                                return await SampleExporters.WriteChatAsync(target, Counted(), cleaner, ct);
                            case "csv":
                                return await SampleExporters.WriteCsvAsync(target, Counted(), cleaner, ct);
                            default:
                                return await TrainingDatasetWriter.WriteAsync(target, Counted(), ct);
                        }
                    }

                    return AtomicFile.WriteAsync(path, async stream =>
                    {
                        if (!gzip)
                        {
                            return await WriteAsync(stream);
                        }
                        await using var compressed = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true);
                        return await WriteAsync(compressed);
                    });
                });
                if (quiet)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new { path, samples, rows }, CliJson.Options));
                    return 0;
                }
                AnsiConsole.MarkupLineInterpolated($"Exported [bold]{samples:N0}[/] samples ({rows:N0} rows) to [blue]{path}[/]");
                return 0;
            }
        });
        return command;
    }
}
