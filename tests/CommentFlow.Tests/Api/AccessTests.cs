using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CommentFlow.Api;
using CommentFlow.Tests.Fakes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CommentFlow.Tests.Api;

/// <summary>A server with one agent and one admin key and an allowed front-end origin, shared by the tests that only read.</summary>
public sealed class KeyedServerFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await TestServer.StartAsync(null, [.. AccessTests.KeySettings, $"Access:CorsOrigins:0={AccessTests.FrontEnd}"]);
        // Something for the admin to read at /evaluation.
        Directory.CreateDirectory(Path.Combine(Server.DataDir, "ml_models"));
        await File.WriteAllTextAsync(Path.Combine(Server.DataDir, "ml_models", "evaluation.json"), "{}");
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class AccessTests(KeyedServerFixture fixture) : IClassFixture<KeyedServerFixture>
{
    public const string AgentKey = "cf_agent-key-for-the-tests";
    public const string AdminKey = "cf_admin-key-for-the-tests";
    public const string FrontEnd = "https://desk.example.com";

    // Upper-case hex on purpose: the configured hash is read case-insensitively.
    public static string[] KeySettings =>
    [
        "Access:Keys:0:Name=front-end", $"Access:Keys:0:Hash={Sha256Hex(AgentKey).ToUpperInvariant()}", "Access:Keys:0:Role=agent",
        "Access:Keys:1:Name=ops", $"Access:Keys:1:Hash={Sha256Hex(AdminKey)}", "Access:Keys:1:Role=admin",
    ];

    private const string Api = "/api/ml/comments";

    private static readonly (HttpMethod Method, string Path)[] AgentEndpoints =
    [
        (HttpMethod.Post, $"{Api}/suggestions"),
        (HttpMethod.Get, $"{Api}/ml-stats"),
        (HttpMethod.Get, $"{Api}/cache/stats"),
        (HttpMethod.Get, $"{Api}/warmup"),
        (HttpMethod.Get, $"{Api}/samples/daily"),
        (HttpMethod.Get, $"{Api}/activity"),
    ];

    private static readonly (HttpMethod Method, string Path)[] AdminEndpoints =
    [
        (HttpMethod.Post, $"{Api}/export-training-data"),
        (HttpMethod.Post, $"{Api}/cache/clear"),
        (HttpMethod.Post, $"{Api}/train"),
        (HttpMethod.Get, $"{Api}/train/{{id}}"),
        (HttpMethod.Get, $"{Api}/models"),
        (HttpMethod.Get, $"{Api}/evaluation"),
        (HttpMethod.Delete, $"{Api}/samples?ticket_key=NO-SUCH-TICKET"),
        (HttpMethod.Get, $"{Api}/samples?page=1&size=5&q=SD-"),
        (HttpMethod.Get, $"{Api}/export?format=jsonl"),
    ];

    private static readonly string[] AnonymousEndpoints = ["/health", "/health/ready", $"{Api}/health"];

    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Request_KeysConfiguredNoKey_401ProblemOnAgentAndAdminEndpoints()
    {
        foreach (var (method, path) in AgentEndpoints.Concat(AdminEndpoints))
        {
            using var response = await SendAsync(Server.Client, method, path, key: null);
            await AssertProblemAsync(response, HttpStatusCode.Unauthorized, path);
            Assert.Equal("ApiKey", response.Headers.WwwAuthenticate.Single().Scheme);
        }
    }

    [Theory]
    [InlineData("cf_not-a-key-of-this-service")]
    [InlineData("CF_AGENT-KEY-FOR-THE-TESTS")]
    [InlineData("AGENT-HASH")] // the configured hash is not a key
    public async Task Request_WrongKey_401Problem(string key)
    {
        key = key.Replace("AGENT-HASH", Sha256Hex(AgentKey), StringComparison.Ordinal);
        foreach (var (method, path) in AgentEndpoints.Concat(AdminEndpoints))
        {
            using var response = await SendAsync(Server.Client, method, path, key);
            var problem = await AssertProblemAsync(response, HttpStatusCode.Unauthorized, path);
            Assert.Contains("does not hold a key", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Request_AgentKey_AgentEndpointsAnswerAdminEndpoints403()
    {
        foreach (var (method, path) in AgentEndpoints)
        {
            using var response = await SendAsync(Server.Client, method, path, AgentKey);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        foreach (var (method, path) in AdminEndpoints)
        {
            using var response = await SendAsync(Server.Client, method, path, AgentKey);
            var problem = await AssertProblemAsync(response, HttpStatusCode.Forbidden, path);
            Assert.Contains("front-end", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task JiraWebhook_KeysConfiguredNoKey_ReachesTheSignatureCheckNot401()
    {
        // Jira sends no API key: the webhook authenticates by signature, and without a secret refuses every delivery.
        using var response = await SendAsync(Server.Client, HttpMethod.Post, $"{Api}/jira/webhook", key: null);
        var problem = await AssertProblemAsync(response, HttpStatusCode.Forbidden, "jira webhook");
        Assert.Contains("WebhookSecret is not set", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelPromoteAndRollback_AgentKey403NoKey401()
    {
        foreach (var path in new[] { $"{Api}/models/some-version/promote", $"{Api}/models/rollback" })
        {
            using var agent = await SendAsync(Server.Client, HttpMethod.Post, path, AgentKey);
            await AssertProblemAsync(agent, HttpStatusCode.Forbidden, path);
            using var none = await SendAsync(Server.Client, HttpMethod.Post, path, key: null);
            await AssertProblemAsync(none, HttpStatusCode.Unauthorized, path);
        }
    }

    [Fact]
    public async Task Request_AdminKey_EveryEndpointSucceeds()
    {
        string? jobId = null;
        foreach (var (method, template) in AgentEndpoints.Concat(AdminEndpoints))
        {
            var path = template.Replace("{id}", jobId, StringComparison.Ordinal);
            using var response = await SendAsync(Server.Client, method, path, AdminKey);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
            if (path.EndsWith("/train", StringComparison.Ordinal))
            {
                jobId = JsonNode.Parse(text)!["id"]!.GetValue<string>();
            }
        }
        Assert.NotNull(jobId);
    }

    [Fact]
    public async Task Feedback_AgentKeyRecordsIt_NoKey401()
    {
        using var suggest = await SendAsync(Server.Client, HttpMethod.Post, $"{Api}/suggestions", AgentKey);
        var id = JsonNode.Parse(await suggest.Content.ReadAsStringAsync())!["suggestions"]![0]!["id"]!.GetValue<string>();
        foreach (var (path, body) in new (string, object)[]
        {
            ($"{Api}/feedback", new { suggestion_id = id, action = "accepted", agent = "ana" }),
            ($"{Api}/save", new { ticket_key = "none", text = "x", action = "used" }),
        })
        {
            using var anonymous = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
            await AssertProblemAsync(await Server.Client.SendAsync(anonymous), HttpStatusCode.Unauthorized, path);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Api}/feedback") { Content = JsonContent.Create(new { suggestion_id = id, action = "accepted", agent = "ana" }) };
        request.Headers.Add("X-Api-Key", AgentKey);
        using var response = await Server.Client.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task Health_KeysConfigured_AnsweredWithoutAKey()
    {
        foreach (var path in AnonymousEndpoints)
        {
            using var response = await Server.Client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task Request_UnmappedPathWithoutKey_401BecauseUnmarkedMeansAdmin()
    {
        using var anonymous = await Server.Client.GetAsync($"{Api}/no-such-endpoint");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var admin = await SendAsync(Server.Client, HttpMethod.Get, $"{Api}/no-such-endpoint", AdminKey);
        Assert.Equal(HttpStatusCode.NotFound, admin.StatusCode);
    }

    [Fact]
    public async Task Preflight_AllowedOrigin_AllowsOriginAndKeyHeader()
    {
        using var response = await PreflightAsync(Server.Client, FrontEnd);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(FrontEnd, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        var allowed = string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers")).ToLowerInvariant();
        Assert.Contains("x-api-key", allowed, StringComparison.Ordinal);
        Assert.Contains("content-type", allowed, StringComparison.Ordinal);

        // The actual request from the page: answered, with the origin allowed to read it.
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{Api}/ml-stats");
        request.Headers.Add("Origin", FrontEnd);
        request.Headers.Add("X-Api-Key", AgentKey);
        using var actual = await Server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, actual.StatusCode);
        Assert.Equal(FrontEnd, Assert.Single(actual.Headers.GetValues("Access-Control-Allow-Origin")));
    }

    [Fact]
    public async Task Preflight_OtherOrigin_NoAllowOrigin()
    {
        using var response = await PreflightAsync(Server.Client, "https://evil.example.com");
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Headers"));
    }

    [Fact]
    public async Task Preflight_NoCorsOriginsConfigured_NoCorsHeaders()
    {
        await using var server = await TestServer.StartAsync();
        using var response = await PreflightAsync(server.Client, FrontEnd);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Request_OverRateLimit_429WithRetryAfterPerKeyAndPerAddress()
    {
        await using var server = await TestServer.StartAsync(null, [.. KeySettings, "Access:RateLimit:PermitsPerMinute=3"]);
        for (var i = 0; i < 3; i++)
        {
            using var ok = await SendAsync(server.Client, HttpMethod.Get, $"{Api}/ml-stats", AgentKey);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using var limited = await SendAsync(server.Client, HttpMethod.Get, $"{Api}/ml-stats", AgentKey);
        await AssertProblemAsync(limited, HttpStatusCode.TooManyRequests, "4th agent request");
        Assert.InRange(limited.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

        // The admin key has its own budget; requests without a valid key share their address's.
        using var admin = await SendAsync(server.Client, HttpMethod.Get, $"{Api}/ml-stats", AdminKey);
        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
        for (var i = 0; i < 3; i++)
        {
            using var refused = await SendAsync(server.Client, HttpMethod.Get, $"{Api}/ml-stats", "cf_wrong");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        using var anonymous = await SendAsync(server.Client, HttpMethod.Get, $"{Api}/ml-stats", key: null);
        await AssertProblemAsync(anonymous, HttpStatusCode.TooManyRequests, "4th request without a valid key");
        Assert.NotNull(anonymous.Headers.RetryAfter);

        // Liveness and readiness probes are never limited.
        for (var i = 0; i < 5; i++)
        {
            using var health = await server.Client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
    }

    [Fact]
    public async Task Request_RateLimitZero_NeverLimited()
    {
        await using var server = await TestServer.StartAsync(null, [.. KeySettings, "Access:RateLimit:PermitsPerMinute=0"]);
        for (var i = 0; i < 50; i++)
        {
            using var response = await SendAsync(server.Client, HttpMethod.Get, $"{Api}/cache/stats", AgentKey);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task Start_NoKeys_OpenWithoutAKeyAndWarnsOnce()
    {
        var log = new RecordingLoggerProvider();
        await using var app = Build("http://127.0.0.1:0", log);
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        using var admin = await client.GetAsync($"{Api}/models");
        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
        using var post = await client.PostAsync($"{Api}/cache/clear", null);
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        var warning = Assert.Single(log.Entries, e => e.EventId.Id == 5001);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("CommentFlow:Access:Keys", warning.Message, StringComparison.Ordinal);
        await app.StopAsync();
    }

    [Fact]
    public async Task Start_WithKeys_NoOpenWarning()
    {
        var log = new RecordingLoggerProvider();
        await using var app = Build("http://127.0.0.1:0", log, KeySettings);
        await app.StartAsync();
        Assert.Contains(log.Entries, e => e.Message.StartsWith("Now listening on", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Entries, e => e.EventId.Id == 5001);
        await app.StopAsync();
    }

    [Theory]
    [InlineData("http://0.0.0.0:0", "http://0.0.0.0:0")]
    [InlineData("http://*:0", "http://*:0")]
    [InlineData("http://+:0", "http://+:0")]
    [InlineData("http://[::]:0", "http://[::]:0")]
    [InlineData("http://192.168.1.10:0", "http://192.168.1.10:0")]
    [InlineData("http://commentflow.example.com:0", "http://commentflow.example.com:0")]
    [InlineData("http://127.0.0.1:0;http://0.0.0.0:0", "http://0.0.0.0:0")]
    public async Task Start_NonLoopbackUrlWithoutKeys_RefusedNamingTheOptionAndTheUrl(string urls, string exposed)
    {
        await using var app = Build(urls);
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("CommentFlow:Access:Keys is empty", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"would listen on {exposed}.", ex.Message, StringComparison.Ordinal);
    }

    // The start-up validator is what StartAsync runs first; calling it alone proves the start is allowed without
    // binding a public interface of the test machine.
    [Theory]
    [InlineData("http://0.0.0.0:5005", true)]
    [InlineData("http://*:5005;http://[::]:5006", true)]
    [InlineData("http://localhost:5005", false)]
    [InlineData("http://[::1]:5005", false)]
    [InlineData("http://127.0.0.2:5005;https://127.0.0.1:5006", false)]
    public async Task Start_AllowedUrls_PassStartupValidation(string urls, bool withKeys)
    {
        await using var app = Build(urls, settings: withKeys ? KeySettings : []);
        Assert.Null(Record.Exception(() => app.Services.GetRequiredService<IStartupValidator>().Validate()));
    }

    [Theory]
    [InlineData("Access:Keys:0:Name=a|Access:Keys:0:Hash=abc|Access:Keys:0:Role=agent", "CommentFlow:Access:Keys:0:Hash")]
    [InlineData("Access:Keys:0:Name=a|Access:Keys:0:Hash=cf_agent-key-for-the-tests|Access:Keys:0:Role=agent", "CommentFlow:Access:Keys:0:Hash")]
    [InlineData("Access:Keys:0:Hash=HASH|Access:Keys:0:Role=agent", "CommentFlow:Access:Keys:0:Name")]
    [InlineData("Access:Keys:0:Name=a|Access:Keys:0:Hash=HASH|Access:Keys:0:Role=root", "CommentFlow:Access:Keys:0:Role")]
    [InlineData("Access:Keys:0:Name=a|Access:Keys:0:Hash=HASH|Access:Keys:0:Role=agent|Access:Keys:1:Name=A|Access:Keys:1:Hash=0000000000000000000000000000000000000000000000000000000000000000|Access:Keys:1:Role=admin", "CommentFlow:Access:Keys:1:Name")]
    [InlineData("Access:CorsOrigins:0=https://desk.example.com/", "CommentFlow:Access:CorsOrigins:0")]
    [InlineData("Access:CorsOrigins:0=*", "CommentFlow:Access:CorsOrigins:0")]
    [InlineData("Access:RateLimit:PermitsPerMinute=-1", "CommentFlow:Access:RateLimit:PermitsPerMinute")]
    public async Task Start_InvalidAccessOption_RefusedNamingTheOption(string settings, string option)
    {
        var args = settings.Replace("HASH", Sha256Hex(AgentKey), StringComparison.Ordinal).Split('|');
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(async () => await TestServer.StartAsync(null, args));
        Assert.Contains(option, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysNew_Cli_PrintedKeyHashesToThePrintedEntryAndOpensTheServer()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["exec", Path.Combine(AppContext.BaseDirectory, "commentflow.dll"), "keys", "new", "--name", "desk-2", "--role", "agent"])
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = await stdout;
        Assert.True(process.ExitCode == 0, output + await stderr);

        var lines = output.Split('\n', StringSplitOptions.TrimEntries);
        var key = Assert.Single(lines, l => l.StartsWith("cf_", StringComparison.Ordinal));
        Assert.True(key.Length >= 40, key);
        var entry = JsonNode.Parse(Assert.Single(lines, l => l.StartsWith('{')))!;
        var hash = entry["Hash"]!.GetValue<string>();
        Assert.Equal(Sha256Hex(key), hash);
        Assert.Equal("desk-2", entry["Name"]!.GetValue<string>());
        Assert.Equal("agent", entry["Role"]!.GetValue<string>());
        Assert.Contains($"CommentFlow__Access__Keys__N__Hash={hash}", lines);

        // Pasted into the configuration, the entry lets the printed key in, as an agent.
        await using var server = await TestServer.StartAsync(null, "Access:Keys:0:Name=desk-2", $"Access:Keys:0:Hash={hash}", "Access:Keys:0:Role=agent");
        using var agent = await SendAsync(server.Client, HttpMethod.Post, $"{Api}/suggestions", key);
        Assert.Equal(HttpStatusCode.OK, agent.StatusCode);
        using var admin = await SendAsync(server.Client, HttpMethod.Get, $"{Api}/models", key);
        Assert.Equal(HttpStatusCode.Forbidden, admin.StatusCode);
    }

    // Computed here rather than through the product's helper, so a wrong hash in the product cannot agree with itself.
    private static string Sha256Hex(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key))).ToLowerInvariant();

    private static WebApplication Build(string urls, RecordingLoggerProvider? log = null, string[]? settings = null) =>
        ServerApp.Build(
            [
                $"--urls={urls}",
                $"--CommentFlow:DataDir={TempDir.Create()}",
                "--CommentFlow:Ollama:Url=http://127.0.0.1:9",
                .. (settings ?? []).Select(s => $"--CommentFlow:{s}"),
            ],
            b =>
            {
                b.Logging.SetMinimumLevel(LogLevel.Information);
                if (log is not null)
                {
                    b.Logging.AddProvider(log);
                }
            });

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string? key)
    {
        using var request = new HttpRequestMessage(method, path);
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }
        if (path.EndsWith("/suggestions", StringComparison.Ordinal))
        {
            request.Content = JsonContent.Create(new { summary = "Error 404 en página principal", description = "Los usuarios reportan error 404" });
        }
        return await client.SendAsync(request);
    }

    private static Task<HttpResponseMessage> PreflightAsync(HttpClient client, string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, $"{Api}/suggestions");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "x-api-key,content-type");
        return client.SendAsync(request);
    }

    private static async Task<JsonNode> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{what}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!;
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
        return problem;
    }
}
