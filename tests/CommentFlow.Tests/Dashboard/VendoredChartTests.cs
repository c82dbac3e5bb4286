using System.Net.Http;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CommentFlow.Tests.Fakes;

namespace CommentFlow.Tests.Dashboard;

/// <summary>
/// The vendored Chart.js is the package the lock file pins: the manifest's tarball integrity is the lock file's, the
/// committed file has the manifest's hash, and the server serves exactly those bytes.
/// </summary>
public sealed class VendoredChartTests
{
    private static readonly string Dashboard = Path.Combine(Paths.RepoRoot, "src", "CommentFlow", "Dashboard");

    [Fact]
    public async Task ChartJs_MatchesTheLockFileAndTheManifest_AndIsServed()
    {
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Dashboard, "vendor", "chart.js.json")))!;
        var locked = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Dashboard, "package-lock.json")))!["packages"]!["node_modules/chart.js"]!;
        Assert.Equal(locked["version"]!.GetValue<string>(), manifest["version"]!.GetValue<string>());
        Assert.Equal(locked["integrity"]!.GetValue<string>(), manifest["tarball_integrity"]!.GetValue<string>());
        Assert.Equal("MIT", locked["license"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(Dashboard, "vendor", "chart.js.LICENSE.md")), "the licence travels with the file");

        var bytes = await File.ReadAllBytesAsync(Path.Combine(Dashboard, "vendor", "chart.umd.min.js"));
        Assert.Equal(manifest["file_sha256"]!.GetValue<string>(), Convert.ToHexStringLower(SHA256.HashData(bytes)));

        await using var server = await TestServer.StartAsync(null, "Engine=rules");
        Assert.Equal(bytes, await server.Client.GetByteArrayAsync("/vendor/chart.umd.js"));
    }
}
