using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CommentFlow.Jira;
using CommentFlow.Storage;
using CommentFlow.Tests.Api;
using CommentFlow.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CommentFlow.Tests.Jira;

/// <summary>Suggestions by key and posting back, through the real server on SQLite against the fake Jira (rules engine answering).</summary>
public sealed class JiraApiTests : IAsyncLifetime
{
    private const string Api = "/api/ml/comments";
    private FakeJira _jira = null!;
    private TestServer _server = null!;
    private readonly RecordingLoggerProvider _logs = new();

    public async Task InitializeAsync()
    {
        _jira = await FakeJira.StartAsync();
        _jira.AddIssue("SD-1", "La impresora no imprime", "La impresora del piso 3 muestra error de papel atascado", comments: 25);
        // Every level, so the HttpClient's own request lines (they would name the ticket) would be seen if they were logged.
        _server = await TestServer.StartAsync(null, b => b.Logging.AddProvider(_logs).SetMinimumLevel(LogLevel.Trace).AddFilter("System.Net.Http.HttpClient", LogLevel.Trace), _jira.CloudSettings(more: "Jira:TimeoutSeconds=2"));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _jira.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonObject Body, HttpResponseMessage Response)> PostAsync(string path, object body)
    {
        var response = await _server.Client.PostAsJsonAsync(Api + path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(FakeJira.ApiToken, text, StringComparison.Ordinal);
        return (response.StatusCode, JsonNode.Parse(text)!.AsObject(), response);
    }

    private async Task<long> CaptureEnqueuedAsync() => (await _server.GetJsonAsync($"{Api}/ml-stats"))["capture"]!["enqueued"]!.GetValue<long>();

    private async Task<long> FeedbackCountAsync(string action) =>
        (await _server.GetJsonAsync($"{Api}/ml-stats"))["stats"]!["feedback"]!["by_action"]![action]?.GetValue<long>() ?? 0;

    [Fact]
    public async Task Suggest_KeyOnly_TicketReadFromJiraWithItsLastTenComments_SourceJira()
    {
        var answer = await _server.SuggestAsync(new { ticket_key = "SD-1" });

        Assert.Equal("jira", answer["source"]!.GetValue<string>());
        Assert.NotEmpty(answer["suggestions"]!.AsArray());
        await SuggestionApiTests.WaitForWrittenAsync(_server, 1);
        var sample = Assert.Single(await Stores.ReadAllAsync(_server.DataDir));
        Assert.Equal(answer["context_hash"]!.GetValue<string>(), sample.ContextHash);
        var context = sample.Context;
        Assert.Equal(("SD-1", "La impresora no imprime", "La impresora del piso 3 muestra error de papel atascado"), (context.TicketKey, context.Summary, context.Description));
        Assert.Equal(("Incident", "Waiting for support", "High"), (context.IssueType, context.Status, context.Priority));
        Assert.Equal([.. Enumerable.Range(16, 10).Select(i => $"Comment {i} on SD-1")], context.Comments);
    }

    [Fact]
    public async Task Suggest_TicketInTheRequest_NoSourceAndJiraNeverAsked()
    {
        _jira.Fault = JiraFault.Slow; // a Jira in trouble must not touch requests that do not need it

        var answer = await _server.SuggestAsync(new { ticket_key = "SD-1", summary = "VPN drops", description = "Every hour" });

        Assert.Null(answer["source"]);
        Assert.Equal(0, _jira.Requests);
    }

    [Fact]
    public async Task Suggest_UnknownKey_404ProblemNamingJirasAnswer_NothingStored()
    {
        var (status, body, response) = await PostAsync("/suggestions", new { ticket_key = "SD-404" });

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(404, body["jira_status"]!.GetValue<int>());
        Assert.Contains("Issue does not exist", body["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, await CaptureEnqueuedAsync());
    }

    [Theory]
    [InlineData(JiraFault.Unauthorized, HttpStatusCode.BadGateway, 401, "Client must be authenticated")]
    [InlineData(JiraFault.ServerError, HttpStatusCode.BadGateway, 500, "the database is being upgraded")]
    [InlineData(JiraFault.Slow, HttpStatusCode.ServiceUnavailable, null, "did not answer within 2 s")]
    public async Task Suggest_KeyOnlyJiraFailing_502Or503ProblemWithJirasAnswer_NothingStoredNoCredentials(JiraFault fault, HttpStatusCode expected, int? jiraStatus, string detail)
    {
        _jira.Fault = fault;

        var (status, body, _) = await PostAsync("/suggestions", new { ticket_key = "SD-1" });

        Assert.Equal(expected, status);
        Assert.Equal(jiraStatus, body["jira_status"]?.GetValue<int>());
        Assert.Contains(detail, body["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, await CaptureEnqueuedAsync());
        Assert.DoesNotContain(_logs.Entries, e => e.Message.Contains(FakeJira.ApiToken, StringComparison.Ordinal) || e.Message.Contains("SD-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Suggest_KeyOnlyJiraRateLimitingBeyondTheBound_503WithRetryAfter()
    {
        _jira.RateLimitedRequests = 100;
        _jira.RetryAfterSeconds = 120;

        var (status, body, response) = await PostAsync("/suggestions", new { ticket_key = "SD-1" });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(429, body["jira_status"]!.GetValue<int>());
        Assert.Equal(TimeSpan.FromSeconds(120), response.Headers.RetryAfter!.Delta);
    }

    [Fact]
    public async Task Suggest_KeyNotAnIssueKey_400_JiraNeverAsked()
    {
        var (status, body, _) = await PostAsync("/suggestions", new { ticket_key = "SD-1/../../myself" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.NotNull(body["errors"]!["ticket_key"]);
        Assert.Equal(0, _jira.Requests);
    }

    [Fact]
    public async Task PostComment_SuggestionAsShown_InternalAdfNoteAndAccepted()
    {
        var answer = await _server.SuggestAsync(new { ticket_key = "SD-1" });
        var suggestion = answer["suggestions"]![0]!;

        var (status, body, _) = await PostAsync("/jira/comment", new { ticket_key = "SD-1", suggestion_id = suggestion["id"]!.GetValue<string>(), agent = "ana" });

        Assert.Equal(HttpStatusCode.OK, status);
        var posted = Assert.Single(_jira.Posted);
        Assert.Equal(Adf.FromText(suggestion["text"]!.GetValue<string>()).ToJsonString(), posted.Body!.ToJsonString());
        Assert.Equal("""[{"key":"sd.public.comment","value":{"internal":true}}]""", posted.Properties!.ToJsonString());
        Assert.Equal(_jira.Issues["SD-1"].Comments[^1].Id, body["comment_id"]!.GetValue<string>());
        Assert.True(body["internal"]!.GetValue<bool>());
        Assert.Equal(("accepted", "ana"), (body["feedback"]!["action"]!.GetValue<string>(), body["feedback"]!["agent"]!.GetValue<string>()));
        Assert.Equal(1, await FeedbackCountAsync("accepted"));
    }

    [Fact]
    public async Task PostComment_EditedTextAsPublicReply_EditedWithTheFinalText()
    {
        var answer = await _server.SuggestAsync(new { ticket_key = "SD-1" });
        var id = answer["suggestions"]![0]!["id"]!.GetValue<string>();
        var edited = answer["suggestions"]![0]!["text"]!.GetValue<string>() + "\n\nSaludos, Ana";

        var (status, body, _) = await PostAsync("/jira/comment", new { ticket_key = "SD-1", suggestion_id = id, text = edited, @internal = false, agent = "ana" });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""[{"key":"sd.public.comment","value":{"internal":false}}]""", Assert.Single(_jira.Posted).Properties!.ToJsonString());
        Assert.Equal("edited", body["feedback"]!["action"]!.GetValue<string>());
        var row = Assert.Single(await _server.Services.GetRequiredService<ITrainingStore>().ReadFeedbackRowsAsync(CancellationToken.None));
        Assert.Equal(("edited", edited, "SD-1"), (row.Action, row.FinalText, row.TicketKey));
    }

    [Fact]
    public async Task PostComment_TextNeverSuggested_PostedWithoutFeedback()
    {
        var (status, body, _) = await PostAsync("/jira/comment", new { ticket_key = "SD-1", text = "Escrito a mano." });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Null(body["feedback"]);
        Assert.Equal(Adf.FromText("Escrito a mano.").ToJsonString(), Assert.Single(_jira.Posted).Body!.ToJsonString());
        Assert.Equal(0, await FeedbackCountAsync("accepted") + await FeedbackCountAsync("edited"));
    }

    [Fact]
    public async Task PostComment_TextSuggestedForAnotherTicket_PostedWithoutFeedback()
    {
        var answer = await _server.SuggestAsync(new { ticket_key = "SD-1" });
        _jira.AddIssue("SD-2", "Otro", "Otro ticket");
        var text = answer["suggestions"]![0]!["text"]!.GetValue<string>();

        var (status, body, _) = await PostAsync("/jira/comment", new { ticket_key = "SD-2", text });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Null(body["feedback"]);
        Assert.Equal(0, await FeedbackCountAsync("accepted") + await FeedbackCountAsync("edited"));
    }

    [Fact]
    public async Task PostComment_UnknownSuggestionOrOtherTicket_400NothingPosted()
    {
        var (unknown, body, _) = await PostAsync("/jira/comment", new { ticket_key = "SD-1", suggestion_id = new string('0', 32) + ":0" });
        Assert.Equal(HttpStatusCode.BadRequest, unknown);
        Assert.NotNull(body["errors"]!["suggestion_id"]);

        var answer = await _server.SuggestAsync(new { ticket_key = "SD-1" });
        _jira.AddIssue("SD-2", "Otro", "Otro ticket");
        var (other, _, _) = await PostAsync("/jira/comment", new { ticket_key = "SD-2", suggestion_id = answer["suggestions"]![0]!["id"]!.GetValue<string>() });
        Assert.Equal(HttpStatusCode.BadRequest, other);

        var (neither, _, _) = await PostAsync("/jira/comment", new { ticket_key = "SD-1" });
        Assert.Equal(HttpStatusCode.BadRequest, neither);
        Assert.Empty(_jira.Posted);
    }

    [Fact]
    public async Task PostComment_JiraFails_ProblemAndNoFeedback()
    {
        var answer = await _server.SuggestAsync(new { ticket_key = "SD-1" });
        _jira.Fault = JiraFault.ServerError;

        var (status, body, _) = await PostAsync("/jira/comment", new { ticket_key = "SD-1", suggestion_id = answer["suggestions"]![0]!["id"]!.GetValue<string>() });

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Equal(500, body["jira_status"]!.GetValue<int>());
        Assert.Equal(0, await FeedbackCountAsync("accepted"));
    }

    [Fact]
    public async Task Health_JiraConfigured_NeverShowsTheToken()
    {
        foreach (var path in new[] { "/health", "/health/ready", $"{Api}/health", $"{Api}/ml-stats" })
        {
            var text = await _server.Client.GetStringAsync(path);
            Assert.DoesNotContain(FakeJira.ApiToken, text, StringComparison.Ordinal);
        }
    }
}

/// <summary>Jira features on servers configured otherwise: without Jira, and with API keys.</summary>
public sealed class JiraApiConfigurationTests
{
    [Fact]
    public async Task Suggest_KeyOnlyJiraNotConfigured_400SayingSo()
    {
        await using var server = await TestServer.StartAsync();
        var response = await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions", new { ticket_key = "SD-1" });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Jira is not configured", body["errors"]!["summary"]![0]!.GetValue<string>(), StringComparison.Ordinal);

        var post = await server.Client.PostAsJsonAsync("/api/ml/comments/jira/comment", new { ticket_key = "SD-1", text = "Hola" });
        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        Assert.Contains("Jira is not configured", await post.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostComment_KeysConfigured_AgentKeyPostsNoKey401()
    {
        await using var jira = await FakeJira.StartAsync();
        jira.AddIssue("SD-5", "Printer", "Jams");
        await using var server = await TestServer.StartAsync(null, [.. jira.CloudSettings(), .. AccessTests.KeySettings]);

        var anonymous = await server.Client.PostAsJsonAsync("/api/ml/comments/jira/comment", new { ticket_key = "SD-5", text = "Hola" });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Empty(jira.Posted);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/ml/comments/jira/comment") { Content = JsonContent.Create(new { ticket_key = "SD-5", text = "Hola" }) };
        request.Headers.Add("X-Api-Key", AccessTests.AgentKey);
        using var response = await server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(jira.Posted);
    }
}
