using System.CommandLine;
using System.IO.Compression;
using CommentFlow.Api;
using CommentFlow.Configuration;
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
            Description = "seed: the training dataset (one row per suggestion); legacy: the earlier service's store file.",
            DefaultValueFactory = _ => "seed",
        };
        format.AcceptOnlyFromAmong("seed", "legacy");
        var output = new Option<FileInfo?>("--out") { Description = "Output file (.gz compresses). Default: under DataDir." };
        var command = new Command("export", "Export the training store.") { format, output };
        command.SetAction(async (parse, ct) =>
        {
            var (host, store) = await CliHost.OpenStoreAsync(parse.UnmatchedTokens, ct);
            using (host)
            {
                var dataDir = host.Services.GetRequiredService<IOptions<CommentFlowOptions>>().Value.ResolveDataDir();
                var legacy = parse.GetValue(format) == "legacy";
                var path = parse.GetValue(output)?.FullName
                    ?? Path.Combine(dataDir, legacy ? Path.Combine("exports", LegacyStoreFile.FileName) : DatasetEndpoints.TrainingDatasetPath);
                var gzip = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);

                async Task<(int, int)> WriteAsync(Stream target)
                {
                    if (legacy)
                    {
                        var stats = await store.GetStatsAsync(ct);
                        var n = await LegacyStoreFile.WriteAsync(target, store.ReadAllAsync(ct), stats, TimeZoneInfo.Local, ct);
                        return (n, n);
                    }
                    return await TrainingDatasetWriter.WriteAsync(target, store.ReadAllAsync(ct), ct);
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
