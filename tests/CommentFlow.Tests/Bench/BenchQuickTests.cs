using System.Diagnostics;
using System.Text.Json.Nodes;

namespace CommentFlow.Tests.Bench;

/// <summary>The benchmark scenarios still run (quick mode, small sizes). No timing is asserted: that is the bench's job.</summary>
public sealed class BenchQuickTests
{
    /// <summary>Capture ingest against the raw insert and the earlier service; stats and export on a store of its own; the service under wrk against a trivial handler.</summary>
    [Theory]
    [InlineData("ingest", new[] { "ingest" })]
    [InlineData("stats", new[] { "export", "stats" })]
    [InlineData("http", new[] { "enqueue", "http" })]
    [InlineData("training", new[] { "training-f1", "training-fit", "training-growth" })]
    [InlineData("storage", new[] { "storage" })]
    [InlineData("micro", new[] { "micro" })]
    [InlineData("prep", new[] { "prep" })]
    [InlineData("soak", new[] { "soak" })]
    [InlineData("postgres", new[] { "postgres", "postgres-locks" })]
    public async Task Scenario_Quick_MeasuresBothSidesAndWritesResultsAndCharts(string scenario, string[] expected)
    {
        var output = await RunBenchAsync(scenario, "--quick", "--samples", "1500");
        var file = output.Split('\n').Single(l => l.StartsWith("results: ", StringComparison.Ordinal))["results: ".Length..].Trim();
        var rows = JsonNode.Parse(await File.ReadAllTextAsync(file))!["rows"]!.AsArray();
        Assert.Equal(expected, rows.Select(r => r!["scenario"]!.GetValue<string>()).Distinct().Order().ToArray());
        foreach (var row in rows)
        {
            // A rate, time or size is positive. A percent is not always: every pg_locks read may see a wait when repeats land
            // on both instances (0 %), and the soak's RSS may shrink (a negative growth).
            var value = row!["commentflow"]!.GetValue<double>();
            Assert.True(row["unit"]!.GetValue<string>() == "percent" ? double.IsFinite(value) : value > 0, row.ToJsonString());
        }
        // Redirected, the summary is plain: one line a row, the case whole on it (a terminal table wraps each cell).
        Assert.DoesNotContain('│', output);
        var lines = output.Split('\n');
        var header = Array.FindIndex(lines, l => l.StartsWith("Scenario ", StringComparison.Ordinal));
        Assert.True(header >= 0, output);
        Assert.All(rows, r => Assert.Contains(lines.Skip(header + 2).Take(rows.Count),
            l => l.StartsWith(r!["scenario"]!.GetValue<string>() + " ", StringComparison.Ordinal) && l.Contains(r["case"]!.GetValue<string>(), StringComparison.Ordinal)));
        // Every comparison carries the reference measured in the same run (the micro-benchmarks are figures of their own).
        if (scenario is not ("micro" or "prep"))
        {
            Assert.Contains(rows, r => r!["reference_value"] is { } v && v.GetValue<double>() > 0 && r["ratio"] is not null);
        }
        var charts = output.Split('\n').Where(l => l.StartsWith("chart: ", StringComparison.Ordinal)).Select(l => l["chart: ".Length..].Trim()).ToList();
        Assert.NotEmpty(charts);
        foreach (var chart in charts)
        {
            var png = await File.ReadAllBytesAsync(chart);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        }
    }

    private static async Task<string> RunBenchAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["exec", Path.Combine(AppContext.BaseDirectory, "CommentFlow.Bench.dll"), .. args])
        {
            info.ArgumentList.Add(a);
        }
        info.Environment["COLUMNS"] = "200";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await stderr + await stdout);
        return await stdout;
    }

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
        Assert.Contains("local model, 2,000 indexed tickets", output, StringComparison.Ordinal);
        var file = output.Split('\n').Single(l => l.StartsWith("results: ", StringComparison.Ordinal))["results: ".Length..].Trim();
        var local = JsonNode.Parse(await File.ReadAllTextAsync(file))!["details"]!["local"]!;
        Assert.Equal(2000, local["samples"]!.GetValue<int>());
        Assert.True(local["queries"]!.GetValue<int>() > 0);
        Assert.True(local["bytes_per_sample"]!.GetValue<long>() > 0);
        Assert.True(local["p99_ms"]!.GetValue<double>() >= local["p50_ms"]!.GetValue<double>());
        // The served path answered by the own model, with each stage timed on the same requests.
        Assert.Equal(local["queries"]!.GetValue<int>() / 3, local["answered_by_model"]!.GetValue<int>());
        Assert.True(local["composition_p50_ms"]!.GetValue<double>() > 0);
        Assert.True(local["nearest_p50_ms"]!.GetValue<double>() > 0);
        Assert.True(local["reply_words_p50"]!.GetValue<int>() > 0);
    }
}
