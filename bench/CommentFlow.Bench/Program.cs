using System.Globalization;
using CommentFlow.Bench;

// The benchmark suite: dotnet run -c Release --project bench/CommentFlow.Bench -- <scenario|all> [--quick] [--samples N] [--keep]
// Each scenario measures CommentFlow and its reference in the same run, prints a table, and writes JSON results and PNG
// charts to bench/results/. --quick (small sizes, a few seconds each) proves the scenarios still work; its figures mean
// nothing. Timings come from this process (and the processes it starts) only; nothing here is a test.
var scenario = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
if (scenario == "trivial-server")
{
    // The reference server of the HTTP scenario, started by the bench as its own process.
    await HttpScenario.RunTrivialServerAsync(args.Skip(1).ToArray());
    return 0;
}
var quick = args.Contains("--quick");
var samplesArg = Array.IndexOf(args, "--samples");
int? samples = samplesArg >= 0 ? int.Parse(args[samplesArg + 1], CultureInfo.InvariantCulture) : null;
string[] known = ["ingest", "prep", "stats", "http", "local", "training", "storage", "erasure", "micro", "soak", "postgres", "all"];
if (!known.Contains(scenario))
{
    Console.Error.WriteLine($"Unknown scenario '{scenario}'. Scenarios: {string.Join(", ", known)}.");
    return 2;
}

if (scenario is "postgres" or "all" && Environment.GetEnvironmentVariable(PostgresScenario.ConnectionVariable) is null)
{
    // The same command again under scripts/postgres.sh, which starts a throw-away PostgreSQL server (installing Debian's
    // package when missing), sets the variable for the command, and stops the server after it.
    var info = new System.Diagnostics.ProcessStartInfo(Path.Combine(FindRepo(), "scripts", "postgres.sh")) { UseShellExecute = false };
    foreach (var arg in (string[])["dotnet", Path.Combine(AppContext.BaseDirectory, "CommentFlow.Bench.dll"), .. args])
    {
        info.ArgumentList.Add(arg);
    }
    using var child = System.Diagnostics.Process.Start(info)!;
    await child.WaitForExitAsync();
    return child.ExitCode;
}

var env = new BenchEnvironment(FindRepo(), quick);
var rows = new List<ResultRow>();
var details = new Dictionary<string, object>();
bool Runs(string name) => scenario == name || scenario == "all";
try
{
    // Sizes: the issue's 10k, 100k and 1M; quick runs a few thousand.
    int[] ingestSizes = samples is { } n ? [n] : quick ? [3_000] : [10_000, 100_000, 1_000_000];
    if (Runs("ingest"))
    {
        rows.AddRange(await IngestScenario.RunAsync(env, ingestSizes, details));
    }
    if (Runs("prep"))
    {
        rows.AddRange(await PrepScenario.RunAsync(env, samples ?? (quick ? 2_000 : 20_000)));
    }
    if (Runs("stats"))
    {
        rows.AddRange(await StatsExportScenario.RunAsync(env, ingestSizes.Max(), details));
    }
    if (Runs("http"))
    {
        rows.AddRange(await HttpScenario.RunAsync(env, details));
    }
    if (Runs("local"))
    {
        rows.AddRange(await LocalModelScenario.RunAsync(env, samples ?? (quick ? 5_000 : 100_000), details));
    }
    if (Runs("training"))
    {
        rows.AddRange(await TrainingScenario.RunAsync(env, details));
    }
    if (Runs("storage"))
    {
        rows.AddRange(await StorageScenario.RunAsync(env, details));
    }
    if (Runs("soak"))
    {
        rows.AddRange(await SoakScenario.RunAsync(env, details));
    }
    if (Runs("postgres"))
    {
        rows.AddRange(await PostgresScenario.RunAsync(env, samples ?? (quick ? 2_000 : 100_000), details));
    }
    if (Runs("micro"))
    {
        rows.AddRange(MicroBenchmarks.Run(quick));
    }
    if (Runs("erasure"))
    {
        details["erasure"] = await ErasureScenario.RunAsync(env.SharedData, samples ?? (quick ? 5_000 : 100_000));
    }
}
finally
{
    if (args.Contains("--keep"))
    {
        // For profiling by hand: the stores and files the scenarios made stay for the next command.
        Console.WriteLine($"scratch kept: {env.ScratchDir}");
    }
    else
    {
        env.Cleanup();
    }
}

var outDir = Path.Combine(env.Repo, "bench", "results");
Directory.CreateDirectory(outDir);
if (rows.Count > 0)
{
    BenchReport.PrintTable(rows);
    foreach (var chart in BenchReport.WriteCharts(outDir, quick, rows))
    {
        Console.WriteLine($"chart: {chart}");
    }
}
Console.WriteLine($"results: {await BenchReport.WriteJsonAsync(outDir, scenario, quick, rows, details)}");
return 0;

static string FindRepo()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "CommentFlow.slnx")))
        {
            return dir.FullName;
        }
    }
    return Directory.GetCurrentDirectory();
}
