using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CommentFlow.Tests.Cli;

/// <summary>The long commands as an operator runs them: on a terminal a bar with counts and a rate; with --json only JSON.</summary>
public sealed partial class CliProgressTests
{
    private static readonly string Tickets = Path.Combine(Paths.Shared, "data", "tickets-multilang.csv");

    [Fact]
    public async Task ImportAndExport_OnATerminal_BarShowsCountDoneOfTotalAndRate()
    {
        var dataDir = TempDir.Create();
        // `script` gives the command a pseudo-terminal, as an operator's shell would: Spectre then draws the live bar.
        var import = await RunOnTerminalAsync("import-tickets", Tickets, $"--CommentFlow:DataDir={dataDir}");
        Assert.Matches(BarLine("Importing tickets-multilang.csv", 933), import);
        Assert.Contains("Imported 933 samples", import, StringComparison.Ordinal);

        var export = await RunOnTerminalAsync("export", "--format", "jsonl", $"--CommentFlow:DataDir={dataDir}");
        Assert.Matches(BarLine("Exporting samples.jsonl", 933), export);
    }

    [Fact]
    public async Task ImportAndExport_Json_OnlyJsonOnStandardOutputWithTheCounts()
    {
        var dataDir = TempDir.Create();
        var import = JsonNode.Parse(await RunAsync("import-tickets", Tickets, "--json", $"--CommentFlow:DataDir={dataDir}"))!;
        Assert.Equal(933, import["written"]!.GetValue<int>());
        Assert.Equal(0, import["duplicates"]!.GetValue<int>());
        Assert.Empty(import["problems"]!.AsArray());

        var file = Path.Combine(dataDir, "all.csv");
        var export = JsonNode.Parse(await RunAsync("export", "--format", "csv", "--out", file, "--json", $"--CommentFlow:DataDir={dataDir}"))!;
        Assert.Equal(933, export["samples"]!.GetValue<int>());
        Assert.Equal(file, export["path"]!.GetValue<string>());
        Assert.True(new FileInfo(file).Length > 100_000);
    }

    /// <summary>A finished bar: the description, 100 %, "N/N" and a rate such as "1,510/s".</summary>
    private static Regex BarLine(string description, int total) =>
        new($@"{Regex.Escape(description)}\s.*100%\s+{total:N0}/{total:N0}\s+[\d,]+/s");

    private static async Task<string> RunOnTerminalAsync(params string[] args)
    {
        var command = string.Join(' ', new[] { "dotnet", "exec", Path.Combine(AppContext.BaseDirectory, "commentflow.dll") }.Concat(args).Select(a => $"'{a}'"));
        var output = await RunProcessAsync("script", "-qec", command, "/dev/null");
        // Carriage returns redraw the bar in place, escape sequences move the cursor: keep the text of each redraw.
        return AnsiEscape().Replace(output.Replace('\r', '\n'), "");
    }

    private static Task<string> RunAsync(params string[] args) =>
        RunProcessAsync("dotnet", ["exec", Path.Combine(AppContext.BaseDirectory, "commentflow.dll"), .. args]);

    private static async Task<string> RunProcessAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["COLUMNS"] = "120";
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {process.ExitCode}: {stdout} {await stderr}");
        return stdout;
    }

    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]")]
    private static partial Regex AnsiEscape();
}
