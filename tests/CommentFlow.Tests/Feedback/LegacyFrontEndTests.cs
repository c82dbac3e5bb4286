using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CommentFlow.Storage;
using CommentFlow.Tests.Api;
using CommentFlow.Tests.Fakes;
using CommentFlow.Tests.Privacy;
using Microsoft.Extensions.DependencyInjection;
using static CommentFlow.Tests.Feedback.FeedbackApiTests;

namespace CommentFlow.Tests.Feedback;

/// <summary>
/// The earlier front end (`ml-comment-suggestions.js`) through the real server: it asks for suggestions without a
/// ticket key and names the ticket (or "unknown") only when the agent clicks "Usar" or "Copiar".
/// </summary>
public sealed class LegacyFrontEndTests
{
    private const string Api = "/api/ml/comments";

    /// <summary>What the earlier front end sends: the ticket's fields, no key, three suggestions.</summary>
    private static object Keyless(string summary) => new
    {
        summary,
        description = "Los usuarios reportan error 404 al abrir la página principal",
        issue_type = "Bug",
        status = "Open",
        priority = "High",
        all_comments = new[] { "Iniciando investigación" },
        max_suggestions = 3,
    };

    [Fact]
    public async Task EarlierFrontEnd_WarmupSuggestUsedThenCopied_BothCountedAsAccepted()
    {
        await using var ollama = await FakeOllama.StartAsync();
        await using var server = await TestServer.StartAsync(null, $"Ollama:Url={ollama.Url}", "Ollama:WarmUp=false");
        await SuggestionApiTests.WaitForOllamaAsync(server, "up");

        Assert.True((await server.GetJsonAsync($"{Api}/warmup"))["success"]!.GetValue<bool>());
        var answer = await server.SuggestAsync(Keyless("Error 404 en página principal"));
        Assert.Equal("ollama", answer["engine"]!.GetValue<string>());
        Assert.Equal(3, answer["count"]!.GetValue<int>());
        var ids = Ids(answer);

        // At once, as the agent clicks: the answer may still be in the capture queue, found in the cache then.
        Assert.Equal(ids[0], await SaveAsync(server, new { ticket_key = "WEB-9", text = Text(answer, 0), type = Type(answer, 0), action = "used" }));
        Assert.Equal(ids[1], await SaveAsync(server, new { ticket_key = "WEB-9", text = Text(answer, 1), type = Type(answer, 1), action = "copied" }));

        await SuggestionApiTests.WaitForWrittenAsync(server, 1);
        var feedback = (await server.GetJsonAsync($"{Api}/ml-stats"))["stats"]!["feedback"]!;
        Assert.Equal(2, feedback["total"]!.GetValue<long>());
        Assert.Equal(2, feedback["by_action"]!["accepted"]!.GetValue<long>());
        var byOllama = feedback["by_engine"]!["ollama"]!;
        Assert.Equal(3, byOllama["shown"]!.GetValue<long>());
        Assert.Equal(2, byOllama["accepted"]!.GetValue<long>());
        Assert.Equal(0.6667, byOllama["acceptance_rate"]!.GetValue<double>());
        // The keyless answer's feedback takes the key the save named, so erasing WEB-9 erases it too.
        Assert.Equal(2, await StoreEvidence.ScalarAsync(server.DataDir, "SELECT COUNT(*) FROM feedback WHERE ticket_key = 'WEB-9' AND action = 'accepted'"));
    }

    [Fact]
    public async Task Save_KeylessAnswerNotYetStored_FoundInTheCache()
    {
        var dataDir = TempDir.Create();
        var store = new GatedStore(await Stores.OpenAsync(dataDir));
        await using var server = await TestServer.StartAsync(dataDir, b => b.Services.AddSingleton<ITrainingStore>(store), "Engine=rules");
        var answer = await server.SuggestAsync(Keyless("La impresora no imprime"));
        await store.WriteWaiting.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the writer holds the sample: only the cache has it

        try
        {
            Assert.Equal(Ids(answer)[0], await SaveAsync(server, new { ticket_key = "unknown", text = Text(answer, 0), type = Type(answer, 0), action = "used" }));
        }
        finally
        {
            store.Open(); // else a failure would leave the server's drain waiting at the gate
        }
        await SuggestionApiTests.WaitForWrittenAsync(server, 1);
        Assert.Equal(1, await StoreEvidence.ScalarAsync(dataDir, "SELECT COUNT(*) FROM feedback WHERE ticket_key IS NULL AND action = 'accepted'"));
    }

    [Fact]
    public async Task Save_AnswersOnlyInTheStore_FoundWhateverKeyTheyWereStoredUnder()
    {
        await using var server = await TestServer.StartAsync(null, "Engine=rules", "Cache:TtlSeconds=0");
        var keyless = await server.SuggestAsync(Keyless("La VPN se desconecta cada hora"));
        await SuggestionApiTests.WaitForWrittenAsync(server, 1);
        Assert.Equal(Ids(keyless)[1], await SaveAsync(server, new { ticket_key = "NET-7", text = Text(keyless, 1), type = Type(keyless, 1), action = "copied" }));

        var keyed = await server.SuggestAsync(new { ticket_key = "WEB-1", summary = "Error 404 en página principal", description = "Los usuarios reportan error 404" });
        await SuggestionApiTests.WaitForWrittenAsync(server, 2);
        // The newest answer with the text wins, here WEB-1's: a save naming another ticket is recorded on it, under its own key.
        Assert.Equal(Ids(keyed)[0], await SaveAsync(server, new { ticket_key = "WEB-2", text = Text(keyed, 0), type = Type(keyed, 0), action = "used" }));

        Assert.Equal(2, (await server.GetJsonAsync($"{Api}/ml-stats"))["stats"]!["feedback"]!["by_action"]!["accepted"]!.GetValue<long>());
        Assert.Equal(1, await StoreEvidence.ScalarAsync(server.DataDir, "SELECT COUNT(*) FROM feedback WHERE ticket_key = 'NET-7'"));
        Assert.Equal(1, await StoreEvidence.ScalarAsync(server.DataDir, "SELECT COUNT(*) FROM feedback WHERE ticket_key = 'WEB-1'"));
    }

    [Theory]
    [InlineData("unknown")]
    [InlineData("WEB-1")]
    public async Task Save_TextNeverSuggested_400ProblemAndNothingRecorded(string ticketKey)
    {
        await using var server = await TestServer.StartAsync(null, "Engine=rules");
        await server.SuggestAsync(Keyless("Error 404 en página principal"));
        await SuggestionApiTests.WaitForWrittenAsync(server, 1);

        using var response = await server.Client.PostAsJsonAsync($"{Api}/save",
            new { ticket_key = ticketKey, text = "Un texto que nadie sugirió.", type = "action", action = "used" });
        await AssertProblemAsync(response, "text");
        Assert.Equal(0, await StoreEvidence.ScalarAsync(server.DataDir, "SELECT COUNT(*) FROM feedback"));
        Assert.Equal(0, (await server.GetJsonAsync($"{Api}/ml-stats"))["stats"]!["feedback"]!["total"]!.GetValue<long>());
    }

    [Fact]
    public async Task CacheStats_OneEntryExpired_BothShapesCountIt()
    {
        var clock = new FakeClock(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));
        await using var server = await TestServer.StartAsync(null, b => b.Services.AddSingleton<TimeProvider>(clock), "Engine=rules", "Cache:TtlSeconds=60");
        await server.SuggestAsync(Keyless("La impresora no imprime"));
        // Each step under a minute, MemoryCache's scan interval, so no scan removes the expired entry before it is counted.
        clock.Advance(TimeSpan.FromSeconds(40));
        await server.SuggestAsync(Keyless("La VPN se desconecta cada hora"));
        clock.Advance(TimeSpan.FromSeconds(30)); // the first is past its 60 s, the second is not

        var stats = await server.GetJsonAsync($"{Api}/cache/stats");
        var cache = stats["cache"]!;
        Assert.True(cache["enabled"]!.GetValue<bool>());
        Assert.Equal(2, cache["entries"]!.GetValue<long>());
        Assert.Equal(2, cache["misses"]!.GetValue<long>());
        Assert.Equal(60, cache["ttl_seconds"]!.GetValue<int>());
        var legacy = stats["cache_stats"]!;
        Assert.Equal(2, legacy["total_entries"]!.GetValue<long>());
        Assert.Equal(1, legacy["valid_entries"]!.GetValue<long>());
        Assert.Equal(1, legacy["expired_entries"]!.GetValue<long>());
        Assert.Equal(60, legacy["ttl_seconds"]!.GetValue<int>());

        await server.Client.PostAsync($"{Api}/cache/clear", null);
        var cleared = (await server.GetJsonAsync($"{Api}/cache/stats"))["cache_stats"]!;
        Assert.Equal(0, cleared["total_entries"]!.GetValue<long>());
        Assert.Equal(0, cleared["valid_entries"]!.GetValue<long>());
    }

    /// <summary>Posts a save as the earlier front end does; returns the id of the suggestion it was recorded on.</summary>
    private static async Task<string> SaveAsync(TestServer server, object body)
    {
        using var response = await server.Client.PostAsJsonAsync($"{Api}/save", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        var saved = JsonNode.Parse(text)!;
        Assert.Equal("accepted", saved["action"]!.GetValue<string>());
        return saved["suggestion_id"]!.GetValue<string>();
    }
}
