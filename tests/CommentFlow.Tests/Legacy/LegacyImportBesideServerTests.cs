using System.Diagnostics;
using System.IO.Compression;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using CommentFlow.Tests.Fakes;
using CommentFlow.Tests.Reliability;

namespace CommentFlow.Tests.Legacy;

public sealed class LegacyImportBesideServerTests
{
    /// <summary>
    /// A damaged file imported (by the real CLI, in its own process) into the store a running server writes to: a clear
    /// error naming the file, nothing imported, the server answers throughout and what it stored is intact.
    /// </summary>
    [Fact]
    public async Task ImportLegacy_DamagedFileIntoTheStoreOfARunningServer_ClearErrorServerAnswersStoreIntact()
    {
        var dataDir = TempDir.Create();
        using var server = await ServerProcess.StartAsync(dataDir, "Engine=rules");
        await Parallel.ForEachAsync(Enumerable.Range(0, 200), async (i, ct) =>
            (await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions",
                new { ticket_key = $"LIVE-{i}", summary = $"Live ticket {i}", description = "Outlook crashes on start" }, ct)).EnsureSuccessStatusCode());
        await WaitForWrittenAsync(server, 200);
        var backend = ServerBackend.OnSqlite(dataDir);
        Assert.Equal((200L, 200L, "ok"), await backend.InspectAsync());

        // A gzip file cut in the middle, as a copy interrupted by a full disk leaves it.
        var damaged = Path.Combine(TempDir.Create(), "ml_training_data.json.gz");
        var samples = string.Join(",", Enumerable.Range(0, 500).Select(i =>
            $$"""{"context_hash":"{{Convert.ToHexStringLower(MD5.HashData(BitConverter.GetBytes(i)))}}","ticket_context":{"summary":"old {{i}}","description":"d","all_comments":[]},"suggestions":[],"model_used":"llama3.2","timestamp":"2025-01-01T00:00:00"}"""));
        using (var buffer = new MemoryStream())
        {
            await using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
            {
                await gzip.WriteAsync(Encoding.UTF8.GetBytes($$"""{"version":"1.0","training_samples":[{{samples}}]}"""));
            }
            await File.WriteAllBytesAsync(damaged, buffer.ToArray()[..(int)(buffer.Length / 2)]);
        }

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["exec", Path.Combine(AppContext.BaseDirectory, "commentflow.dll"), "import-legacy", damaged, $"--CommentFlow:DataDir={dataDir}"])
        {
            info.ArgumentList.Add(arg);
        }
        using var cli = Process.Start(info)!;
        var stdout = cli.StandardOutput.ReadToEndAsync();
        var said = await cli.StandardError.ReadToEndAsync() + await stdout;
        await cli.WaitForExitAsync();

        Assert.Equal(1, cli.ExitCode);
        Assert.Contains("ml_training_data.json.gz", said, StringComparison.Ordinal);
        Assert.Matches("(?i)truncated|damaged|unexpected end|not a valid|invalid", said);

        // The server still answers and captures; the store holds exactly what it held plus that, undamaged.
        (await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions", new { summary = "After the failed import", description = "still answering" })).EnsureSuccessStatusCode();
        await WaitForWrittenAsync(server, 201);
        Assert.Equal((201L, 201L, "ok"), await backend.InspectAsync());
        Assert.Equal(201, (await server.StatsAsync())["stats"]!["total_samples"]!.GetValue<long>());
    }

    private static async Task WaitForWrittenAsync(ServerProcess server, long count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await server.StatsAsync())["capture"]!["written"]!.GetValue<long>() < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"fewer than {count} written within 30 s");
            await Task.Delay(50);
        }
    }
}
