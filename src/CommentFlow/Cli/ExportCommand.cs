using System.CommandLine;
using System.IO.Compression;
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
        var command = new Command("export", "Export the training store.") { format, output, clean };
        command.SetAction(async (parse, ct) =>
        {
            var (host, store) = await CliHost.OpenStoreAsync(parse.UnmatchedTokens, ct);
            using (host)
            {
                var options = host.Services.GetRequiredService<IOptions<CommentFlowOptions>>().Value;
                var kind = parse.GetValue(format)!;
                var cleaner = parse.GetValue(clean) ? new DatasetCleaner(host.Services.GetRequiredService<IOptions<CleaningOptions>>().Value) : null;
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

                async Task<(int, int)> WriteAsync(Stream target)
                {
                    switch (kind)
                    {
                        case "legacy":
                            var stats = await store.GetStatsAsync(ct);
                            var n = await LegacyStoreFile.WriteAsync(target, store.ReadAllAsync(ct), stats, TimeZoneInfo.Local, ct);
                            return (n, n);
                        case "jsonl":
                            return await SampleExporters.WriteJsonLinesAsync(target, store.ReadAllAsync(ct), cleaner, ct);
                        case "chat":
                            return await SampleExporters.WriteChatAsync(target, store.ReadAllAsync(ct), cleaner, ct);
                        case "csv":
                            return await SampleExporters.WriteCsvAsync(target, store.ReadAllAsync(ct), cleaner, ct);
                        default:
                            return await TrainingDatasetWriter.WriteAsync(target, store.ReadAllAsync(ct), ct);
                    }
                }

                var (samples, rows) = await AtomicFile.WriteAsync(path, async stream =>
                {
                    if (!gzip)
                    {
                        return await WriteAsync(stream);
                    }
                    await using var compressed = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true);
                    return await WriteAsync(compressed);
                });
                AnsiConsole.MarkupLineInterpolated($"Exported [bold]{samples:N0}[/] samples ({rows:N0} rows) to [blue]{path}[/]");
                return 0;
            }
        });
        return command;
    }
}
