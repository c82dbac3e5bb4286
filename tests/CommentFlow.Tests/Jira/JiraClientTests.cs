using System.Diagnostics;
using System.Text.Json.Nodes;
using CommentFlow.Hosting;
using CommentFlow.Jira;
using CommentFlow.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CommentFlow.Tests.Jira;

/// <summary>The client as the service wires it (options, typed HttpClient, credentials) against the fake Jira.</summary>
public sealed class JiraClientTests : IAsyncLifetime
{
    private FakeJira _jira = null!;

    public async Task InitializeAsync() => _jira = await FakeJira.StartAsync();

    public async Task DisposeAsync() => await _jira.DisposeAsync();

    internal static IHost Host(params string[] settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [.. settings.Select(s => $"--CommentFlow:{s}")],
        });
        builder.AddJira();
        return builder.Build();
    }

    private JiraClient Client(IHost host) => host.Services.GetRequiredService<JiraClient>();

    [Fact]
    public async Task GetMyself_CloudCredentials_TheAccount()
    {
        using var host = Host(_jira.CloudSettings());
        var me = await Client(host).GetMyselfAsync(CancellationToken.None);
        Assert.Equal((FakeJira.AccountId, FakeJira.DisplayName), (me.AccountId, me.DisplayName));
        Assert.Contains("/rest/api/3/myself", _jira.Paths);
    }

    [Fact]
    public async Task GetMyself_WrongToken_401WithJirasMessageAndNoToken()
    {
        using var host = Host(_jira.CloudSettings("wrong-token-31337"));
        var ex = await Assert.ThrowsAsync<JiraException>(() => Client(host).GetMyselfAsync(CancellationToken.None));
        Assert.Equal(401, ex.Status);
        Assert.Equal(["Client must be authenticated to access this resource."], ex.JiraMessages);
        Assert.DoesNotContain("wrong-token-31337", ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(FakeJira.Email, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DataCenter_PersonalAccessTokenAndV2_BearerAndPlainTextBodies()
    {
        _jira.AddIssue("OPS-3", "Disk full", "The /var partition is full", comments: 2, adf: false);
        using var host = Host($"Jira:BaseUrl={_jira.Url}", $"Jira:PersonalAccessToken={FakeJira.Pat}", "Jira:ApiVersion=2");
        var client = Client(host);

        Assert.Equal("commentflow", (await client.GetMyselfAsync(CancellationToken.None)).Name);
        var issue = await client.GetIssueAsync("OPS-3", CancellationToken.None);
        Assert.Equal(("Disk full", "The /var partition is full", "Comment 2 on OPS-3"), (issue.Summary, issue.Description, issue.Comments.Comments[1].Body));
        var posted = await client.AddCommentAsync("OPS-3", "Cleaned /var/log.\nPlease check.", internalNote: false, CancellationToken.None);

        var sent = Assert.Single(_jira.Posted);
        Assert.Equal("Cleaned /var/log.\nPlease check.", sent.Body!.GetValue<string>());
        Assert.Equal("""[{"key":"sd.public.comment","value":{"internal":false}}]""", sent.Properties!.ToJsonString());
        Assert.False(posted.Internal);
        Assert.All(_jira.Paths, p => Assert.StartsWith("/rest/api/2/", p, StringComparison.Ordinal));
    }

    [Fact]
    public async Task GetIssueWithLastComments_MoreThanTheIssueEmbeds_LastTenReadThroughTheCommentPages()
    {
        _jira.AddIssue("SD-9", "VPN drops", "It drops every hour", comments: 25);
        using var host = Host(_jira.CloudSettings());

        var issue = await Client(host).GetIssueWithLastCommentsAsync("SD-9", 10, CancellationToken.None);

        Assert.Equal([.. Enumerable.Range(16, 10).Select(i => $"Comment {i} on SD-9")], issue.Comments.Comments.Select(c => c.Body));
        Assert.Equal(25, issue.Comments.Total);
        Assert.Contains("/rest/api/3/issue/SD-9/comment?startAt=15&maxResults=10&orderBy=created", _jira.Paths);
        Assert.Equal([true, false], issue.Comments.Comments.Take(2).Select(c => c.Internal!.Value)); // the fake: even comments internal (jsdPublic false)
    }

    [Fact]
    public async Task GetCommentsPages_StartAtMaxResultsTotal_EveryCommentOnce()
    {
        _jira.AddIssue("SD-10", "Printer", "Jams", comments: 7);
        using var host = Host(_jira.CloudSettings());
        var client = Client(host);
        var read = new List<string>();
        for (var page = await client.GetCommentsAsync("SD-10", 0, 3, CancellationToken.None); ; page = await client.GetCommentsAsync("SD-10", page.StartAt + page.Comments.Count, 3, CancellationToken.None))
        {
            read.AddRange(page.Comments.Select(c => c.Body));
            if (page.Comments.Count == 0 || page.StartAt + page.Comments.Count >= page.Total)
            {
                break;
            }
        }
        Assert.Equal([.. Enumerable.Range(1, 7).Select(i => $"Comment {i} on SD-10")], read);
    }

    [Fact]
    public async Task SearchAll_SeveralPages_FollowsNextPageTokenAsksFieldsNeverTheOldSearch()
    {
        for (var i = 1; i <= 7; i++)
        {
            _jira.AddIssue($"SD-{i}", $"Ticket {i}", "Body");
        }
        using var host = Host(_jira.CloudSettings());

        var issues = new List<JiraIssue>();
        await foreach (var issue in Client(host).SearchAllAsync("project = SD", ["summary", "status"], 3, CancellationToken.None))
        {
            issues.Add(issue);
        }

        Assert.Equal([.. Enumerable.Range(1, 7).Select(i => $"Ticket {i}")], issues.Select(i => i.Summary));
        Assert.All(issues, i => Assert.Equal("Waiting for support", i.Status));
        var searches = _jira.Searches.ToList();
        Assert.Equal(3, searches.Count);
        Assert.Null(searches[0]["nextPageToken"]);
        Assert.All(searches.Skip(1), s => Assert.NotNull(s["nextPageToken"]));
        Assert.All(searches, s => Assert.Equal("""["summary","status"]""", s["fields"]!.ToJsonString()));
        Assert.Equal(0, _jira.OldSearchCalls);
    }

    [Fact]
    public async Task RateLimited_RetryAfterWithinBound_WaitsAndSucceeds()
    {
        _jira.RateLimitedRequests = 1;
        _jira.RetryAfterSeconds = 1;
        using var host = Host(_jira.CloudSettings());
        var clock = Stopwatch.StartNew();

        var me = await Client(host).GetMyselfAsync(CancellationToken.None);

        Assert.Equal(FakeJira.DisplayName, me.DisplayName);
        Assert.Equal(2, _jira.Requests);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"retried after {clock.Elapsed}, before Retry-After");
    }

    [Theory]
    [InlineData(120, 1)] // beyond the bound: reported at once, with the wait
    [InlineData(0, JiraClient.MaxRetries + 1)] // always limited: given up after the bounded retries
    public async Task RateLimited_BeyondTheBoundOrForever_429WithTheWait(int retryAfterSeconds, int requests)
    {
        _jira.RateLimitedRequests = 100;
        _jira.RetryAfterSeconds = retryAfterSeconds;
        using var host = Host(_jira.CloudSettings());

        var ex = await Assert.ThrowsAsync<JiraException>(() => Client(host).GetMyselfAsync(CancellationToken.None));

        Assert.Equal((429, TimeSpan.FromSeconds(retryAfterSeconds)), (ex.Status, ex.RetryAfter));
        Assert.True(ex.IsUnavailable);
        Assert.Equal(requests, _jira.Requests);
    }

    [Fact]
    public async Task Slow_BeyondTheTimeout_UnreachableNamingTheTimeout()
    {
        _jira.Fault = JiraFault.Slow;
        using var host = Host(_jira.CloudSettings(more: "Jira:TimeoutSeconds=1"));

        var ex = await Assert.ThrowsAsync<JiraException>(() => Client(host).GetMyselfAsync(CancellationToken.None));

        Assert.Null(ex.Status);
        Assert.Contains("did not answer within 1 s", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerError_500_StatusAndJirasMessage()
    {
        _jira.Fault = JiraFault.ServerError;
        using var host = Host(_jira.CloudSettings());
        var ex = await Assert.ThrowsAsync<JiraException>(() => Client(host).GetIssueAsync("SD-1", CancellationToken.None));
        Assert.Equal(500, ex.Status);
        Assert.Contains("the database is being upgraded", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.IsUnavailable);
    }

    [Fact]
    public async Task NothingListening_UnreachableWithoutStatus()
    {
        using var host = Host("Jira:BaseUrl=http://127.0.0.1:9", $"Jira:Email={FakeJira.Email}", $"Jira:ApiToken={FakeJira.ApiToken}");
        var ex = await Assert.ThrowsAsync<JiraException>(() => Client(host).GetMyselfAsync(CancellationToken.None));
        Assert.Null(ex.Status);
        Assert.StartsWith("Jira could not be reached", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeJira.ApiToken, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddComment_V3_AdfBodyAndTheServiceManagementProperty()
    {
        _jira.AddIssue("SD-2", "Printer", "Jams");
        using var host = Host(_jira.CloudSettings());

        var comment = await Client(host).AddCommentAsync("SD-2", "Hola,\nreinicie.\n\nGracias", internalNote: true, CancellationToken.None);

        var sent = Assert.Single(_jira.Posted);
        Assert.Equal(Adf.FromText("Hola,\nreinicie.\n\nGracias").ToJsonString(), sent.Body!.ToJsonString());
        Assert.Equal("""[{"key":"sd.public.comment","value":{"internal":true}}]""", sent.Properties!.ToJsonString());
        Assert.Equal(("Hola,\nreinicie.\n\nGracias", true), (comment.Body, comment.Internal!.Value));
        Assert.Matches("^[0-9]+$", comment.Id);
    }

    [Theory]
    [InlineData("Jira:BaseUrl=https://example.atlassian.net", "needs credentials")]
    [InlineData("Jira:BaseUrl=https://example.atlassian.net|Jira:Email=a@b.c|Jira:ApiToken=tok-SECRET|Jira:PersonalAccessToken=pat-SECRET", "not both")]
    [InlineData("Jira:BaseUrl=https://bot:tok-SECRET@example.atlassian.net|Jira:Email=a@b.c|Jira:ApiToken=tok-SECRET", "must not carry credentials")]
    [InlineData("Jira:BaseUrl=example.atlassian.net|Jira:PersonalAccessToken=pat-SECRET", "CommentFlow:Jira:BaseUrl must be an absolute")]
    [InlineData("Jira:ApiVersion=4", "CommentFlow:Jira:ApiVersion")]
    [InlineData("Jira:PollSeconds=60", "CommentFlow:Jira:PollSeconds needs")]
    [InlineData("Jira:BaseUrl=https://example.atlassian.net|Jira:PersonalAccessToken=pat-SECRET|Jira:TimeoutSeconds=0", "TimeoutSeconds")]
    public async Task Start_InvalidJiraOptions_RefusedNamingTheOptionNeverTheToken(string settings, string expected)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(async () => await TestServer.StartAsync(null, settings.Split('|')));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_NotConfigured_OffAndValid()
    {
        using var host = Host();
        Assert.False(host.Services.GetRequiredService<IOptions<JiraOptions>>().Value.IsConfigured);
        Assert.False(Client(host).IsConfigured);
    }
}
