using System.Text.Json.Nodes;
using CommentFlow.Capture;
using CommentFlow.Storage;
using CommentFlow.Tests.Fakes;
using CommentFlow.Tests.Reliability;
using CommentFlow.Tests.Training;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using CommentFlow.Tests.Cli;

namespace CommentFlow.Tests.Capture;

/// <summary>
/// One sample the store refuses for what it holds, in a batch of good ones, through the real server on each backend: the
/// good ones are written, the refused one is quarantined (on disk, counted), nothing is lost, and capture goes on; once
/// the cause is gone, <c>quarantine replay</c> stores it.
/// </summary>
public sealed class QuarantineTests
{
    public static TheoryData<string> Backends => [ServerBackend.Sqlite, ServerBackend.Postgres];

    private const string Marker = "REFUSED-BY-STORE";

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Capture_StoreRefusesOneSampleOfABatch_GoodOnesWritten_RefusedOneQuarantined_ThenReplayed(string backendName)
    {
        var backend = await ServerBackend.CreateAsync(backendName);
        GatedStore? gated = null;
        // The error each backend's driver raises for a value it refuses: SQLite's CONSTRAINT, PostgreSQL's 22001.
        Exception Refusal() => backendName == ServerBackend.Sqlite
            ? new SqliteException("CHECK constraint failed: injected", 19)
            : new PostgresException("value too long for type character varying(100)", "ERROR", "ERROR", "22001");
        await using (var server = await TestServer.StartAsync(backend.DataDir, b =>
        {
            var real = b.Services.Last(d => d.ServiceType == typeof(ITrainingStore)).ImplementationFactory!;
            b.Services.AddSingleton<ITrainingStore>(sp => gated = new GatedStore((ITrainingStore)real(sp))
            {
                Refuse = s => s.Context.Summary.Contains(Marker, StringComparison.Ordinal) ? Refusal() : null,
            });
        }, ["Engine=rules", .. backend.Settings]))
        {
            // The gate holds the writer on its first batch while the rest queue up: they are written as one batch.
            var first = server.SuggestAsync(new { summary = "Printer 0 offline", description = "the office printer" });
            await gated!.WriteWaiting.Task;
            for (var i = 1; i < 9; i++)
            {
                var summary = i == 5 ? $"Printer {i} offline {Marker}" : $"Printer {i} offline";
                await server.SuggestAsync(new { summary, description = "the office printer" });
            }
            await first;
            gated.Open();

            await OwnModelTests.WaitUntilAsync(async () =>
            {
                var capture = (await server.GetJsonAsync("/api/ml/comments/ml-stats"))["capture"]!;
                return capture["written"]!.GetValue<long>() + capture["quarantined"]!.GetValue<long>() == 9;
            });
            var stats = (await server.GetJsonAsync("/api/ml/comments/ml-stats"))["capture"]!;
            Assert.Equal((8L, 1L, 0L), (stats["written"]!.GetValue<long>(), stats["quarantined"]!.GetValue<long>(), stats["lost"]!.GetValue<long>()));
            Assert.Null(stats["writer_error"]);
            Assert.Contains("commentflow_capture_samples_total{outcome=\"quarantined\"} 1", await server.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);

            // Capture goes on after it.
            await server.SuggestAsync(new { summary = "Printer 9 offline", description = "the office printer" });
            await OwnModelTests.WaitUntilAsync(async () => (await server.GetJsonAsync("/api/ml/comments/ml-stats"))["capture"]!["written"]!.GetValue<long>() == 9);
        }
        Assert.Equal(9, await backend.ScalarAsync("SELECT COUNT(*) FROM samples"));

        var file = Path.Combine(backend.DataDir, "quarantine", Quarantine.FileName);
        var line = JsonNode.Parse(Assert.Single(await File.ReadAllLinesAsync(file)))!;
        Assert.Contains(Marker, line["sample"]!["context"]!["summary"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(backendName == ServerBackend.Sqlite ? "CHECK constraint failed" : "value too long", line["error"]!.GetValue<string>(), StringComparison.Ordinal);

        // The cause fixed (here: the refusing store gone), replay stores it and empties the quarantine.
        var (code, output) = await RunAsync(["quarantine", "replay", "--json", $"--CommentFlow:DataDir={backend.DataDir}", .. backend.Settings.Select(s => $"--CommentFlow:{s}")]);
        Assert.Equal(0, code);
        Assert.Equal(1, JsonNode.Parse(output)!["written"]!.GetValue<int>());
        Assert.Equal(10, await backend.ScalarAsync("SELECT COUNT(*) FROM samples"));
        Assert.Empty(await File.ReadAllLinesAsync(file));
        (code, output) = await RunAsync(["quarantine", "list", "--json", $"--CommentFlow:DataDir={backend.DataDir}"]);
        Assert.Equal((0, 0), (code, JsonNode.Parse(output)!.AsArray().Count));
    }

    private static Task<(int Code, string Output)> RunAsync(params string[] args) => CliRun.RunAsync(args);
}
