using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CommentFlow.Tests.Fakes;
using Xunit.Abstractions;

namespace CommentFlow.Tests.Reliability;

/// <summary>
/// The SQLite store on a disk that fills up: a real small file system (tmpfs, mounted by the test, which needs root or
/// CAP_SYS_ADMIN; the test run has both). The writer reports the store's error and retries, the service keeps
/// answering, what was stored stays intact, and once space is back the waiting samples are written.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SqliteOnAFullDisk_ClearErrorServiceAnswersStoreIntactAndWritesResumeWhenSpaceIsBack()
    {
        var mount = TempDir.Create();
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount);
        try
        {
            using var server = await ServerProcess.StartAsync(mount, "Engine=rules", "Capture:BatchSize=100");
            await SendAsync(server, 0, 300);
            await WaitAsync(server, s => s["capture"]!["written"]!.GetValue<long>() == 300);

            // Fill every byte left with a ballast file.
            var ballast = Path.Combine(mount, "ballast");
            await using (var file = new FileStream(ballast, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var chunk = new byte[1 << 16];
                try
                {
                    while (true)
                    {
                        await file.WriteAsync(chunk);
                        await file.FlushAsync();
                    }
                }
                catch (IOException)
                {
                    // No space left: that is the point.
                }
            }
            output.WriteLine($"free after ballast: {new DriveInfo(mount).AvailableFreeSpace} bytes");

            // The service keeps answering; the writer cannot write and says why.
            await SendAsync(server, 300, 500);
            var stats = await WaitAsync(server, s => s["capture"]!["writer_error"] is not null);
            var error = stats["capture"]!["writer_error"]!.GetValue<string>();
            output.WriteLine($"writer_error: {error}");
            Assert.Contains("full", error, StringComparison.OrdinalIgnoreCase);
            using (var ready = await server.Client.GetAsync("/health/ready"))
            {
                var body = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
                Assert.Equal("degraded", body["checks"]!["capture"]!["status"]!.GetValue<string>());
                Assert.Contains("full", body["checks"]!["capture"]!["description"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
            }
            Assert.Equal(System.Net.HttpStatusCode.OK, (await server.Client.GetAsync("/health")).StatusCode);
            Assert.Contains(server.Output, l => l.Contains("disk is full", StringComparison.OrdinalIgnoreCase) || l.Contains("[2101]", StringComparison.Ordinal));

            // What was stored before is intact.
            var store = ServerBackend.OnSqlite(mount);
            Assert.Equal((300L, 300L, "ok"), await store.InspectAsync());

            // Space back: the 500 waiting samples are written, nothing lost, nothing damaged.
            File.Delete(ballast);
            stats = await WaitAsync(server, s => s["capture"]!["written"]!.GetValue<long>() == 800);
            Assert.Equal(0, stats["capture"]!["dropped"]!.GetValue<long>() + stats["capture"]!["lost"]!.GetValue<long>());
            Assert.Null(stats["capture"]!["writer_error"]);
            var took = await server.TerminateAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, server.ExitCode);
            Assert.True(took < TimeSpan.FromSeconds(30));
            Assert.Equal((800L, 800L, "ok"), await store.InspectAsync());
        }
        finally
        {
            await RunAsync("umount", "-l", mount);
        }
    }

    private static async Task SendAsync(ServerProcess server, int from, int count) =>
        await Parallel.ForEachAsync(Enumerable.Range(from, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            using var response = await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions",
                new { ticket_key = $"DISK-{i}", summary = $"Disk ticket {i}", description = string.Concat(Enumerable.Repeat($"log line {i} ", 40)) }, ct);
            response.EnsureSuccessStatusCode();
        });

    private static async Task<JsonObject> WaitAsync(ServerProcess server, Func<JsonObject, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var stats = await server.StatsAsync();
            if (condition(stats))
            {
                return stats;
            }
            Assert.True(DateTime.UtcNow < deadline, $"condition not reached within 30 s: {stats["capture"]!.ToJsonString()}");
            await Task.Delay(100);
        }
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)}: {await error} (this test mounts a small tmpfs: it needs root or CAP_SYS_ADMIN)");
    }
}
