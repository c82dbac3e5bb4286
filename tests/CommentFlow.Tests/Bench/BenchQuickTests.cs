using System.Diagnostics;
using System.Text.Json.Nodes;

namespace CommentFlow.Tests.Bench;

/// <summary>The benchmark scenarios still run (quick mode, small sizes). No timing is asserted: that is the bench's job.</summary>
public sealed class BenchQuickTests
{
    [Fact]
    public async Task Local_Quick_RunsAndWritesItsResults()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["exec", Path.Combine(AppContext.BaseDirectory, "CommentFlow.Bench.dll"), "local", "--quick", "--samples", "2000"])
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await stderr);

        var output = await stdout;
        Assert.Contains("local model, 2,000 comments", output, StringComparison.Ordinal);
        var file = output.Split('\n').Single(l => l.StartsWith("results: ", StringComparison.Ordinal))["results: ".Length..].Trim();
        var local = JsonNode.Parse(await File.ReadAllTextAsync(file))!["results"]!["local"]!;
        Assert.Equal(2000, local["samples"]!.GetValue<int>());
        Assert.True(local["queries"]!.GetValue<int>() > 0);
        Assert.True(local["bytes_per_sample"]!.GetValue<long>() > 0);
        Assert.True(local["p99_ms"]!.GetValue<double>() >= local["p50_ms"]!.GetValue<double>());
    }
}
