using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CommentFlow.Domain;
using CommentFlow.Import;
using CommentFlow.Jira;
using CommentFlow.Tests.Fakes;
using CommentFlow.Tests.Legacy;

namespace CommentFlow.Tests.Import;

/// <summary>
/// <c>import-jira</c> and <c>import-tickets --format jira</c> against the fake Jira: every agent comment stored with the ticket
/// as it was then (earlier comments, the status of that moment from the changelog), the reporter's comments as context only,
/// internal and public apart, and an interrupted import resumed without duplicates.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class JiraImportTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private FakeJira _jira = null!;

    public async Task InitializeAsync() => _jira = await FakeJira.StartAsync();

    public async Task DisposeAsync() => await _jira.DisposeAsync();

    private static string Customer(string key, int n) => $"Customer message {n} on {key}";

    /// <summary>
    /// A service-desk ticket's life: the reporter writes; the agent takes it (Open → In Progress) and replies publicly;
    /// asks in an internal note after moving it to Waiting for customer; the reporter answers; the agent resolves it with a
    /// comment on the transition screen (the transition and the comment at the same instant). Today's status is Resolved.
    /// </summary>
    private FakeJiraIssue AddTicket(string key, int day)
    {
        var issue = _jira.AddIssue(key, $"VPN drops every hour ({key})", "Since Monday the VPN disconnects.");
        issue = issue with { Status = "Resolved", ReporterAccountId = FakeJira.CustomerAccountId };
        _jira.Issues[key] = issue;
        var t = T0.AddDays(day);
        FakeJira.Comment(issue, Customer(key, 1), t.AddMinutes(5), isInternal: false, author: FakeJira.CustomerAccountId);
        FakeJira.Transition(issue, t.AddMinutes(10), "Open", "In Progress");
        FakeJira.Comment(issue, $"Public reply on {key}: please restart the VPN client.", t.AddMinutes(20), isInternal: false);
        FakeJira.Transition(issue, t.AddMinutes(30), "In Progress", "Waiting for customer");
        FakeJira.Comment(issue, $"Internal note on {key}: gateway logs show timeouts.", t.AddMinutes(40), isInternal: true, asProperty: day % 2 == 1);
        FakeJira.Comment(issue, Customer(key, 2), t.AddMinutes(50), isInternal: false, author: FakeJira.CustomerAccountId);
        FakeJira.Transition(issue, t.AddMinutes(60), "Waiting for customer", "Resolved");
        FakeJira.Comment(issue, $"Resolution on {key}: the gateway certificate was renewed.", t.AddMinutes(60), isInternal: false);
        return issue;
    }

    private string[] Cloud() => [.. _jira.CloudSettings().Select(s => $"--CommentFlow:{s}")];

    private async Task<(int Code, string Output, string Error)> RunAsync(string dataDir, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommentFlow.Cli.CommandLine.Build().Parse([.. args, $"--CommentFlow:DataDir={dataDir}"])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        Assert.DoesNotContain(FakeJira.ApiToken, output.ToString() + error, StringComparison.Ordinal);
        return (code, output.ToString(), error.ToString());
    }

    private Task<(int Code, string Output, string Error)> ImportAsync(string dataDir, params string[] more) =>
        RunAsync(dataDir, ["import-jira", "--jql", "project = SD AND created >= -365d", "--json", .. Cloud(), .. more]);

    [Fact]
    public async Task ImportJira_SeveralPagesPagedCommentsAndChangelog_EachAgentCommentWithItsStatusAtTheTime()
    {
        for (var i = 1; i <= 3; i++)
        {
            AddTicket($"SD-{i}", i);
        }
        // Jira embeds less than there is: the comment and changelog pages must be read, two at a time; and one 429 on the way.
        (_jira.EmbeddedComments, _jira.MaxCommentPage, _jira.EmbeddedHistories, _jira.MaxChangelogPage) = (2, 2, 1, 2);
        (_jira.RateLimitedRequests, _jira.RetryAfterSeconds) = (1, 0);
        var dataDir = TempDir.Create();

        var (code, output, error) = await ImportAsync(dataDir, "--page-size", "1");

        Assert.True(code == 0, error);
        var summary = JsonNode.Parse(output)!;
        Assert.Equal((3, 15, 9, 6, 9, 0, 6, 3, true), (summary["issues"]!.GetValue<int>(), summary["comments"]!.GetValue<int>(), summary["agent_comments"]!.GetValue<int>(),
            summary["reporter_comments"]!.GetValue<int>(), summary["written"]!.GetValue<int>(), summary["duplicates"]!.GetValue<int>(),
            summary["public"]!.GetValue<int>(), summary["internal"]!.GetValue<int>(), summary["completed"]!.GetValue<bool>()));
        // Three pages of one issue, each asking for the changelog; the second and third carry the token Jira gave.
        var searches = _jira.Searches.ToList();
        Assert.Equal(3, searches.Count);
        Assert.All(searches, s => Assert.Equal("changelog", s["expand"]!.GetValue<string>()));
        Assert.Equal([false, true, true], searches.Select(s => s["nextPageToken"] is not null));
        Assert.Contains(_jira.Paths, p => p.Contains("/comment?startAt=2&", StringComparison.Ordinal) && p.Contains("expand=properties", StringComparison.Ordinal));
        Assert.Contains(_jira.Paths, p => p.Contains("/changelog?startAt=2", StringComparison.Ordinal));

        var stored = await Stores.ReadAllAsync(dataDir);
        Assert.Equal(9, stored.Count);
        foreach (var key in new[] { "SD-1", "SD-2", "SD-3" })
        {
            var samples = stored.Where(s => s.Context.TicketKey == key).OrderBy(s => s.CreatedAt).ToList();
            Assert.Equal(["In Progress", "Waiting for customer", "Waiting for customer"], samples.Select(s => s.Context.Status));
            Assert.Equal([JiraHistory.PublicModel, JiraHistory.InternalModel, JiraHistory.PublicModel], samples.Select(s => s.Model));
            Assert.All(samples, s => Assert.Equal((JiraHistory.Engine, 1.0, "Incident", "High"), (s.Engine, Assert.Single(s.Suggestions).Confidence, s.Context.IssueType, s.Context.Priority)));
            Assert.Equal($"Public reply on {key}: please restart the VPN client.", samples[0].Suggestions[0].Text);
            // The context is what came before: the reporter's first message, then everyone's comments up to the one answered.
            Assert.Equal([Customer(key, 1)], samples[0].Context.Comments);
            Assert.Equal(4, samples[2].Context.Comments.Count);
            Assert.Equal(Customer(key, 2), samples[2].Context.Comments[^1]);
            Assert.Equal(T0.AddDays(int.Parse(key[3..], System.Globalization.CultureInfo.InvariantCulture)).AddMinutes(20), samples[0].CreatedAt);
        }
        // The reporter's words are never an answer.
        Assert.DoesNotContain(stored, s => s.Suggestions.Any(g => g.Text.StartsWith("Customer message", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ImportJira_InterruptedByJira500_RerunResumesFromTheSavedPageWithoutDuplicates()
    {
        for (var i = 1; i <= 4; i++)
        {
            AddTicket($"SD-{i}", i);
        }
        var dataDir = TempDir.Create();
        var searchCalls = 0;
        _jira.FailWhen = r => r.Path.Value!.EndsWith("/search/jql", StringComparison.Ordinal) && Interlocked.Increment(ref searchCalls) == 3;

        var (code, _, error) = await ImportAsync(dataDir, "--page-size", "1");

        Assert.Equal(1, code);
        Assert.Contains("Jira answered 500", error, StringComparison.Ordinal);
        Assert.Contains("2 issues are imported; run the same command again", error, StringComparison.Ordinal);
        Assert.Equal(6, (await Stores.ReadAllAsync(dataDir)).Count);

        _jira.FailWhen = null;
        var before = _jira.Searches.Count;
        (code, var output, error) = await ImportAsync(dataDir, "--page-size", "1");

        Assert.True(code == 0, error);
        var summary = JsonNode.Parse(output)!;
        Assert.Equal((true, 2, 2, 6, 0), (summary["resumed"]!.GetValue<bool>(), summary["resumed_after_issues"]!.GetValue<int>(), summary["issues"]!.GetValue<int>(),
            summary["written"]!.GetValue<int>(), summary["duplicates"]!.GetValue<int>()));
        // The rerun's first search goes on with the token saved after page 2: pages 1 and 2 are not read again.
        Assert.NotNull(_jira.Searches.ElementAt(before)["nextPageToken"]);
        var stored = await Stores.ReadAllAsync(dataDir);
        Assert.Equal(12, stored.Count);
        Assert.Equal(12, stored.Select(s => s.ContextHash).Distinct().Count());
        Assert.Equal(["SD-1", "SD-2", "SD-3", "SD-4"], stored.Select(s => s.Context.TicketKey!).Distinct().Order());

        // Once complete, the same query starts over, and the store's duplicate check keeps every sample once.
        (code, output, error) = await ImportAsync(dataDir);
        Assert.True(code == 0, error);
        summary = JsonNode.Parse(output)!;
        Assert.Equal((false, 4, 0, 12), (summary["resumed"]!.GetValue<bool>(), summary["issues"]!.GetValue<int>(), summary["written"]!.GetValue<int>(), summary["duplicates"]!.GetValue<int>()));
        Assert.Equal(12, (await Stores.ReadAllAsync(dataDir)).Count);
    }

    [Fact]
    public async Task ImportJira_InterruptedMidPage_PageReadAgainAndNothingStoredTwice()
    {
        for (var i = 1; i <= 4; i++)
        {
            AddTicket($"SD-{i}", i);
        }
        _jira.EmbeddedComments = 2; // every issue's comments come from the comment pages
        var dataDir = TempDir.Create();
        _jira.FailWhen = r => r.Path.Value!.Contains("/issue/SD-4/comment", StringComparison.Ordinal);

        var (code, _, error) = await ImportAsync(dataDir, "--page-size", "2");

        Assert.Equal(1, code);
        Assert.Contains("2 issues are imported", error, StringComparison.Ordinal);
        // SD-3 was read in the failed page, but a page is written only whole.
        Assert.Equal(["SD-1", "SD-2"], (await Stores.ReadAllAsync(dataDir)).Select(s => s.Context.TicketKey!).Distinct().Order());

        _jira.FailWhen = null;
        (code, var output, error) = await ImportAsync(dataDir, "--page-size", "2");
        Assert.True(code == 0, error);
        Assert.Equal((2, 6, 0), (JsonNode.Parse(output)!["issues"]!.GetValue<int>(), JsonNode.Parse(output)!["written"]!.GetValue<int>(), JsonNode.Parse(output)!["duplicates"]!.GetValue<int>()));
        var stored = await Stores.ReadAllAsync(dataDir);
        Assert.Equal(12, stored.Select(s => s.ContextHash).Distinct().Count());
        Assert.Equal(12, stored.Count);
    }

    [Fact]
    public async Task ImportJira_SavedTokenRefusedByJira_SaysRestartExit1_RestartImportsOnce()
    {
        AddTicket("SD-1", 1);
        var dataDir = TempDir.Create();
        // An interrupted run's marker whose token Jira no longer accepts.
        var store = await Stores.OpenAsync(dataDir);
        const string Jql = "project = SD AND created >= -365d";
        await store.WriteMetaAsync(JiraImport.MetaKey(Jql), new JiraImportState(Jql, "expired-token", 7, Completed: false).ToJson(), new Dictionary<string, long>(), CancellationToken.None);

        var (code, _, error) = await ImportAsync(dataDir);

        Assert.Equal(1, code);
        Assert.Contains("The provided next page token is invalid or expired.", error, StringComparison.Ordinal);
        Assert.Contains("--restart", error, StringComparison.Ordinal);
        Assert.Empty(await Stores.ReadAllAsync(dataDir));

        (code, var output, error) = await ImportAsync(dataDir, "--restart");
        Assert.True(code == 0, error);
        Assert.Equal((false, 3), (JsonNode.Parse(output)!["resumed"]!.GetValue<bool>(), JsonNode.Parse(output)!["written"]!.GetValue<int>()));
        Assert.Null(_jira.Searches.Last()["nextPageToken"]);
        Assert.Equal(3, (await Stores.ReadAllAsync(dataDir)).Count);
    }

    [Fact]
    public async Task ImportJira_InternalPublicAndServiceDeskless_StoredAsSuch_Masked()
    {
        var issue = _jira.AddIssue("OPS-1", "Mailbox full", "Cannot receive mail.");
        FakeJira.Comment(issue, "Reply to ana.lopez@example.com: we raised the quota.", T0, isInternal: false);
        FakeJira.Comment(issue, "Note: quota raised on the Exchange side.", T0.AddMinutes(1), isInternal: true, asProperty: true);
        FakeJira.Comment(issue, "Closing: plain Jira project, no portal.", T0.AddMinutes(2), isInternal: null);
        _jira.EmbeddedComments = 1; // the property is only in the comment pages (expand=properties)
        var dataDir = TempDir.Create();

        var (code, _, error) = await ImportAsync(dataDir);

        Assert.True(code == 0, error);
        var stored = (await Stores.ReadAllAsync(dataDir)).OrderBy(s => s.CreatedAt).ToList();
        Assert.Equal([JiraHistory.PublicModel, JiraHistory.InternalModel, JiraHistory.AgentModel], stored.Select(s => s.Model));
        Assert.Equal("Reply to <email>: we raised the quota.", stored[0].Suggestions[0].Text);
        Assert.Equal("Reply to <email>: we raised the quota.", stored[1].Context.Comments[0]);
        // No changelog: today's status.
        Assert.All(stored, s => Assert.Equal("Waiting for support", s.Context.Status));
    }

    [Fact]
    public async Task ImportJira_BadInput_ClearMessageExit2NothingStored()
    {
        AddTicket("SD-1", 1);
        var dataDir = TempDir.Create();

        var (code, _, error) = await RunAsync(dataDir, ["import-jira", "--jql", "project =", .. Cloud()]);
        Assert.Equal(2, code);
        Assert.Contains("Jira refused the query", error, StringComparison.Ordinal);
        Assert.Contains("Error in the JQL Query", error, StringComparison.Ordinal);

        (code, _, error) = await RunAsync(dataDir, ["import-jira", .. Cloud()]);
        Assert.Equal(2, code);
        Assert.Contains("--jql is required", error, StringComparison.Ordinal);

        (code, _, error) = await RunAsync(dataDir, ["import-jira", "--jql", "project = SD", "--page-size", "500", .. Cloud()]);
        Assert.Equal(2, code);
        Assert.Contains("--page-size", error, StringComparison.Ordinal);

        var requests = _jira.Requests;
        (code, _, error) = await RunAsync(dataDir, ["import-jira", "--jql", "project = SD"]);
        Assert.Equal(2, code);
        Assert.Contains("Jira is not configured", error, StringComparison.Ordinal);
        Assert.Equal(requests, _jira.Requests);

        Assert.Empty(await Stores.ReadAllAsync(dataDir));
    }

    [Fact]
    public async Task ImportTickets_JiraExportOfTheSameIssues_SameSamplesAsImportJira()
    {
        for (var i = 1; i <= 2; i++)
        {
            AddTicket($"SD-{i}", i);
        }
        var onlyReporter = _jira.AddIssue("SD-9", "Printer", "Jammed.");
        FakeJira.Comment(onlyReporter, "Still jammed.", T0, isInternal: false, author: FakeJira.CustomerAccountId);
        // The export is what the search API answers, as a file: issues with their fields, comments and changelog.
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{FakeJira.Email}:{FakeJira.ApiToken}")));
        var export = await (await http.PostAsJsonAsync($"{_jira.Url}/rest/api/3/search/jql",
            new { jql = "project = SD", fields = JiraImport.Fields, expand = "changelog", maxResults = 100 })).Content.ReadAsStringAsync();
        var file = Path.Combine(TempDir.Create(), "sd-export.json");
        await File.WriteAllTextAsync(file, export);
        var fromFile = TempDir.Create();
        var fromJira = TempDir.Create();

        var (code, output, error) = await RunAsync(fromFile, "import-tickets", file, "--format", "jira", "--json");
        Assert.True(code == 0, error);
        Assert.Contains("no agent comments", JsonNode.Parse(output)!["problems"]!.AsArray().Single()!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        (code, _, error) = await ImportAsync(fromJira);
        Assert.True(code == 0, error);

        static IEnumerable<string> Rows(List<TrainingSample> samples) =>
            samples.Select(s => $"{s.ContextHash} {s.Context.Status} {s.Model} {s.CreatedAt:O} {s.Suggestions[0].Text}").Order();
        var imported = await Stores.ReadAllAsync(fromFile);
        Assert.Equal(6, imported.Count);
        Assert.Equal(Rows(await Stores.ReadAllAsync(fromJira)), Rows(imported));
    }

    [Fact]
    public void StatusAt_BeforeBetweenAtAndAfterChanges_TheStatusOfThatMoment()
    {
        List<JiraStatusChange> changes = [new(T0.AddHours(1), "Open", "In Progress"), new(T0.AddHours(2), "In Progress", "Done")];

        Assert.Equal("Open", JiraHistory.StatusAt(changes, T0, "Done"));
        Assert.Equal("In Progress", JiraHistory.StatusAt(changes, T0.AddHours(1.5), "Done"));
        Assert.Equal("In Progress", JiraHistory.StatusAt(changes, T0.AddHours(2), "Done")); // the transition made with the comment
        Assert.Equal("Done", JiraHistory.StatusAt(changes, T0.AddHours(3), "Reopened?"));
        Assert.Equal("Today", JiraHistory.StatusAt([], T0, "Today"));
        Assert.Equal("Today", JiraHistory.StatusAt(changes, null, "Today"));
    }
}
