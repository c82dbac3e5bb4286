using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.Storage;
using CommentFlow.Tests.Api;
using CommentFlow.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;

namespace CommentFlow.Tests.Privacy;

/// <summary>
/// Erasure of a ticket through the real server and through <c>commentflow forget</c>, checked on the raw bytes of the
/// store's files: payloads stay plain (compression threshold out of reach) so a scan could see the texts if they were left.
/// </summary>
public sealed class ErasureTests
{
    private const string Api = "/api/ml/comments";
    private const string Key = "ERASE-4711";

    // Words that occur only in the erased ticket's summary, comments, suggestions, feedback and live capture.
    private static readonly string[] ErasedText = ["QUOKKASUMMARY", "QUOKKACOMMENT", "QUOKKASUGGESTION", "QUOKKAFEEDBACK"];

    private static TrainingSample ErasedSample() =>
        Some.Sample(Some.Context(summary: "Printer on floor nine eats pages QUOKKASUMMARY", comments: ["QUOKKACOMMENT the toner smells burnt"], key: Key))
        with { Suggestions = [new Suggestion("QUOKKASUGGESTION replace the fuser unit", SuggestionTypes.Action, 0.9)] };

    private static readonly TrainingSample[] Kept =
    [
        Some.Sample(Some.Context(summary: "KEEPSUMMARY VPN drops every hour", key: "KEEP-1", issueType: "Incident")),
        Some.Sample(Some.Context(summary: "KEEPSUMMARY mailbox full", key: "KEEP-2", priority: "Low"), engine: "ollama"),
    ];

    /// <summary>Store samples and feedback: the ticket's (by key, and by hash only) and another ticket's.</summary>
    private static async Task SeedAsync(string dataDir, TrainingSample erased)
    {
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync([erased, .. Kept], null, CancellationToken.None);
        await StoreEvidence.InsertFeedbackAsync(dataDir, erased.ContextHash, ticketKey: null, finalText: "QUOKKAFEEDBACK use the tray two");
        await StoreEvidence.InsertFeedbackAsync(dataDir, "0123456789abcdef0123456789abcdef", Key); // feedback naming the ticket, sample never stored
        await StoreEvidence.InsertFeedbackAsync(dataDir, Kept[0].ContextHash, "KEEP-1", finalText: "KEEPFEEDBACK restart the client");
    }

    [Fact]
    public async Task DeleteSamples_AdminKey_ErasesEveryTraceOfTheTicketAndNothingElse()
    {
        var dataDir = TempDir.Create();
        var erased = ErasedSample();
        await SeedAsync(dataDir, erased);
        await using var server = await TestServer.StartAsync(dataDir, [.. AccessTests.KeySettings, "Engine=rules", "Storage:CompressionThreshold=1000000"]);

        // The scan sees the ticket before: a scan that could not would prove nothing after.
        var before = StoreEvidence.RawText(dataDir);
        foreach (var marker in ErasedText.Append(Key).Append("KEEPSUMMARY"))
        {
            Assert.Contains(marker, before, StringComparison.Ordinal);
        }

        // Two dataset snapshots: one of this store, holding the ticket, and one of the other tickets only.
        var snapshots = server.Services.GetRequiredService<SnapshotStore>();
        var cleaning = new CleaningOptions { DropRulesEngine = false };
        var (holding, _) = await snapshots.TakeAsync(server.Services.GetRequiredService<ITrainingStore>(), cleaning, TimeProvider.System, CancellationToken.None);
        var others = await Stores.OpenAsync(TempDir.Create());
        await others.WriteAsync(Kept, null, CancellationToken.None);
        var (clean, _) = await snapshots.TakeAsync(others, cleaning, TimeProvider.System, CancellationToken.None);
        Assert.Equal(3, holding.Samples);
        Assert.Equal(2, clean.Samples);

        // Captured through the server, and answered from the cache the second time.
        var live = new { ticket_key = Key, summary = "Scanner offline QUOKKALIVE", description = "Since the move", all_comments = new[] { "Checked the cable" } };
        Assert.False((await SendAsync(server, HttpMethod.Post, $"{Api}/suggestions", AccessTests.AgentKey, live))["cached"]!.GetValue<bool>());
        Assert.True((await SendAsync(server, HttpMethod.Post, $"{Api}/suggestions", AccessTests.AgentKey, live))["cached"]!.GetValue<bool>());

        var response = await SendAsync(server, HttpMethod.Delete, $"{Api}/samples?ticket_key={Key}", AccessTests.AdminKey);
        Assert.True(response["success"]!.GetValue<bool>());
        Assert.Equal(Key, response["ticket_key"]!.GetValue<string>());
        Assert.Equal(2, response["samples_deleted"]!.GetValue<int>()); // the stored one and the one that was queued
        Assert.Equal(2, response["feedback_deleted"]!.GetValue<int>());
        Assert.True(response["scrubbed"]!.GetValue<bool>());
        Assert.Equal(1, response["snapshots_deleted"]!.GetValue<int>());
        Assert.Null(snapshots.Find(holding.Id));
        Assert.False(File.Exists(snapshots.DataPath(holding.Id)));
        Assert.NotNull(snapshots.Find(clean.Id));

        Assert.Equal(0, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM samples WHERE ticket_key = $k", ("$k", Key)));
        Assert.Equal(0, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM feedback WHERE ticket_key = $k OR context_hash = $h", ("$k", Key), ("$h", erased.ContextHash)));
        Assert.Equal(1, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM feedback WHERE ticket_key = 'KEEP-1'"));
        var left = await Stores.ReadAllAsync(dataDir);
        Assert.Equal(Kept.Select(k => (k.ContextHash, k.Context.TicketKey, k.Context.Summary)), left.Select(k => (k.ContextHash, k.Context.TicketKey, k.Context.Summary)));
        await StoreEvidence.AssertStatsMatchRowsAsync(dataDir);
        var stats = (await SendAsync(server, HttpMethod.Get, $"{Api}/ml-stats", AccessTests.AgentKey))["stats"]!;
        Assert.Equal(2, stats["total_samples"]!.GetValue<long>());

        // The next export no longer has it.
        var export = await SendAsync(server, HttpMethod.Post, $"{Api}/export-training-data", AccessTests.AdminKey);
        Assert.Equal(2, export["samples"]!.GetValue<int>());
        var exported = await File.ReadAllTextAsync(export["path"]!.GetValue<string>());
        Assert.Contains("KEEPSUMMARY", exported, StringComparison.Ordinal);
        Assert.DoesNotContain("QUOKKA", exported, StringComparison.Ordinal);

        // Nothing left in the file, its WAL or its shared-memory index, while the server still runs.
        var after = StoreEvidence.RawText(dataDir);
        Assert.Contains("KEEPSUMMARY", after, StringComparison.Ordinal);
        Assert.Contains("KEEPFEEDBACK", after, StringComparison.Ordinal);
        foreach (var marker in ErasedText.Append(Key).Append("QUOKKALIVE"))
        {
            Assert.DoesNotContain(marker, after, StringComparison.Ordinal);
        }

        // The cached answer went with it: the same context is answered afresh.
        Assert.False((await SendAsync(server, HttpMethod.Post, $"{Api}/suggestions", AccessTests.AgentKey, live))["cached"]!.GetValue<bool>());
    }

    [Fact]
    public async Task DeleteSamples_SampleStillInCaptureQueue_WrittenFirstThenErased()
    {
        var dataDir = TempDir.Create();
        var store = new GatedStore(await Stores.OpenAsync(dataDir));
        await using var server = await TestServer.StartAsync(dataDir, b => b.Services.AddSingleton<ITrainingStore>(store), "Engine=rules");
        await SendAsync(server, HttpMethod.Post, $"{Api}/suggestions", key: null, new { ticket_key = Key, summary = "Scanner offline QUOKKALIVE" });
        await store.WriteWaiting.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the writer holds the sample, not yet stored

        var erasure = SendAsync(server, HttpMethod.Delete, $"{Api}/samples?ticket_key={Key}", key: null);
        // Not an assertion: time for an erasure that did not wait for the writer to finish first (and find nothing).
        await Task.WhenAny(erasure, Task.Delay(TimeSpan.FromMilliseconds(500)));
        store.Open();

        Assert.Equal(1, (await erasure)["samples_deleted"]!.GetValue<int>());
        await SuggestionApiTests.WaitForWrittenAsync(server, 1);
        Assert.Equal(0, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM samples"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("?ticket_key=")]
    [InlineData("?ticket_key=%20%20")]
    [InlineData("?ticket_key=LONG")]
    [InlineData("?ticket_key=ERASE-4711&ticket_key=KEEP-1")]
    public async Task DeleteSamples_BadTicketKey_400ProblemNothingDeleted(string query)
    {
        var dataDir = TempDir.Create();
        await SeedAsync(dataDir, ErasedSample());
        await using var server = await TestServer.StartAsync(dataDir, [.. AccessTests.KeySettings, "Engine=rules"]);

        using var request = new HttpRequestMessage(HttpMethod.Delete, $"{Api}/samples{query.Replace("LONG", new string('K', 201), StringComparison.Ordinal)}");
        request.Headers.Add("X-Api-Key", AccessTests.AdminKey);
        using var response = await server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(JsonNode.Parse(text)!["errors"]!["ticket_key"]);

        Assert.Equal(3, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM samples"));
        Assert.Equal(3, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM feedback"));
    }

    [Fact]
    public async Task DeleteSamples_AgentKey_403NothingDeleted()
    {
        var dataDir = TempDir.Create();
        await SeedAsync(dataDir, ErasedSample());
        await using var server = await TestServer.StartAsync(dataDir, [.. AccessTests.KeySettings, "Engine=rules"]);

        using var request = new HttpRequestMessage(HttpMethod.Delete, $"{Api}/samples?ticket_key={Key}");
        request.Headers.Add("X-Api-Key", AccessTests.AgentKey);
        using var response = await server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(1, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM samples WHERE ticket_key = $k", ("$k", Key)));
        Assert.Equal(3, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM feedback"));
    }

    [Fact]
    public async Task DeleteSamples_UnknownTicket_200WithZeroCounts()
    {
        var dataDir = TempDir.Create();
        await SeedAsync(dataDir, ErasedSample());
        await using var server = await TestServer.StartAsync(dataDir, "Engine=rules");

        var response = await SendAsync(server, HttpMethod.Delete, $"{Api}/samples?ticket_key=NOPE-1", key: null);
        Assert.Equal(0, response["samples_deleted"]!.GetValue<int>());
        Assert.Equal(0, response["feedback_deleted"]!.GetValue<int>());
        Assert.Equal(3, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM samples"));
    }

    private static async Task<JsonObject> SendAsync(TestServer server, HttpMethod method, string path, string? key, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        using var response = await server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}
