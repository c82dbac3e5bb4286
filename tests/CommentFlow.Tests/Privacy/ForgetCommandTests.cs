using System.Text.Json.Nodes;
using CommentFlow.Cli;
using CommentFlow.Domain;
using CommentFlow.Tests.Legacy;
using CommentFlow.Tests.Cli;

namespace CommentFlow.Tests.Privacy;

[Collection(CliCollection.Name)]
public sealed class ForgetCommandTests
{
    private static Task<(int Code, string Output)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    [Fact]
    public async Task Forget_TicketKey_ErasesItsSamplesAndFeedbackAndPrintsTheCounts()
    {
        var dataDir = TempDir.Create();
        var erased = new[]
        {
            Some.Sample(Some.Context(summary: "Badge reader broken WOMBATSUMMARY", key: "CLI-77")),
            Some.Sample(Some.Context(summary: "Badge reader still broken WOMBATSUMMARY", comments: ["WOMBATCOMMENT reset done"], key: "CLI-77")),
        };
        var kept = Some.Sample(Some.Context(summary: "KEEPSUMMARY printer toner", key: "CLI-78"));
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync([erased[0], kept, erased[1]], null, CancellationToken.None);
        await StoreEvidence.InsertFeedbackAsync(dataDir, erased[1].ContextHash, "CLI-77", finalText: "WOMBATFEEDBACK swap the reader");
        await StoreEvidence.InsertFeedbackAsync(dataDir, kept.ContextHash, "CLI-78");
        Assert.Contains("WOMBATFEEDBACK", StoreEvidence.RawText(dataDir), StringComparison.Ordinal);
        Assert.Contains("CLI-77", StoreEvidence.RawText(dataDir), StringComparison.Ordinal);

        var (code, output) = await RunAsync("forget", "--ticket-key", "CLI-77", "--json", $"--CommentFlow:DataDir={dataDir}");

        Assert.Equal(0, code);
        var json = JsonNode.Parse(output)!;
        Assert.Equal(2, json["samples_deleted"]!.GetValue<int>());
        Assert.Equal(1, json["feedback_deleted"]!.GetValue<int>());
        Assert.True(json["scrubbed"]!.GetValue<bool>());
        Assert.Equal(0, json["snapshots_deleted"]!.GetValue<int>());
        Assert.Equal([kept.ContextHash], (await Stores.ReadAllAsync(dataDir)).Select(s => s.ContextHash));
        Assert.Equal(1, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM feedback"));
        await StoreEvidence.AssertStatsMatchRowsAsync(dataDir);
        var raw = StoreEvidence.RawText(dataDir);
        Assert.Contains("KEEPSUMMARY", raw, StringComparison.Ordinal); // plain payloads: a scan would see the erased text too
        foreach (var marker in new[] { "CLI-77", "WOMBATSUMMARY", "WOMBATCOMMENT", "WOMBATFEEDBACK" })
        {
            Assert.DoesNotContain(marker, raw, StringComparison.Ordinal);
        }

        // Again: nothing left to erase, said plainly.
        var (again, text) = await RunAsync("forget", "--ticket-key", "CLI-77", $"--CommentFlow:DataDir={dataDir}");
        Assert.Equal(0, again);
        Assert.Contains("0 samples, 0 feedback rows and 0 dataset snapshots erased", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("   ")]
    [InlineData(null)]
    public async Task Forget_BlankOrTooLongKey_RefusedNothingDeleted(string? key)
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync([Some.Sample(Some.Context(key: "CLI-1"))], null, CancellationToken.None);

        var (code, output) = await RunAsync("forget", "--ticket-key", key ?? new string('K', 201), $"--CommentFlow:DataDir={dataDir}");

        Assert.NotEqual(0, code);
        Assert.Contains("--ticket-key", output, StringComparison.Ordinal);
        Assert.Equal(1, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM samples"));
    }
}
