using System.Text.Json.Nodes;
using CommentFlow.Tests.Legacy;
using CommentFlow.Tests.Privacy;
using CommentFlow.Tests.Cli;

namespace CommentFlow.Tests.Storage;

[Collection(CliCollection.Name)]
public sealed class ArchiveCommandTests
{
    private static Task<(int Code, string Output)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    [Fact]
    public async Task Archive_SettledOnlyThenAll_WholeBlocksThenEverySampleButTheNewest()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        var old = new DateTimeOffset(2026, 9, 1, 0, 0, 0, TimeSpan.Zero);
        var samples = Enumerable.Range(0, 30).Select(i => Some.Sample(at: i < 20 ? old.AddMinutes(i) : DateTimeOffset.UtcNow)).ToList();
        await store.WriteAsync(samples, null, CancellationToken.None);
        string[] settings = [$"--CommentFlow:DataDir={dataDir}", "--CommentFlow:Storage:ArchiveBlock=8"];

        // As the server's job would: whole blocks of the 20 old samples, the recent ones stay rows.
        var (code, output) = await RunAsync(["archive", "--json", .. settings]);
        Assert.Equal(0, code);
        Assert.Equal(16, JsonNode.Parse(output)!["archived"]!.GetValue<int>());

        var (all, text) = await RunAsync(["archive", "--all", .. settings]);
        Assert.Equal(0, all);
        Assert.Contains("13 samples archived now, in blocks of 8; 29 archived in all.", text, StringComparison.Ordinal);
        Assert.Equal(1, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM samples"));
        Assert.Equal(samples.Select(s => s.ContextHash), (await Stores.ReadAllAsync(dataDir)).Select(s => s.ContextHash));
    }
}
