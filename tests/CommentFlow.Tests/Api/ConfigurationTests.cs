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
    public async Task Start_EnvironmentVariable_OverridesAppSettings()
    {
        var dir = TempDir.Create();
        Environment.SetEnvironmentVariable("CommentFlow__Cache__MaxEntries", "1234");
        try
        {
            await using var server = await TestServer.StartAsync(dir);
            var cache = (await server.GetJsonAsync("/api/ml/comments/cache/stats"))["cache"]!;
            Assert.Equal(1234, cache["max_entries"]!.GetValue<int>());
        }
        finally
        {
            Environment.SetEnvironmentVariable("CommentFlow__Cache__MaxEntries", null);
        }
    }
}
