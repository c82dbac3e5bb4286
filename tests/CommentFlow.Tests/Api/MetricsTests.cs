using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CommentFlow.Tests.Fakes;

namespace CommentFlow.Tests.Api;

/// <summary>GET /metrics, parsed by the reference parser (Python's prometheus_client, installed by test.sh), against what the test did.</summary>
public sealed class MetricsTests
{
    private const string Api = "/api/ml/comments";

    [Fact]
    public async Task Metrics_ParseWithPrometheusParser_CountersMatchWhatWasDone()
    {
        await using var fake = await FakeOllama.StartAsync();
        await using var server = await TestServer.StartAsync(null, [.. AccessTests.KeySettings, $"Ollama:Url={fake.Url}", "Ollama:WarmUp=false"]);
        await SuggestionApiTests.WaitForOllamaAsync(server, "up");

        // Two answers from Ollama, one repeat from the cache, one fallback to the rules; two pieces of feedback.
        var first = await SuggestAsync(server, "Printer on floor two jams");
        await SuggestAsync(server, "VPN drops every hour");
        await SuggestAsync(server, "Printer on floor two jams");
        fake.Fault = OllamaFault.ServerError;
        await SuggestAsync(server, "Mailbox is full");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Parse(await server.Client.GetStringAsync("/metrics")).Where(m => m.Name == "commentflow_capture_samples_total" && m.Labels["outcome"] == "written").Sum(m => m.Value) < 3
            && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var id = first["suggestions"]![0]!["id"]!.GetValue<string>();
        await PostAsync(server, $"{Api}/feedback", new { suggestion_id = id, action = "accepted", agent = "ana" });
        await PostAsync(server, $"{Api}/feedback", new { suggestion_id = id, action = "dismissed", agent = "luis" });

        // Anonymous, like the health checks.
        var text = await server.Client.GetStringAsync("/metrics");
        var samples = Parse(text);
        double Value(string name, params (string Key, string Value)[] labels) =>
            samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).Sum(s => s.Value);

        Assert.Equal(2, Value("commentflow_suggestion_requests_total", ("engine", "ollama")));
        Assert.Equal(1, Value("commentflow_suggestion_requests_total", ("engine", "rules")));
        Assert.Equal(1, Value("commentflow_cache_hits_total"));
        Assert.Equal(1, Value("commentflow_fallbacks_total", ("engine", "ollama"), ("reason", "http_error")));
        Assert.Equal(2, Value("commentflow_engine_latency_seconds_count", ("engine", "ollama")));
        Assert.Equal(1, Value("commentflow_engine_latency_seconds_count", ("engine", "rules")));
        Assert.Equal(3, Value("commentflow_capture_samples_total", ("outcome", "enqueued")));
        Assert.Equal(3, Value("commentflow_capture_samples_total", ("outcome", "written")));
        Assert.Equal(0, Value("commentflow_capture_samples_total", ("outcome", "dropped")));
        Assert.Equal(0, Value("commentflow_capture_queue_depth"));
        Assert.Equal(3, Value("commentflow_capture_enqueue_seconds_count")); // every enqueue timed
        Assert.Equal(0, Value("commentflow_capture_writer_failing"));
        Assert.Equal(1, Value("commentflow_feedback_total", ("action", "accepted")));
        Assert.Equal(1, Value("commentflow_feedback_total", ("action", "dismissed")));
        // HTTP durations by route and status: the four suggestion requests, all 200.
        Assert.Equal(4, Value("http_request_duration_seconds_count", ("endpoint", "/api/ml/comments/suggestions"), ("code", "200")));

        // A refused request is measured too.
        using var refused = await server.Client.GetAsync($"{Api}/models");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(1, Parse(await server.Client.GetStringAsync("/metrics"))
            .Where(s => s.Name == "http_request_duration_seconds_count" && s.Labels.GetValueOrDefault("code") == "401").Sum(s => s.Value));
    }

    private static async Task<JsonObject> SuggestAsync(TestServer server, string summary)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Api}/suggestions") { Content = JsonContent.Create(new { summary, description = "since this morning" }) };
        request.Headers.Add("X-Api-Key", AccessTests.AgentKey);
        using var response = await server.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonNode.Parse(body)!.AsObject();
    }

    private static async Task PostAsync(TestServer server, string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("X-Api-Key", AccessTests.AgentKey);
        using var response = await server.Client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private sealed record Sample(string Name, Dictionary<string, string> Labels, double Value);

    /// <summary>Every sample, as Python's prometheus_client parser reads the text; it raises on anything malformed.</summary>
    private static List<Sample> Parse(string exposition)
    {
        const string script = """
            import sys, json
            from prometheus_client.parser import text_string_to_metric_families
            out = [{"name": s.name, "labels": s.labels, "value": s.value}
                   for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples]
            print(json.dumps(out))
            """;
        var start = new ProcessStartInfo("/usr/bin/python3", ["-c", script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var python = Process.Start(start)!;
        python.StandardInput.Write(exposition);
        python.StandardInput.Close();
        var output = python.StandardOutput.ReadToEnd();
        var error = python.StandardError.ReadToEnd();
        Assert.True(python.WaitForExit(30_000), "the parser did not finish");
        Assert.True(python.ExitCode == 0, $"the Prometheus parser refused the exposition: {error}");
        return JsonNode.Parse(output)!.AsArray().Select(s => new Sample(
            s!["name"]!.GetValue<string>(),
            s["labels"]!.AsObject().ToDictionary(l => l.Key, l => l.Value!.GetValue<string>()),
            s["value"]!.GetValue<double>())).ToList();
    }
}
