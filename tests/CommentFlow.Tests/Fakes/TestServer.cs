using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CommentFlow.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CommentFlow.Tests.Fakes;

/// <summary>The real CommentFlow server on a free loopback port, with a temporary data folder.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private TestServer(WebApplication app, string dataDir, string url)
    {
        _app = app;
        DataDir = dataDir;
        Client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
    }

    public string DataDir { get; }
    public HttpClient Client { get; }
    public IServiceProvider Services => _app.Services;
    public string DatabasePath => Path.Combine(DataDir, "commentflow.db");

    /// <param name="settings">Configuration as <c>key=value</c>, keys relative to the <c>CommentFlow</c> section.</param>
    public static Task<TestServer> StartAsync(string? dataDir = null, params string[] settings) => StartAsync(dataDir, configure: null, settings);

    /// <param name="configure">Runs after the app's own wiring, e.g. to replace the <see cref="TimeProvider"/> with a fake clock.</param>
    public static async Task<TestServer> StartAsync(string? dataDir, Action<WebApplicationBuilder>? configure, params string[] settings)
    {
        dataDir ??= TempDir.Create();
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            $"--CommentFlow:DataDir={dataDir}",
            // No Ollama unless a test points at its fake: a closed port answers "refused" at once.
            "--CommentFlow:Ollama:Url=http://127.0.0.1:9",
            "--CommentFlow:Ollama:StatusIntervalSeconds=1",
            .. settings.Select(s => $"--CommentFlow:{s}"),
        ];
        var app = ServerApp.Build(args, b =>
        {
            b.Logging.SetMinimumLevel(LogLevel.Warning);
            configure?.Invoke(b);
        });
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestServer(app, dataDir, url);
    }

    public async Task<JsonObject> SuggestAsync(object body)
    {
        var response = await Client.PostAsJsonAsync("/api/ml/comments/suggestions", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    public async Task<JsonObject> GetJsonAsync(string path)
    {
        var text = await Client.GetStringAsync(path);
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>Graceful stop: the capture writer drains before this returns.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
        Client.Dispose();
    }

    public static JsonSerializerOptions Json { get; } = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
