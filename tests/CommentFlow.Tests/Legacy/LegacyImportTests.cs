using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json.Nodes;
using CommentFlow.Cli;
using CommentFlow.Domain;

namespace CommentFlow.Tests.Legacy;

[Collection(CliCollection.Name)]
public sealed class LegacyImportTests
{
    /// <summary>Runs the earlier service's own store code (the Python baseline) to write a real legacy file.</summary>
    private static async Task<string> WriteLegacyStoreAsync(int samples)
    {
        var dir = TempDir.Create();
        var info = new ProcessStartInfo("python3", (string[])[Paths.SeedBaseline, "bench", "--dir", dir, "--samples", samples.ToString(System.Globalization.CultureInfo.InvariantCulture), "--dup-rate", "0.1"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var python = Process.Start(info)!;
        var stderr = python.StandardError.ReadToEndAsync();
        await python.StandardOutput.ReadToEndAsync();
        await python.WaitForExitAsync();
        Assert.True(python.ExitCode == 0, await stderr);
        var gz = Path.Combine(dir, "ml_training_data.json.gz");
        var plain = Path.Combine(dir, "ml_training_data.json");
        return File.Exists(gz) ? gz : plain;
    }

    private static JsonObject ReadLegacy(string path)
    {
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        return JsonNode.Parse(stream)!.AsObject();
    }

    private static Task<int> RunAsync(params string[] args) => CommentFlow.Cli.CommandLine.Build().Parse(args).InvokeAsync();

    [Fact]
    public async Task ImportLegacy_FileOfEarlierService_IdenticalHashesCountsAndRoundTrip()
    {
        var legacyPath = await WriteLegacyStoreAsync(150);
        Assert.EndsWith(".gz", legacyPath, StringComparison.Ordinal); // the earlier store compresses from 100 samples
        var legacy = ReadLegacy(legacyPath);
        var legacySamples = legacy["training_samples"]!.AsArray();

        var dataDir = TempDir.Create();
        Assert.Equal(0, await RunAsync("import-legacy", legacyPath, $"--CommentFlow:DataDir={dataDir}"));
        var imported = await Stores.ReadAllAsync(dataDir);

        Assert.Equal(legacySamples.Count, imported.Count);
        Assert.Equal(legacy["metadata"]!["total_samples"]!.GetValue<int>(), imported.Count);
        Assert.Equal(legacySamples.Select(s => s!["context_hash"]!.GetValue<string>()), imported.Select(s => s.ContextHash));
        // The hashes the earlier service stored are the ones we compute from the same text.
        Assert.All(imported, s => Assert.Equal(s.ContextHash, s.Context.Hash()));
        Assert.Equal(legacySamples.Sum(s => s!["output"]!["suggestions"]!.AsArray().Count), imported.Sum(s => s.Suggestions.Count));

        // Export back in the legacy format, import into a fresh store: nothing changes.
        var exported = Path.Combine(TempDir.Create(), "ml_training_data.json.gz");
        Assert.Equal(0, await RunAsync("export", "--format", "legacy", "--out", exported, $"--CommentFlow:DataDir={dataDir}"));
        var roundTrip = ReadLegacy(exported);
        Assert.Equal(
            legacySamples.Select(s => (s!["context_hash"]!.GetValue<string>(), s["timestamp"]!.GetValue<string>())),
            roundTrip["training_samples"]!.AsArray().Select(s => (s!["context_hash"]!.GetValue<string>(), s["timestamp"]!.GetValue<string>())));

        var secondDir = TempDir.Create();
        Assert.Equal(0, await RunAsync("import-legacy", exported, $"--CommentFlow:DataDir={secondDir}"));
        var reimported = await Stores.ReadAllAsync(secondDir);
        Assert.Equal(imported.Count, reimported.Count);
        for (var i = 0; i < imported.Count; i++)
        {
            Assert.Equal(imported[i].ContextHash, reimported[i].ContextHash);
            Assert.Equal(imported[i].CreatedAt, reimported[i].CreatedAt);
            Assert.Equal(imported[i].Context with { Comments = [] }, reimported[i].Context with { Comments = [] });
            Assert.Equal(imported[i].Context.Comments, reimported[i].Context.Comments);
            Assert.Equal(imported[i].Suggestions, reimported[i].Suggestions);
            Assert.Equal(imported[i].Model, reimported[i].Model);
        }

        // Importing the same file again only finds duplicates.
        Assert.Equal(0, await RunAsync("import-legacy", legacyPath, $"--CommentFlow:DataDir={dataDir}"));
        Assert.Equal(imported.Count, (await Stores.ReadAllAsync(dataDir)).Count);
    }

    [Fact]
    public async Task ImportLegacy_TruncatedOrMalformed_RefusedAndNothingImported()
    {
        var legacyPath = await WriteLegacyStoreAsync(120);
        var bytes = await File.ReadAllBytesAsync(legacyPath);
        var dir = TempDir.Create();
        var truncated = Path.Combine(dir, "truncated.json.gz");
        await File.WriteAllBytesAsync(truncated, bytes[..(bytes.Length * 2 / 3)]);

        var plainJson = ReadLegacy(legacyPath);
        plainJson["training_samples"]![7]!["context_hash"] = "not-a-hash";
        var malformed = Path.Combine(dir, "malformed.json");
        await File.WriteAllTextAsync(malformed, plainJson.ToJsonString());
        var notJson = Path.Combine(dir, "garbage.json");
        await File.WriteAllTextAsync(notJson, "{\"training_samples\": [ {\"context_hash\": ");

        var dataDir = TempDir.Create();
        Assert.Equal(1, await RunAsync("import-legacy", truncated, $"--CommentFlow:DataDir={dataDir}"));
        Assert.Equal(1, await RunAsync("import-legacy", malformed, $"--CommentFlow:DataDir={dataDir}"));
        Assert.Equal(1, await RunAsync("import-legacy", notJson, $"--CommentFlow:DataDir={dataDir}"));
        Assert.Empty(await Stores.ReadAllAsync(dataDir));
    }
}

[CollectionDefinition(Name)]
public sealed class CliCollection
{
    // CLI commands write to the process-wide console; run them one at a time.
    public const string Name = "cli";
}
