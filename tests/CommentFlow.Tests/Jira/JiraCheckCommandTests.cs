using System.CommandLine;
using System.Text.Json.Nodes;
using CommentFlow.Tests.Fakes;

namespace CommentFlow.Tests.Jira;

public sealed class JiraCheckCommandTests : IAsyncLifetime
{
    private FakeJira _jira = null!;

    public async Task InitializeAsync() => _jira = await FakeJira.StartAsync();

    public async Task DisposeAsync() => await _jira.DisposeAsync();

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommentFlow.Cli.CommandLine.Build().Parse(["jira", "check", .. args, $"--CommentFlow:DataDir={TempDir.Create()}"])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    private string[] Cloud(string token = FakeJira.ApiToken) => [.. _jira.CloudSettings(token).Select(s => $"--CommentFlow:{s}")];

    [Fact]
    public async Task Check_Connected_WhoTheServiceIsExit0()
    {
        var (code, output, _) = await RunAsync(Cloud());

        Assert.Equal(0, code);
        Assert.Contains($"as {FakeJira.DisplayName} (accountId {FakeJira.AccountId})", output, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeJira.ApiToken, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_DataCenterJson_NameAndDisplayName()
    {
        var (code, output, _) = await RunAsync("--json", $"--CommentFlow:Jira:BaseUrl={_jira.Url}", $"--CommentFlow:Jira:PersonalAccessToken={FakeJira.Pat}", "--CommentFlow:Jira:ApiVersion=2");

        Assert.Equal(0, code);
        var json = JsonNode.Parse(output)!;
        Assert.Equal(("commentflow", FakeJira.DisplayName, true), (json["name"]!.GetValue<string>(), json["display_name"]!.GetValue<string>(), json["success"]!.GetValue<bool>()));
        Assert.DoesNotContain(FakeJira.Pat, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_WrongToken_StatusAndJirasMessageExit1NoToken()
    {
        var (code, output, error) = await RunAsync(Cloud("wrong-token-31337"));

        Assert.Equal(1, code);
        Assert.Contains("401", error, StringComparison.Ordinal);
        Assert.Contains("Client must be authenticated to access this resource.", error, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-token-31337", output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_JiraDown_SaysUnreachableExit1()
    {
        var (code, _, error) = await RunAsync("--CommentFlow:Jira:BaseUrl=http://127.0.0.1:9", "--CommentFlow:Jira:PersonalAccessToken=pat");
        Assert.Equal(1, code);
        Assert.Contains("could not be reached", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_NotConfigured_SaysSoExit2()
    {
        var (code, _, error) = await RunAsync();
        Assert.Equal(2, code);
        Assert.Contains("Jira is not configured", error, StringComparison.Ordinal);
        Assert.Equal(0, _jira.Requests);
    }

    [Fact]
    public async Task Check_InvalidOptions_NamesTheOptionExit2()
    {
        var (code, _, error) = await RunAsync("--CommentFlow:Jira:BaseUrl=https://example.atlassian.net");
        Assert.Equal(2, code);
        Assert.Contains("CommentFlow:Jira:Email and CommentFlow:Jira:ApiToken", error, StringComparison.Ordinal);
    }
}
