using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CommentFlow.Engines;
using CommentFlow.Tests.Api;
using CommentFlow.Tests.Fakes;

namespace CommentFlow.Tests.Dashboard;

/// <summary>The endpoints the dashboard added, and the page's files, over the real server.</summary>
public sealed class DashboardApiTests
{
    private const string Api = "/api/ml/comments";

    private static async Task<JsonObject> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonNode.Parse(text)!.AsObject();
        if (status == HttpStatusCode.BadRequest)
        {
            Assert.True(problem["errors"]!.AsObject().ContainsKey(field), text);
        }
        return problem;
    }

    [Theory]
    [InlineData("page=0", "page")]
    [InlineData("page=x", "page")]
    [InlineData("page=1.5", "page")]
    [InlineData("page=1&page=2", "page")]
    [InlineData("size=0", "size")]
    [InlineData("size=201", "size")]
    [InlineData("size=-1", "size")]
    [InlineData("q=a&q=b", "q")]
    public async Task ListSamples_BadQuery_400ProblemNamingTheParameter(string query, string field)
    {
        await using var server = await TestServer.StartAsync();
        using var response = await server.Client.GetAsync($"{Api}/samples?{query}");
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task ListSamples_QueryOver200Characters_400Problem()
    {
        await using var server = await TestServer.StartAsync();
        using var response = await server.Client.GetAsync($"{Api}/samples?q={new string('a', 201)}");
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "q");
    }

    [Fact]
    public async Task ListSamples_AfterSuggestionsAndFeedback_NewestFirstWithIdsAndFeedback()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        var old = Some.Sample(Some.Context(key: "OLD-1"), at: new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        await store.WriteAsync([old], null, CancellationToken.None);
        await using var server = await TestServer.StartAsync(dataDir, "Engine=rules");
        var answer = await server.SuggestAsync(new { ticket_key = "NEW-1", summary = "Printer offline", description = "The printer on floor 2 is offline" });
        var id = answer["suggestions"]![0]!["id"]!.GetValue<string>();
        using (var feedback = await server.Client.PostAsJsonAsync($"{Api}/feedback", new { suggestion_id = id, action = "edited", final_text = "Restarted it", agent = "ana" }))
        {
            Assert.Equal(HttpStatusCode.OK, feedback.StatusCode);
        }
        await WaitForSamplesAsync(server, 2);

        var page = await server.GetJsonAsync($"{Api}/samples?page=1&size=10");
        Assert.Equal(2, page["total"]!.GetValue<long>());
        var samples = page["samples"]!.AsArray();
        Assert.Equal(["NEW-1", "OLD-1"], samples.Select(s => s!["ticket_key"]!.GetValue<string>()));
        Assert.Equal("Printer offline", samples[0]!["summary"]!.GetValue<string>());
        var first = samples[0]!["suggestions"]![0]!;
        Assert.Equal(id, first["id"]!.GetValue<string>());
        var given = Assert.Single(first["feedback"]!.AsArray())!;
        Assert.Equal(("ana", "edited", "Restarted it"), (given["agent"]!.GetValue<string>(), given["action"]!.GetValue<string>(), given["final_text"]!.GetValue<string>()));

        var found = await server.GetJsonAsync($"{Api}/samples?q=old");
        Assert.Equal(old.ContextHash, Assert.Single(found["samples"]!.AsArray())!["context_hash"]!.GetValue<string>());
        var daily = await server.GetJsonAsync($"{Api}/samples/daily");
        Assert.Equal("2026-01-02", daily["days"]![0]!["day"]!.GetValue<string>());
        Assert.Equal(2, daily["days"]!.AsArray().Sum(d => d!["samples"]!.GetValue<long>()));
    }

    [Fact]
    public async Task Activity_AfterSuggestions_AnswersByEngineAndLatencyPercentiles()
    {
        await using var server = await TestServer.StartAsync(null, "Engine=rules", "Cache:TtlSeconds=0");
        for (var i = 0; i < 5; i++)
        {
            await server.SuggestAsync(new { summary = $"VPN drops every hour {i}" });
        }
        var activity = await server.GetJsonAsync($"{Api}/activity");
        Assert.Equal(5, activity["minutes"]!.AsArray().Sum(m => m!["answers"]!["rules"]?.GetValue<long>() ?? 0));
        var rules = activity["latency"]!["rules"]!;
        Assert.Equal(5, rules["count"]!.GetValue<int>());
        Assert.True(rules["p50"]!.GetValue<double>() <= rules["p99"]!.GetValue<double>());
        Assert.True(rules["p99"]!.GetValue<double>() <= rules["max"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("seed", "training_dataset.json")]
    [InlineData("legacy", "ml_training_data.json")]
    [InlineData("jsonl", "samples.jsonl")]
    [InlineData("chat", "chat.jsonl")]
    [InlineData("csv", "samples.csv")]
    public async Task Export_EachFormat_DownloadsTheStoreAsAFile(string format, string file)
    {
        await using var server = await TestServer.StartAsync(null, "Engine=rules");
        await server.SuggestAsync(new { ticket_key = "EXP-7", summary = "Mailbox full", description = "Cannot receive mail" });
        await WaitForSamplesAsync(server, 1);

        using var response = await server.Client.GetAsync($"{Api}/export?format={format}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(file, response.Content.Headers.ContentDisposition!.FileNameStar ?? response.Content.Headers.ContentDisposition.FileName);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("Mailbox full", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("format=xml")]
    [InlineData("format=csv&format=jsonl")]
    public async Task Export_MissingOrUnknownFormat_400Problem(string query)
    {
        await using var server = await TestServer.StartAsync();
        using var response = await server.Client.GetAsync($"{Api}/export?{query}");
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "format");
    }

    [Fact]
    public async Task PromoteAndRollback_NoModels_404And409Problems()
    {
        await using var server = await TestServer.StartAsync();
        using var promote = await server.Client.PostAsync($"{Api}/models/20260101-000000/promote", null);
        await AssertProblemAsync(promote, HttpStatusCode.NotFound, "");
        using var rollback = await server.Client.PostAsync($"{Api}/models/rollback", null);
        await AssertProblemAsync(rollback, HttpStatusCode.Conflict, "");
    }

    [Fact]
    public async Task Page_KeysConfigured_PageAndChartJsServedWithoutAKeyDataStillNeedsOne()
    {
        await using var server = await TestServer.StartAsync(null, AccessTests.KeySettings);
        var page = await server.Client.GetStringAsync("/");
        Assert.Contains("<title>CommentFlow dashboard</title>", page, StringComparison.Ordinal);
        Assert.Contains("vendor/chart.umd.js", page, StringComparison.Ordinal);
        foreach (var (path, type, marker) in new[]
        {
            ("/vendor/chart.umd.js", "text/javascript", "Chart.js v4"), ("/app.js", "text/javascript", "X-Api-Key"), ("/styles.css", "text/css", ":focus-visible"),
        })
        {
            using var response = await server.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType!.MediaType);
            Assert.Contains(marker, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using var data = await server.Client.GetAsync($"{Api}/samples/daily");
        Assert.Equal(HttpStatusCode.Unauthorized, data.StatusCode);
    }

    [Fact]
    public void ActivitySeries_MinutesAndWindow_BucketsByMinuteDropsOlderThanADayPercentilesNearestRank()
    {
        var clock = new FakeClock(new DateTimeOffset(2026, 11, 24, 10, 0, 30, TimeSpan.Zero));
        var series = new ActivitySeries(clock);
        for (var i = 1; i <= 100; i++)
        {
            series.Answered("rules", TimeSpan.FromMilliseconds(i));
        }
        series.Compared(true);
        clock.Advance(TimeSpan.FromMinutes(1));
        series.Answered("local", TimeSpan.FromMilliseconds(3));
        series.Compared(true);
        series.Compared(false);

        var snapshot = series.Snapshot();
        Assert.Equal(2, snapshot.Minutes.Count);
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero), snapshot.Minutes[0].Minute);
        Assert.Equal(100, snapshot.Minutes[0].Answers["rules"]);
        Assert.Equal((2L, 0.5), (snapshot.Minutes[1].ShadowCompared, snapshot.Minutes[1].ShadowTypeAgreement!.Value));
        Assert.Equal(new LatencyPercentiles(100, 50, 90, 99, 100), snapshot.Latency["rules"]);

        clock.Advance(TimeSpan.FromMinutes(ActivitySeries.Minutes - 1));
        series.Answered("rules", TimeSpan.FromMilliseconds(1));
        Assert.Equal([new DateTimeOffset(2026, 11, 24, 10, 1, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero)],
            series.Snapshot().Minutes.Select(m => m.Minute));
        for (var i = 0; i < ActivitySeries.LatencyWindow; i++)
        {
            series.Answered("rules", TimeSpan.FromMilliseconds(7));
        }
        Assert.Equal(new LatencyPercentiles(ActivitySeries.LatencyWindow, 7, 7, 7, 7), series.Snapshot().Latency["rules"]);
    }

    internal static async Task WaitForSamplesAsync(TestServer server, long count)
    {
        for (var i = 0; i < 200; i++)
        {
            if ((await server.GetJsonAsync($"{Api}/ml-stats"))["stats"]!["total_samples"]!.GetValue<long>() >= count)
            {
                return;
            }
            await Task.Delay(50);
        }
        Assert.Fail($"the store never held {count} samples");
    }
}
