using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CommentFlow.Tests.Fakes;

namespace CommentFlow.Tests.Api;

public sealed class SuggestionApiTests
{
    private static object Ticket404 => new
    {
        ticket_key = "WEB-1",
        summary = "Error 404 en página principal",
        description = "Los usuarios reportan error 404",
        issue_type = "Bug",
        all_comments = new[] { "Iniciando investigación", "Revisar configuración del servidor" },
    };

    [Fact]
    public async Task Suggest_NoOllamaRunning_RulesAnswerAndSayWhich()
    {
        await using var server = await TestServer.StartAsync();
        var answer = await server.SuggestAsync(Ticket404);

        Assert.True(answer["success"]!.GetValue<bool>());
        Assert.Equal("rules", answer["engine"]!.GetValue<string>());
        Assert.Equal("rules-v1", answer["model"]!.GetValue<string>());
        Assert.Equal(5, answer["count"]!.GetValue<int>());
        Assert.Equal("33d0f21934ad94f22708f7259eb7a230", answer["context_hash"]!.GetValue<string>());
        Assert.Equal("33d0f219", answer["cache_hash"]!.GetValue<string>());
        Assert.False(answer["cached"]!.GetValue<bool>());
        Assert.Null(answer["fallback"]);
        foreach (var s in answer["suggestions"]!.AsArray())
        {
            Assert.Contains(s!["type"]!.GetValue<string>(), new[] { "diagnostic", "action", "resolution" });
            Assert.InRange(s["confidence"]!.GetValue<double>(), 0, 1);
        }
    }

    [Fact]
    public async Task Suggest_FakeOllamaUp_OllamaAnswers()
    {
        await using var fake = await FakeOllama.StartAsync();
        await using var server = await TestServer.StartAsync(null, $"Ollama:Url={fake.Url}", "Ollama:WarmUp=false");
        await WaitForOllamaAsync(server, "up");

        var answer = await server.SuggestAsync(Ticket404);
        Assert.Equal("ollama", answer["engine"]!.GetValue<string>());
        Assert.Equal("llama3.2", answer["model"]!.GetValue<string>());
        Assert.Equal(3, answer["count"]!.GetValue<int>());
        Assert.Equal("¿Puede enviar una captura del error?", answer["suggestions"]![0]!["text"]!.GetValue<string>());
        Assert.True(fake.TagRequests >= 1);
    }

    [Theory]
    [InlineData("Incident", "In Progress", "High", 4)]
    [InlineData("Service Request", "Waiting for customer", "Lowest", 1)]
    public async Task Suggest_OllamaUp_PromptCarriesIssueTypeStatusPriorityAndMaxSuggestions(string issueType, string status, string priority, int max)
    {
        await using var fake = await FakeOllama.StartAsync();
        await using var server = await TestServer.StartAsync(null, $"Ollama:Url={fake.Url}", "Ollama:WarmUp=false");
        await WaitForOllamaAsync(server, "up");

        var answer = await server.SuggestAsync(new
        {
            summary = "Printer jam", description = "The printer on floor 2 does not print", issue_type = issueType, status, priority, max_suggestions = max,
        });
        Assert.Equal("ollama", answer["engine"]!.GetValue<string>());
        Assert.Equal(Math.Min(max, 3), answer["count"]!.GetValue<int>()); // the fake writes three: at most the asked number are kept

        var messages = Assert.Single(fake.ChatRequests)["messages"]!.AsArray();
        var system = messages.Single(m => m!["role"]!.GetValue<string>() == "system")!["content"]!.GetValue<string>();
        var user = messages.Single(m => m!["role"]!.GetValue<string>() == "user")!["content"]!.GetValue<string>();
        Assert.Contains($"Suggest up to {max} different comments", system, StringComparison.Ordinal);
        Assert.Contains(
            $"Summary: Printer jam\nDescription: The printer on floor 2 does not print\nIssue type: {issueType}\nStatus: {status}\nPriority: {priority}\n",
            user.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Startup_OllamaUp_WarmsTheModelUp()
    {
        await using var fake = await FakeOllama.StartAsync();
        await using var server = await TestServer.StartAsync(null, $"Ollama:Url={fake.Url}");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (fake.ChatRequests.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var warmup = Assert.Single(fake.ChatRequests);
        Assert.Equal("ping", warmup["messages"]![0]!["content"]!.GetValue<string>());
        var health = await server.GetJsonAsync("/api/ml/comments/health");
        Assert.Equal("up", health["ollama"]!["state"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(OllamaFault.Slow, "timeout")]
    [InlineData(OllamaFault.ServerError, "http_error")]
    [InlineData(OllamaFault.MalformedJson, "malformed_response")]
    [InlineData(OllamaFault.DropConnection, "connection_error")]
    [InlineData(OllamaFault.ModelNotFound, "model_error")]
    [InlineData(OllamaFault.EmptyContent, "empty_response")]
    [InlineData(OllamaFault.NotJsonContent, "malformed_response")]
    [InlineData(OllamaFault.InvalidSuggestions, "invalid_output")]
    // ErrorMidStream cannot reach the service: it never streams (OllamaEngineTests.Streaming_ErrorMidStream_TextStopsSilently shows why).
    public async Task Suggest_OllamaFault_RulesAnswerWithTheFallbackReason(OllamaFault fault, string reason)
    {
        await using var fake = await FakeOllama.StartAsync();
        // Only the slow fault needs a short timeout; the others get room so a loaded machine cannot turn them into one.
        var timeout = fault == OllamaFault.Slow ? 2 : 10;
        await using var server = await TestServer.StartAsync(null, $"Ollama:Url={fake.Url}", "Ollama:WarmUp=false", $"Ollama:TimeoutSeconds={timeout}");
        await WaitForOllamaAsync(server, "up");
        fake.Fault = fault;

        var clock = Stopwatch.StartNew();
        var answer = await server.SuggestAsync(Ticket404);
        clock.Stop();

        // The slow fake answers validly after 10 s, so the reason shows the timeout fired; the time is not bounded above
        // (a loaded machine stretches it), only below: the service waited the whole timeout before falling back (less a timer firing early).
        Assert.True(fault != OllamaFault.Slow || clock.Elapsed >= TimeSpan.FromSeconds(timeout * 0.9), $"fell back after {clock.Elapsed}, before the {timeout} s timeout");
        Assert.Equal("rules", answer["engine"]!.GetValue<string>());
        Assert.Equal("ollama", answer["fallback"]!["from"]!.GetValue<string>());
        Assert.Equal(reason, answer["fallback"]!["reason"]!.GetValue<string>());
        Assert.True(answer["count"]!.GetValue<int>() > 0);

        var engines = (await server.GetJsonAsync("/api/ml/comments/ml-stats"))["engines"]!;
        Assert.Equal(1, engines["fallbacks"]![$"ollama:{reason}"]!.GetValue<long>());
        Assert.Equal(1, engines["answers"]!["rules"]!["requests"]!.GetValue<long>());
    }

    [Fact]
    public async Task Suggest_EngineOllamaButOllamaDown_RulesAnswerAndSayOllamaWasUnavailable()
    {
        await using var server = await TestServer.StartAsync(null, "Engine=ollama");
        await WaitForOllamaAsync(server, "down");
        var answer = await server.SuggestAsync(Ticket404);
        Assert.Equal("rules", answer["engine"]!.GetValue<string>());
        Assert.Equal("unavailable", answer["fallback"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Suggest_ModelNotPulled_RulesAnswerWithoutCallingChat()
    {
        await using var fake = await FakeOllama.StartAsync();
        fake.ModelName = "mistral:latest";
        await using var server = await TestServer.StartAsync(null, $"Ollama:Url={fake.Url}");
        await WaitForOllamaAsync(server, "model_missing");
        var answer = await server.SuggestAsync(Ticket404);
        Assert.Equal("rules", answer["engine"]!.GetValue<string>());
        Assert.Empty(fake.ChatRequests); // no warm-up and no chat against a model Ollama does not have
    }

    [Fact]
    public async Task Warmup_OllamaUp_LoadsModelAndReportsDuration()
    {
        await using var fake = await FakeOllama.StartAsync();
        await using var server = await TestServer.StartAsync(null, $"Ollama:Url={fake.Url}", "Ollama:WarmUp=false");
        var warmup = await server.GetJsonAsync("/api/ml/comments/warmup");
        Assert.True(warmup["success"]!.GetValue<bool>(), warmup.ToJsonString());
        Assert.True(warmup["ollama"]!["warmed_up"]!.GetValue<bool>());
        Assert.True(warmup["duration_ms"]!.GetValue<double>() >= 0);
        Assert.Single(fake.ChatRequests);
    }

    [Fact]
    public async Task Warmup_NoOllama_SaysSoWithoutFailing()
    {
        await using var server = await TestServer.StartAsync();
        var warmup = await server.GetJsonAsync("/api/ml/comments/warmup");
        Assert.False(warmup["success"]!.GetValue<bool>());
        Assert.Equal("down", warmup["ollama"]!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task SeedCheck_SameTicketTwiceThenAnother_TwoSamplesByIssueType()
    {
        await using var server = await TestServer.StartAsync();
        var first = await server.SuggestAsync(Ticket404);
        var again = await server.SuggestAsync(Ticket404);
        await server.SuggestAsync(new { summary = "Sistema lento", description = "", issue_type = "Performance" });

        Assert.False(first["cached"]!.GetValue<bool>());
        Assert.True(again["cached"]!.GetValue<bool>());
        Assert.Equal(first["suggestions"]!.ToJsonString(), again["suggestions"]!.ToJsonString());

        await server.StopAsync();
        await using var reopened = await TestServer.StartAsync(server.DataDir);
        var stats = (await reopened.GetJsonAsync("/api/ml/comments/ml-stats"))["stats"]!;
        Assert.Equal(2, stats["total_samples"]!.GetValue<long>());
        Assert.Equal(1, stats["by_issue_type"]!["Bug"]!.GetValue<long>());
        Assert.Equal(1, stats["by_issue_type"]!["Performance"]!.GetValue<long>());
        Assert.Equal(2, stats["by_issue_type"]!.AsObject().Count);
    }

    [Fact]
    public async Task Suggest_MaxSuggestionsAndAlias_Honoured()
    {
        await using var server = await TestServer.StartAsync();
        var answer = await server.SuggestAsync(new { summary = "Printer jam", description = "The printer on floor 2 does not print", recent_comments = new[] { "Checked toner" }, max_suggestions = 2 });
        Assert.Equal(2, answer["count"]!.GetValue<int>());
        Assert.Equal(2, answer["suggestions"]!.AsArray().Count);
        // recent_comments is an alias of all_comments: it is part of the hash
        Assert.Equal(CommentFlow.Domain.ContextHash.Compute("Printer jam", "The printer on floor 2 does not print", ["Checked toner"]),
            answer["context_hash"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cache_StatsAndClear_CountHitsAndEmpty()
    {
        await using var server = await TestServer.StartAsync();
        await server.SuggestAsync(Ticket404);
        await server.SuggestAsync(Ticket404);
        var stats = (await server.GetJsonAsync("/api/ml/comments/cache/stats"))["cache"]!;
        Assert.Equal(1, stats["entries"]!.GetValue<long>());
        Assert.Equal(1, stats["hits"]!.GetValue<long>());

        Assert.Equal(1, (await server.GetJsonAsync("/api/ml/comments/ml-stats"))["engines"]!["cache_hits"]!.GetValue<long>());

        var cleared = await (await server.Client.PostAsync("/api/ml/comments/cache/clear", null)).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(1, cleared!["cleared"]!.GetValue<int>());
        var after = await server.SuggestAsync(Ticket404);
        Assert.False(after["cached"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Export_AfterSuggestions_WritesOneRowPerSuggestion()
    {
        await using var server = await TestServer.StartAsync();
        await server.SuggestAsync(Ticket404);
        await server.SuggestAsync(new { summary = "Sistema lento", max_suggestions = 3 });
        await WaitForWrittenAsync(server, 2);

        var response = await server.Client.PostAsync("/api/ml/comments/export-training-data", null);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("Training data exported successfully", body["message"]!.GetValue<string>());
        Assert.Equal(2, body["samples"]!.GetValue<int>());
        Assert.Equal(8, body["rows"]!.GetValue<int>());
        var path = body["path"]!.GetValue<string>();
        Assert.Equal(Path.Combine(server.DataDir, "ml_models", "training_dataset.json"), path);

        var rows = JsonNode.Parse(await File.ReadAllTextAsync(path))!.AsArray();
        Assert.Equal(8, rows.Count);
        Assert.Equal("Error 404 en página principal Los usuarios reportan error 404 Iniciando investigación Revisar configuración del servidor",
            rows[0]!["input"]!.GetValue<string>());
        Assert.Equal("Bug", rows[0]!["metadata"]!["issue_type"]!.GetValue<string>());
        Assert.Equal("Sistema lento ", rows[7]!["input"]!.GetValue<string>());
    }

    [Fact]
    public async Task Health_LiveAndReady_ReportStoreAndOllama()
    {
        await using var server = await TestServer.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/health")).StatusCode);
        var ready = await server.GetJsonAsync("/health/ready");
        Assert.Equal("healthy", ready["status"]!.GetValue<string>());
        Assert.Equal("healthy", ready["checks"]!["store"]!["status"]!.GetValue<string>());
        Assert.StartsWith("ollama", ready["checks"]!["ollama"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("no own model trained yet", ready["checks"]!["model"]!["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task UnknownRoute_ProblemDetails404()
    {
        await using var server = await TestServer.StartAsync();
        var response = await server.Client.GetAsync("/api/ml/comments/nope");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    internal static async Task WaitForOllamaAsync(TestServer server, string state)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var health = await server.GetJsonAsync("/api/ml/comments/health");
            if (health["ollama"]!["state"]!.GetValue<string>() == state)
            {
                return;
            }
            await Task.Delay(50);
        }
        Assert.Fail($"Ollama never became {state}");
    }

    internal static async Task WaitForWrittenAsync(TestServer server, long written)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var stats = await server.GetJsonAsync("/api/ml/comments/ml-stats");
            if (stats["capture"]!["written"]!.GetValue<long>() + stats["capture"]!["duplicates"]!.GetValue<long>() >= written)
            {
                return;
            }
            await Task.Delay(20);
        }
        Assert.Fail($"capture never wrote {written} samples");
    }
}
