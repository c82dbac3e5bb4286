using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CommentFlow.Tests.Fakes;
using Microsoft.Extensions.Options;

namespace CommentFlow.Tests.Api;

public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("Engine=banana", "Engine")]
    [InlineData("Ollama:TimeoutSeconds=0", "TimeoutSeconds")]
    [InlineData("Ollama:Url=not a url", "Url")]
    [InlineData("Capture:QueueCapacity=0", "QueueCapacity")]
    [InlineData("Capture:FullMode=block", "FullMode")]
    [InlineData("Storage:Provider=oracle", "Provider")]
    [InlineData("Storage:CompressionThreshold=-1", "CompressionThreshold")]
    [InlineData("Cache:TtlSeconds=-5", "TtlSeconds")]
    [InlineData("Retention:Days=-1", "Days")]
    [InlineData("Retention:IntervalMinutes=0", "IntervalMinutes")]
    [InlineData("ModelsDir=   ", "ModelsDir")]
    public async Task Start_InvalidOption_RefusedNamingTheOption(string setting, string option)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(async () => await TestServer.StartAsync(null, setting));
        Assert.Contains(option, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_EnvironmentVariables_OverrideAppSettingsAndTheCommandLineOverridesThem()
    {
        // The shipped appsettings.json sets these: the variables must win over it, as docs/configuration.md says.
        var appSettings = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "appsettings.json")))!["CommentFlow"]!;
        Assert.Equal("auto", appSettings["Engine"]!.GetValue<string>());
        Assert.Equal(300, appSettings["Cache"]!["TtlSeconds"]!.GetValue<int>());

        // The server in its own process, so the variables reach it the way an operator sets them and no other test sees them.
        var environment = new Dictionary<string, string>
        {
            ["CommentFlow__Engine"] = "rules",
            ["CommentFlow__Cache__TtlSeconds"] = "77",
            ["CommentFlow__Cache__MaxEntries"] = "1234",
        };
        using var server = await ServerProcess.StartAsync(TempDir.Create(), environment, "Cache:MaxEntries=4321");

        var cache = (await server.Client.GetFromJsonAsync<JsonObject>("/api/ml/comments/cache/stats"))!["cache"]!;
        Assert.Equal(77, cache["ttl_seconds"]!.GetValue<int>());
        Assert.Equal(4321, cache["max_entries"]!.GetValue<int>()); // --CommentFlow:Cache:MaxEntries beats the variable
        var health = (await server.Client.GetFromJsonAsync<JsonObject>("/api/ml/comments/health"))!;
        Assert.Equal("rules", health["engine"]!.GetValue<string>());
    }
}
