using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CommentFlow.Dataset;
using CommentFlow.Export;
using CommentFlow.Storage;
using CommentFlow.Tests.Api;
using CommentFlow.Tests.Fakes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace CommentFlow.Tests.Feedback;

/// <summary>Feedback through the real server: Ollama answers one ticket (through the fake), the rules another.</summary>
public sealed class FeedbackApiTests : IAsyncLifetime
{
    private const string Api = "/api/ml/comments";
    private FakeOllama _ollama = null!;
    private TestServer _server = null!;

    private static object TicketA => new
    {
        ticket_key = "WEB-1",
        summary = "Error 404 en página principal",
        description = "Los usuarios reportan error 404",
        issue_type = "Bug",
        all_comments = new[] { "Iniciando investigación" },
    };

    private static object TicketB => new
    {
        ticket_key = "NET-7",
        summary = "VPN disconnects every hour",
        description = "The VPN client drops the connection and asks for the password again",
        issue_type = "Incident",
        all_comments = new[] { "Which client version?" },
    };

    public async Task InitializeAsync()
    {
        _ollama = await FakeOllama.StartAsync();
        _server = await TestServer.StartAsync(null, $"Ollama:Url={_ollama.Url}", "Ollama:WarmUp=false");
        await SuggestionApiTests.WaitForOllamaAsync(_server, "up");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _ollama.DisposeAsync();
    }

    [Fact]
    public async Task Suggest_EverySuggestionHasStableIdAndResponseHasRequestId()
    {
        var first = await _server.SuggestAsync(TicketA);
        var again = await _server.SuggestAsync(TicketA); // cached: same suggestions, same ids, new request
        var hash = first["context_hash"]!.GetValue<string>();
        var ids = first["suggestions"]!.AsArray().Select(s => s!["id"]!.GetValue<string>()).ToList();
        Assert.Equal([$"{hash}:0", $"{hash}:1", $"{hash}:2"], ids);
        Assert.Equal(ids, again["suggestions"]!.AsArray().Select(s => s!["id"]!.GetValue<string>()));
        Assert.Matches("^[0-9a-f]{32}$", first["request_id"]!.GetValue<string>());
        Assert.NotEqual(first["request_id"]!.GetValue<string>(), again["request_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Feedback_EachKind_StoredCountedAndAcceptanceRatesAsComputedByHand()
    {
        var a = await _server.SuggestAsync(TicketA);
        Assert.Equal("ollama", a["engine"]!.GetValue<string>());
        _ollama.Fault = OllamaFault.ServerError;
        var b = await _server.SuggestAsync(TicketB);
        Assert.Equal("rules", b["engine"]!.GetValue<string>());
        await SuggestionApiTests.WaitForWrittenAsync(_server, 2);
        var aIds = Ids(a);
        var bIds = Ids(b);
        Assert.True(bIds.Count >= 2);

        Assert.False(await FeedbackAsync(new { suggestion_id = aIds[0], action = "accepted", agent = "ana" }));
        Assert.False(await FeedbackAsync(new { suggestion_id = aIds[1], action = "edited", final_text = "Reviso los logs de nginx y te cuento.", agent = "ana" }));
        Assert.False(await FeedbackAsync(new { suggestion_id = aIds[2], action = "dismissed", agent = "ana" }));
        Assert.False(await FeedbackAsync(new { suggestion_id = aIds[2], action = "dismissed", agent = "luis" })); // another agent counts apart
        Assert.False(await FeedbackAsync(new { context_hash = b["context_hash"]!.GetValue<string>(), text = Text(b, 1), action = "dismissed", agent = "luis" }));
        Assert.True(await FeedbackAsync(new { suggestion_id = bIds[1], action = "accepted", agent = "luis" })); // luis changes his mind: the last one is kept
        var saved = await _server.Client.PostAsJsonAsync($"{Api}/save", new { ticket_key = "NET-7", text = Text(b, 0), type = Type(b, 0), action = "copied" });
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        Assert.Equal(bIds[0], (await saved.Content.ReadFromJsonAsync<JsonObject>())!["suggestion_id"]!.GetValue<string>());

        var feedback = (await _server.GetJsonAsync($"{Api}/ml-stats"))["stats"]!["feedback"]!;
        Assert.Equal(6, feedback["total"]!.GetValue<long>());
        Assert.Equal(3, feedback["by_action"]!["accepted"]!.GetValue<long>());
        Assert.Equal(1, feedback["by_action"]!["edited"]!.GetValue<long>());
        Assert.Equal(2, feedback["by_action"]!["dismissed"]!.GetValue<long>());

        // By hand: Ollama showed 3 and had 1 accepted + 1 edited; the rules showed |b| and had 2 accepted.
        var ollama = feedback["by_engine"]!["ollama"]!;
        Assert.Equal(3, ollama["shown"]!.GetValue<long>());
        Assert.Equal(2, ollama["dismissed"]!.GetValue<long>());
        Assert.Equal(0.6667, ollama["acceptance_rate"]!.GetValue<double>());
        var rules = feedback["by_engine"]!["rules"]!;
        Assert.Equal(bIds.Count, rules["shown"]!.GetValue<long>());
        Assert.Equal(Math.Round(2.0 / bIds.Count, 4), rules["acceptance_rate"]!.GetValue<double>());
        Assert.Equal(0.6667, feedback["by_model"]!["llama3.2"]!["acceptance_rate"]!.GetValue<double>());

        // By type: every shown suggestion of both answers, and the kept ones (a0, a1 edited, b0, b1).
        var shown = Types(a).Concat(Types(b)).GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        var kept = new[] { Type(a, 0), Type(a, 1), Type(b, 0), Type(b, 1) }.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        foreach (var (type, n) in shown)
        {
            var row = feedback["by_type"]![type]!;
            Assert.Equal(n, row["shown"]!.GetValue<long>());
            Assert.Equal(Math.Round((double)kept.GetValueOrDefault(type) / n, 4), row["acceptance_rate"]!.GetValue<double>());
        }

        // In the file: one row per suggestion and agent, luis's last word on b1.
        Assert.Equal(6L, await ScalarAsync("SELECT COUNT(*) FROM feedback"));
        Assert.Equal("accepted", await ScalarAsync($"SELECT action FROM feedback WHERE context_hash || ':' || position = '{bIds[1]}' AND agent = 'luis'"));
        Assert.Equal("NET-7", await ScalarAsync($"SELECT ticket_key FROM feedback WHERE context_hash || ':' || position = '{bIds[0]}' AND agent = ''"));
    }

    [Fact]
    public async Task Feedback_Edited_ChatExportAnswersWithTheAgentsTextAndLeavesDismissedOut()
    {
        var a = await _server.SuggestAsync(TicketA);
        await _server.SuggestAsync(TicketB);
        await SuggestionApiTests.WaitForWrittenAsync(_server, 2);
        var ids = Ids(a);
        const string posted = "Revisé el virtual host: faltaba la regla de reescritura, ya está corregido.";
        await FeedbackAsync(new { suggestion_id = ids[1], action = "edited", final_text = posted, agent = "ana" });
        await FeedbackAsync(new { suggestion_id = ids[2], action = "dismissed", agent = "ana" });

        var store = _server.Services.GetRequiredService<ITrainingStore>();
        using var chat = new MemoryStream();
        await SampleExporters.WriteChatAsync(chat, store.ReadAllAsync(CancellationToken.None), null, CancellationToken.None);
        var lines = Encoding.UTF8.GetString(chat.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(2, lines.Count);
        var forA = Assert.Single(lines, l => l["messages"]!.AsArray().Any(m => m!["role"]!.GetValue<string>() == "user"
            && m["content"]!.GetValue<string>().Contains("Error 404 en página principal", StringComparison.Ordinal)));
        var answer = JsonNode.Parse(forA["messages"]!.AsArray().Last()!["content"]!.GetValue<string>())!["suggestions"]!.AsArray();
        var only = Assert.Single(answer); // a demonstration: what the agent posted, nothing the agents did not keep
        Assert.Equal(posted, only!["text"]!.GetValue<string>());
        Assert.Equal(Type(a, 1), only["type"]!.GetValue<string>());

        // The other ticket had no feedback: its answer is unchanged.
        var forB = lines.Single(l => l != forA);
        Assert.True(JsonNode.Parse(forB["messages"]!.AsArray().Last()!["content"]!.GetValue<string>())!["suggestions"]!.AsArray().Count >= 2);

        // JSON Lines carries the feedback as given, and the reviewed suggestions (dismissed kept with a low confidence).
        using var jsonl = new MemoryStream();
        await SampleExporters.WriteJsonLinesAsync(jsonl, store.ReadAllAsync(CancellationToken.None), null, CancellationToken.None);
        var row = Encoding.UTF8.GetString(jsonl.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!)
            .Single(r => r["ticket_key"]!.GetValue<string>() == "WEB-1");
        Assert.Equal(["edited", "dismissed"], row["feedback"]!.AsArray().Select(f => f!["action"]!.GetValue<string>()));
        Assert.Equal(posted, row["output"]!["suggestions"]![1]!["text"]!.GetValue<string>());
        Assert.Equal(CommentFlow.Domain.TrainingSample.DismissedConfidence, row["output"]!["suggestions"]![2]!["confidence"]!.GetValue<double>());

        // Cleaned for training, the dismissed suggestion is gone and the edited one is there with full confidence.
        var cleaner = new DatasetCleaner(new CleaningOptions());
        var sample = await store.ReadAllAsync(CancellationToken.None).SingleAsync(s => s.Context.TicketKey == "WEB-1");
        var clean = cleaner.Clean(sample);
        Assert.DoesNotContain(clean, s => s.Text == Text(a, 2));
        Assert.Contains(clean, s => s.Text == posted && s.Confidence == 1.0);
    }

    [Fact]
    public async Task Feedback_EditedTextWithPersonalData_MaskedInStoreAndCounted()
    {
        var a = await _server.SuggestAsync(TicketA);
        await SuggestionApiTests.WaitForWrittenAsync(_server, 1);
        var before = (await _server.GetJsonAsync($"{Api}/ml-stats"))["stats"]!["masked"]!["email"]?.GetValue<long>() ?? 0;
        await FeedbackAsync(new { suggestion_id = Ids(a)[0], action = "edited", final_text = "Escríbeme a marta.lopez@example.es con la captura." });
        Assert.Equal("Escríbeme a <email> con la captura.", await ScalarAsync("SELECT final_text FROM feedback"));
        Assert.Equal(before + 1, (await _server.GetJsonAsync($"{Api}/ml-stats"))["stats"]!["masked"]!["email"]!.GetValue<long>());
    }

    public static TheoryData<string, string> BadFeedback => new()
    {
        { """{"suggestion_id":"00000000000000000000000000000000:0","action":"accepted"}""", "suggestion_id" },
        { """{"suggestion_id":"HASH:7","action":"accepted"}""", "suggestion_id" },
        { """{"suggestion_id":"HASH","action":"accepted"}""", "suggestion_id" },
        { """{"suggestion_id":"HASH:-1","action":"accepted"}""", "suggestion_id" },
        { """{"suggestion_id":"HASH:0"}""", "action" },
        { """{"suggestion_id":"HASH:0","action":"liked"}""", "action" },
        { """{"suggestion_id":"HASH:0","action":"Accepted"}""", "action" },
        { """{"suggestion_id":"HASH:0","action":"edited"}""", "final_text" },
        { """{"suggestion_id":"HASH:0","action":"edited","final_text":"   "}""", "final_text" },
        { """{"suggestion_id":"HASH:0","action":5}""", "action" },
        { """{"suggestion_id":"HASH:0","context_hash":"HASH","text":"x","action":"accepted"}""", "suggestion_id" },
        { """{"context_hash":"HASH","action":"accepted"}""", "text" },
        { """{"context_hash":"not-a-hash","text":"x","action":"accepted"}""", "context_hash" },
        { """{"context_hash":"HASH","text":"a text nobody suggested","action":"accepted"}""", "text" },
        { """{"action":"accepted"}""", "suggestion_id" },
        { """{"suggestion_id":"HASH:0","action":"accepted","agent":"AGENT"}""", "agent" },
        { """[]""", "body" },
        { "", "body" },
    };

    [Theory]
    [MemberData(nameof(BadFeedback))]
    public async Task Feedback_Bad_400ProblemNamingTheFieldAndNothingStored(string body, string field)
    {
        var a = await _server.SuggestAsync(TicketA);
        await SuggestionApiTests.WaitForWrittenAsync(_server, 1);
        body = body.Replace("HASH", a["context_hash"]!.GetValue<string>(), StringComparison.Ordinal)
            .Replace("AGENT", new string('a', 201), StringComparison.Ordinal);
        using var response = await _server.Client.PostAsync($"{Api}/feedback", new StringContent(body, Encoding.UTF8, "application/json"));
        await AssertProblemAsync(response, field);
        Assert.Equal(0L, await ScalarAsync("SELECT COUNT(*) FROM feedback"));
        Assert.Equal(0, (await _server.GetJsonAsync($"{Api}/ml-stats"))["stats"]!["feedback"]!["total"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("""{"ticket_key":"WEB-1","text":"TEXT0","action":"rejected"}""", "action")]
    [InlineData("""{"ticket_key":"WEB-1","text":"a text nobody suggested","action":"used"}""", "text")]
    [InlineData("""{"text":"TEXT0","action":"used"}""", "ticket_key")]
    [InlineData("""{"ticket_key":"WEB-1","action":"used"}""", "text")]
    public async Task Save_Bad_400ProblemAndNothingStored(string body, string field)
    {
        var a = await _server.SuggestAsync(TicketA);
        await SuggestionApiTests.WaitForWrittenAsync(_server, 1);
        body = body.Replace("TEXT0", Text(a, 0), StringComparison.Ordinal);
        using var response = await _server.Client.PostAsync($"{Api}/save", new StringContent(body, Encoding.UTF8, "application/json"));
        await AssertProblemAsync(response, field);
        Assert.Equal(0L, await ScalarAsync("SELECT COUNT(*) FROM feedback"));
    }

    [Fact]
    public async Task Save_Used_CountsAsAccepted()
    {
        var a = await _server.SuggestAsync(TicketA);
        await SuggestionApiTests.WaitForWrittenAsync(_server, 1);
        using var response = await _server.Client.PostAsJsonAsync($"{Api}/save", new { ticket_key = "WEB-1", text = Text(a, 2), type = Type(a, 2), action = "used" });
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("accepted", body["action"]!.GetValue<string>());
        Assert.Equal(Ids(a)[2], body["suggestion_id"]!.GetValue<string>());
        Assert.Equal(1, (await _server.GetJsonAsync($"{Api}/ml-stats"))["stats"]!["feedback"]!["by_action"]!["accepted"]!.GetValue<long>());
    }

    private async Task<bool> FeedbackAsync(object body)
    {
        using var response = await _server.Client.PostAsJsonAsync($"{Api}/feedback", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!["replaced"]!.GetValue<bool>();
    }

    internal static async Task AssertProblemAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonNode.Parse(text)!["errors"]!.AsObject();
        Assert.True(errors.ContainsKey(field), $"expected an error on '{field}': {text}");
    }

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={_server.DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    internal static List<string> Ids(JsonObject answer) => answer["suggestions"]!.AsArray().Select(s => s!["id"]!.GetValue<string>()).ToList();

    internal static string Text(JsonObject answer, int i) => answer["suggestions"]![i]!["text"]!.GetValue<string>();

    internal static string Type(JsonObject answer, int i) => answer["suggestions"]![i]!["type"]!.GetValue<string>();

    private static IEnumerable<string> Types(JsonObject answer) => answer["suggestions"]!.AsArray().Select(s => s!["type"]!.GetValue<string>());
}
