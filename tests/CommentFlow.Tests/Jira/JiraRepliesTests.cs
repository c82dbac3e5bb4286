using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CommentFlow.Api;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Jira;
using CommentFlow.Tests.Api;
using CommentFlow.Tests.Fakes;

namespace CommentFlow.Tests.Jira;

/// <summary>
/// Agents' replies taken in from Jira: the signed webhook and the poller, through the real server on SQLite against the
/// fake Jira (rules engine answering). Conditions are polled with a deadline, never waited for by time.
/// </summary>
public sealed class JiraRepliesTests : IAsyncLifetime
{
    private const string Api = "/api/ml/comments";
    private const string Secret = "whsec-fake-4711-shared";
    private FakeJira _jira = null!;

    public async Task InitializeAsync()
    {
        _jira = await FakeJira.StartAsync();
        _jira.AddIssue("SD-1", "La impresora no imprime", "La impresora del piso 3 muestra error de papel atascado", comments: 3);
        _jira.AddIssue("SD-2", "VPN se desconecta", "La VPN se cae cada hora desde ayer", comments: 2);
    }

    public async Task DisposeAsync() => await _jira.DisposeAsync();

    private Task<TestServer> StartAsync(string? dataDir = null, params string[] more) =>
        TestServer.StartAsync(dataDir, _jira.CloudSettings(more: [$"Jira:WebhookSecret={Secret}", .. more]));

    private static async Task<(HttpStatusCode Status, JsonObject Body, HttpResponseMessage Response)> DeliverAsync(TestServer server, string body, string? signature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Api}/jira/webhook") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation(JiraWebhookEndpoints.SignatureHeader, signature);
        }
        var response = await server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        return (response.StatusCode, JsonNode.Parse(text)!.AsObject(), response);
    }

    private static Task<(HttpStatusCode Status, JsonObject Body, HttpResponseMessage Response)> DeliverSignedAsync(TestServer server, string body) =>
        DeliverAsync(server, body, JiraWebhookEndpoints.Sign(Encoding.UTF8.GetBytes(body), Secret));

    private static async Task<JsonObject> StatsAsync(TestServer server) => await server.GetJsonAsync($"{Api}/ml-stats");

    private static async Task<long> JiraStatAsync(TestServer server, string name) => (await StatsAsync(server))["jira"]![name]!.GetValue<long>();

    private static async Task<IReadOnlyList<AgentReply>> RepliesAsync(string dataDir) => await (await Stores.OpenAsync(dataDir)).ReadAgentRepliesAsync(CancellationToken.None);

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(25);
        }
        Assert.Fail($"never: {what}");
    }

    [Fact]
    public async Task Webhook_AgentPostsTheShownSuggestionDeliveredTwice_AcceptedOnceAndAcceptanceRateRises()
    {
        await using var server = await StartAsync();
        var answer = await server.SuggestAsync(new { ticket_key = "SD-1" });
        await SuggestionApiTests.WaitForWrittenAsync(server, 1);
        var engine = answer["engine"]!.GetValue<string>();
        var shown = answer["suggestions"]!.AsArray()[0]!["text"]!.GetValue<string>();
        var rateBefore = (await StatsAsync(server))["stats"]!["feedback"]!["by_engine"]![engine]!["acceptance_rate"]!.GetValue<double>();
        // The agent copies it with other line breaks; Cloud v3 sends the body as ADF.
        var comment = _jira.AddComment("SD-1", "  " + shown.Replace(" ", "\n", StringComparison.Ordinal) + " ");
        var body = FakeJira.WebhookBody("comment_created", _jira.Issues["SD-1"], comment);

        var (first, firstBody, _) = await DeliverSignedAsync(server, body);
        var (again, againBody, _) = await DeliverSignedAsync(server, body);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first, again));
        Assert.Equal(("accepted", false), (firstBody["outcome"]!.GetValue<string>(), firstBody["duplicate"]!.GetValue<bool>()));
        Assert.True(againBody["duplicate"]!.GetValue<bool>());
        var stats = await StatsAsync(server);
        var feedback = stats["stats"]!["feedback"]!;
        Assert.Equal(1, feedback["by_action"]!["accepted"]!.GetValue<long>());
        Assert.Equal(0, rateBefore);
        Assert.True(feedback["by_engine"]![engine]!["acceptance_rate"]!.GetValue<double>() > rateBefore);
        Assert.Equal((2, 1, 1, 1), (stats["jira"]!["deliveries"]!.GetValue<long>(), stats["jira"]!["accepted"]!.GetValue<long>(),
            stats["jira"]!["duplicates"]!.GetValue<long>(), stats["jira"]!["stored"]!["accepted"]!.GetValue<long>()));
        var reply = Assert.Single(await RepliesAsync(server.DataDir));
        Assert.Equal((comment.Id, "SD-1", "webhook", answer["context_hash"]!.GetValue<string>(), 0), (reply.CommentId, reply.TicketKey, reply.Source, reply.ContextHash, reply.Position));
    }

    [Fact]
    public async Task Webhook_CloseTextPlainBody_EditedWithTheAgentsTextAsFinalText()
    {
        await using var server = await StartAsync();
        var answer = await server.SuggestAsync(new { ticket_key = "SD-1" });
        await SuggestionApiTests.WaitForWrittenAsync(server, 1);
        var shown = answer["suggestions"]!.AsArray()[0]!["text"]!.GetValue<string>();
        var posted = "Hola Marta,\n\n" + shown + "\n\nSaludos, Ana";
        // Webhooks of v2 (and Data Center) carry the body as a plain string.
        var comment = _jira.AddComment("SD-1", posted, adf: false);

        var (status, body, _) = await DeliverSignedAsync(server, FakeJira.WebhookBody("comment_created", _jira.Issues["SD-1"], comment));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("edited", body["outcome"]!.GetValue<string>());
        var sample = Assert.Single(await Stores.ReadAllAsync(server.DataDir));
        var edited = Assert.Single(sample.Feedback);
        Assert.Equal((FeedbackActions.Edited, 0, "jira:" + FakeJira.AgentAccountId), (edited.Action, edited.Position, edited.Agent));
        Assert.Equal(posted, edited.FinalText);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("sha256=0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("sha256=not-hex")]
    [InlineData("wrong-secret")]
    public async Task Webhook_UnsignedOrWronglySigned_401ProblemNothingRecorded(string? signature)
    {
        await using var server = await StartAsync();
        var comment = _jira.AddComment("SD-2", "Hemos reiniciado el concentrador VPN, prueba de nuevo por favor.");
        var body = FakeJira.WebhookBody("comment_created", _jira.Issues["SD-2"], comment);
        signature = signature == "wrong-secret" ? JiraWebhookEndpoints.Sign(Encoding.UTF8.GetBytes(body), "another-secret") : signature;

        var (status, problem, response) = await DeliverAsync(server, body, signature);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(JiraWebhookEndpoints.SignatureHeader, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(await RepliesAsync(server.DataDir));
        Assert.Empty(await Stores.ReadAllAsync(server.DataDir));
        Assert.Equal((1, 0), (await JiraStatAsync(server, "refused_signatures"), await JiraStatAsync(server, "deliveries")));
        Assert.Contains("commentflow_jira_comments_total{event=\"refused_signatures\"} 1", await server.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Webhook_SignedBodyChangedOnTheWay_401NothingRecorded()
    {
        await using var server = await StartAsync();
        var comment = _jira.AddComment("SD-2", "Hemos reiniciado el concentrador VPN, prueba de nuevo por favor.");
        var body = FakeJira.WebhookBody("comment_created", _jira.Issues["SD-2"], comment);
        var signature = JiraWebhookEndpoints.Sign(Encoding.UTF8.GetBytes(body), Secret);

        var (status, _, _) = await DeliverAsync(server, body.Replace("VPN", "VPM", StringComparison.Ordinal), signature);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Empty(await RepliesAsync(server.DataDir));
    }

    [Fact]
    public async Task Webhook_NoSecretConfigured_403ProblemSayingSo_NothingRecorded()
    {
        await using var server = await TestServer.StartAsync(null, _jira.CloudSettings());
        var comment = _jira.AddComment("SD-2", "Hemos reiniciado el concentrador VPN.");
        var body = FakeJira.WebhookBody("comment_created", _jira.Issues["SD-2"], comment);

        var (status, problem, _) = await DeliverAsync(server, body, JiraWebhookEndpoints.Sign(Encoding.UTF8.GetBytes(body), ""));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("WebhookSecret is not set", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(await RepliesAsync(server.DataDir));
    }

    [Fact]
    public async Task Webhook_SignedButNotJiraShaped_400NothingRecorded()
    {
        await using var server = await StartAsync();
        const string body = """{"webhookEvent":"comment_created","issue":{"key":"../../myself"},"comment":{"id":"1"}}""";

        var (status, problem, _) = await DeliverSignedAsync(server, body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.NotNull(problem["errors"]!["issue.key"]);
        Assert.Empty(await RepliesAsync(server.DataDir));
    }

    [Fact]
    public async Task Webhook_AgentWritesFromScratchOnTicketWithoutSuggestions_NewAgentSampleMaskedWithTheContextBefore()
    {
        await using var server = await StartAsync();
        var posted = "Hemos renovado tu certificado VPN; si vuelve a fallar escribe a soporte.vpn@example.com o llama al +34 612 345 678.";
        var comment = _jira.AddComment("SD-2", posted, isInternal: false);

        var (status, body, _) = await DeliverSignedAsync(server, FakeJira.WebhookBody("comment_created", _jira.Issues["SD-2"], comment));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("written", body["outcome"]!.GetValue<string>());
        var sample = Assert.Single(await Stores.ReadAllAsync(server.DataDir));
        Assert.Equal((EngineNames.Agent, EngineNames.Agent, "SD-2"), (sample.Engine, sample.Model, sample.Context.TicketKey));
        // The ticket as it was just before: its fields and the comments before this one, read from Jira.
        Assert.Equal("La VPN se cae cada hora desde ayer", sample.Context.Description);
        Assert.Equal(["Comment 1 on SD-2", "Comment 2 on SD-2"], sample.Context.Comments);
        var reply = Assert.Single(sample.Suggestions);
        Assert.Equal(TrainingSample.KeptConfidence, reply.Confidence);
        Assert.Contains("Hemos renovado tu certificado VPN", reply.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("soporte.vpn@example.com", reply.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("612 345 678", reply.Text, StringComparison.Ordinal);
        var stored = Assert.Single(await RepliesAsync(server.DataDir));
        Assert.Equal((false, sample.ContextHash), (stored.Internal, stored.ContextHash));

        // Training learns from it: it survives cleaning, and the report counts it.
        var report = await DatasetReport.BuildAsync(await Stores.OpenAsync(server.DataDir), new CleaningOptions(), CancellationToken.None);
        Assert.Equal((1, 1, 1), (report.AgentReplies["written"], report.AgentReplies["public"], report.SuggestionsAfterCleaning));
    }

    [Fact]
    public async Task Webhook_AgentWritesOwnReplyOnTicketWithSuggestions_JoinedToThatSampleAndPreferredByCleaning()
    {
        await using var server = await StartAsync();
        var answer = await server.SuggestAsync(new { ticket_key = "SD-1" });
        await SuggestionApiTests.WaitForWrittenAsync(server, 1);
        var comment = _jira.AddComment("SD-1", "Hemos sustituido la impresora del piso 3; ya puedes imprimir con normalidad.");

        var (_, body, _) = await DeliverSignedAsync(server, FakeJira.WebhookBody("comment_created", _jira.Issues["SD-1"], comment));

        Assert.Equal("written", body["outcome"]!.GetValue<string>());
        var sample = Assert.Single(await Stores.ReadAllAsync(server.DataDir));
        Assert.Equal(answer["context_hash"]!.GetValue<string>(), sample.ContextHash);
        var written = Assert.Single(sample.Feedback);
        Assert.Equal((FeedbackActions.Written, sample.Suggestions.Count), (written.Action, written.Position));
        var cleaner = new DatasetCleaner(new CleaningOptions { DropRulesEngine = false }, await AgentReplyIndex.ReadAsync(await Stores.OpenAsync(server.DataDir), CancellationToken.None));
        var kept = Assert.Single(cleaner.Clean(sample));
        Assert.Equal(written.FinalText, kept.Text);
        Assert.Equal(sample.Suggestions.Count, cleaner.Removed[DatasetCleaner.SupersededByAgent]);
    }

    [Fact]
    public async Task Webhook_ReportersOwnComment_IgnoredNoTrainingData()
    {
        await using var server = await StartAsync();
        await server.SuggestAsync(new { ticket_key = "SD-1" });
        await SuggestionApiTests.WaitForWrittenAsync(server, 1);
        // The payload names no reporter (Cloud's comment events do not): the service asks Jira.
        var comment = _jira.AddComment("SD-1", "Sigue sin imprimir, ahora sale otro error distinto.", FakeJira.ReporterAccountId, "Customer");

        var (status, body, _) = await DeliverSignedAsync(server, FakeJira.WebhookBody("comment_created", _jira.Issues["SD-1"], comment));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ignored", body["outcome"]!.GetValue<string>());
        var sample = Assert.Single(await Stores.ReadAllAsync(server.DataDir));
        Assert.Empty(sample.Feedback);
        Assert.Equal(AgentReplyOutcomes.Ignored, Assert.Single(await RepliesAsync(server.DataDir)).Outcome);
        Assert.Equal(1, await JiraStatAsync(server, "ignored"));
    }

    [Fact]
    public async Task Webhook_CommentPostedThroughTheService_ItsEchoIsNotCountedAgain()
    {
        await using var server = await StartAsync();
        var answer = await server.SuggestAsync(new { ticket_key = "SD-1" });
        var id = answer["suggestions"]!.AsArray()[0]!["id"]!.GetValue<string>();
        var posted = await server.Client.PostAsJsonAsync($"{Api}/jira/comment", new { ticket_key = "SD-1", suggestion_id = id, agent = "ana" });
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var echo = _jira.Issues["SD-1"].Comments[^1];

        var (_, body, _) = await DeliverSignedAsync(server, FakeJira.WebhookBody("comment_created", _jira.Issues["SD-1"], echo));

        Assert.True(body["duplicate"]!.GetValue<bool>());
        Assert.Equal(1, (await StatsAsync(server))["stats"]!["feedback"]!["by_action"]!["accepted"]!.GetValue<long>());
    }

    [Fact]
    public async Task Poller_RestartOnTheSameStore_ResumesFromItsCursorWithoutDuplicates()
    {
        var dataDir = TempDir.Create();
        var first = _jira.AddComment("SD-2", "Hemos renovado el certificado de la VPN, prueba ahora por favor.");
        DateTimeOffset cursor;
        await using (var server = await StartAsync(dataDir, "Jira:PollSeconds=1"))
        {
            await WaitUntilAsync(async () => await JiraStatAsync(server, "polled_comments") == 1, "the first comment polled");
            await WaitUntilAsync(async () => await JiraStatAsync(server, "polls") >= 2, "a second pass");
            Assert.True(await JiraStatAsync(server, "duplicates") >= 1); // a later pass saw it again and skipped it
            await server.StopAsync();
            cursor = (await JiraPoller.ReadCursorAsync(await Stores.OpenAsync(dataDir), CancellationToken.None))!.Value;
        }
        var second = _jira.AddComment("SD-2", "La VPN ya no se desconecta desde el cambio; cerramos el ticket.");
        var searchesBefore = _jira.Searches.Count;

        await using (var server = await StartAsync(dataDir, "Jira:PollSeconds=1"))
        {
            await WaitUntilAsync(async () => await JiraStatAsync(server, "polled_comments") == 1, "the second comment polled");
            var stats = await StatsAsync(server);
            Assert.Equal(2, stats["jira"]!["stored"]!["written"]!.GetValue<long>());
            Assert.True(stats["jira"]!["duplicates"]!.GetValue<long>() >= 1); // the first comment, seen again in the overlap
        }

        var replies = await RepliesAsync(dataDir);
        Assert.Equal([first.Id, second.Id], replies.Select(r => r.CommentId).Order());
        Assert.All(replies, r => Assert.Equal("poll", r.Source));
        var samples = await Stores.ReadAllAsync(dataDir);
        Assert.Equal(2, samples.Count(s => s.Engine == EngineNames.Agent));
        // The restarted poller asked only for what changed since the stored cursor (plus the overlap), not from scratch.
        var jql = _jira.Searches.Skip(searchesBefore).First()["jql"]!.GetValue<string>();
        var minutes = (int)Math.Ceiling((DateTimeOffset.UtcNow - cursor + JiraPoller.Overlap).TotalMinutes);
        var asked = System.Text.RegularExpressions.Regex.Match(jql, @"^updated >= ""-(\d+)m"" ORDER BY updated ASC$");
        Assert.True(asked.Success, jql);
        Assert.InRange(int.Parse(asked.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1, minutes);
    }

    [Fact]
    public async Task Poller_JiraFailing_ServiceGoesOnThenPollerCatchesUp()
    {
        _jira.Fault = JiraFault.ServerError;
        await using var server = await StartAsync(null, "Jira:PollSeconds=1", "Jira:Jql=project = SD");
        await WaitUntilAsync(async () => await JiraStatAsync(server, "poll_failures") >= 1, "a failed poll");
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync($"{Api}/health")).StatusCode);

        var comment = _jira.AddComment("SD-2", "Hemos renovado el certificado de la VPN, prueba ahora por favor.", isInternal: true);
        _jira.Fault = JiraFault.None;

        await WaitUntilAsync(async () => await JiraStatAsync(server, "polled_comments") == 1, "the comment polled once Jira is back");
        var reply = Assert.Single(await RepliesAsync(server.DataDir));
        Assert.Equal((comment.Id, true), (reply.CommentId, reply.Internal));
        Assert.StartsWith("(project = SD) AND updated >= ", _jira.Searches.Last()["jql"]!.GetValue<string>(), StringComparison.Ordinal);
        // An internal note stays out of the customer-facing model unless asked for.
        var store = await Stores.OpenAsync(server.DataDir);
        var sample = Assert.Single(await Stores.ReadAllAsync(server.DataDir));
        Assert.Empty(new DatasetCleaner(new CleaningOptions(), await AgentReplyIndex.ReadAsync(store, CancellationToken.None)).Clean(sample));
        Assert.Single(new DatasetCleaner(new CleaningOptions { TrainOnInternalNotes = true }, await AgentReplyIndex.ReadAsync(store, CancellationToken.None)).Clean(sample));
    }
}
