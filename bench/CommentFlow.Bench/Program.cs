using System.Text.Json;
using CommentFlow.Bench;

// The benchmark suite: dotnet run -c Release --project bench/CommentFlow.Bench -- <scenario|all> [--quick] [--samples N]
// Prints a table and writes JSON results to bench/results/. Timings come from this process only; nothing here is a test.
var scenario = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
var quick = args.Contains("--quick");
var samplesArg = Array.IndexOf(args, "--samples");
var samples = samplesArg >= 0 ? int.Parse(args[samplesArg + 1], System.Globalization.CultureInfo.InvariantCulture) : quick ? 5_000 : 100_000;
var repo = FindRepo();
var results = new Dictionary<string, object>();

if (scenario is "local" or "all")
{
    results["local"] = LocalModelScenario.Run(Path.Combine(repo, "..", "shared", "data"), samples, queries: quick ? 300 : 2_000);
}
if (scenario is "erasure" or "all")
{
    results["erasure"] = await ErasureScenario.RunAsync(Path.Combine(repo, "..", "shared", "data"), samples);
}
if (results.Count == 0)
{
    Console.Error.WriteLine($"Unknown scenario '{scenario}'. Scenarios: local, erasure, all.");
    return 2;
}

var outDir = Path.Combine(repo, "bench", "results");
Directory.CreateDirectory(outDir);
var file = Path.Combine(outDir, $"{scenario}{(quick ? "-quick" : "")}.json");
await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new { machine = Environment.ProcessorCount + " cores", quick, results }, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"results: {file}");
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
