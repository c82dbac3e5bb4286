using System.Globalization;
using System.Text.Json.Nodes;
using CommentFlow.Domain;
using CommentFlow.Engines.Local;
using CommentFlow.OwnModel;
using CommentFlow.Tests.Api;
using CommentFlow.Tests.Fakes;
using CommentFlow.Tests.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CommentFlow.Tests.Engines;

/// <summary>
/// Which engine answers once an own model is active: in <c>auto</c> (the shipped default) and <c>hybrid</c>, the own
/// model when its best confidence reaches <c>Local:Threshold</c>, else Ollama, and when Ollama is down, whoever can.
/// Each confidence is the one the server's own model gives for the ticket, so the routing is checked, not assumed.
/// </summary>
public sealed class EngineModeTests : IAsyncLifetime
{
    // Training takes a few seconds on a shared machine: each model is trained once for the tests here. On OwnModelTests'
    // history a ticket is known or not (confidence 1 or 0); on the products of OwnModelV2Tests some are half known.
    private static readonly Lazy<Task<string>> Topics = new(() => TrainedAsync(OwnModelTests.History("A")));
    private static readonly Lazy<Task<string>> Products = new(() => TrainedAsync(OwnModelV2Tests.ProductHistory()));

    private static async Task<string> TrainedAsync(IReadOnlyList<TrainingSample> history)
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync(history, null, CancellationToken.None);
        await OwnModelTests.TrainAsync(store, new ModelRegistry(Path.Combine(dataDir, "ml_models")), promote: true);
        return dataDir;
    }

    // A ticket the history answers many times over, and one whose neighbours share nothing.
    private static readonly TicketContext Fitting = new() { Summary = "VPN drops every 5 minutes when working from home", Description = "vpn ticket" };
    private static readonly TicketContext Poor = new() { Summary = "Misc issue orbit prism", Description = "kelp nectar" };

    // Tickets the product model knows more or less well (OwnModelV2Tests' threshold test): the one whose confidence is
    // furthest from 0 and 1 is taken.
    private static readonly TicketContext[] Partial =
    [
        new() { Summary = "Lenovo ThinkPad T14 laptop does not start", Description = "It worked yesterday but not today, room 400" },
        new() { Summary = "Coffee machine in the kitchen leaks water", Description = "Since this morning it is not working for me, room 401" },
        new() { Summary = "The printer does not print", Description = "My colleague and I have the same problem in room 402" },
        new() { Summary = "Epson EcoTank ET-2720 printer does not print", Description = "Since this morning it is not working for me, room 200" },
        new() { Summary = "OnePlus Nord CE3 phone cannot sync email", Description = "It worked yesterday but not today, room 300" },
    ];

    private FakeOllama _fake = null!;

    public async Task InitializeAsync() => _fake = await FakeOllama.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    /// <summary>A server on the trained data (a copy, so captured samples stay apart), its own model loaded and Ollama in <paramref name="ollama"/>.</summary>
    private static async Task<TestServer> StartAsync(string ollama, params string[] settings) => await StartAsync(Topics, ollama, settings);

    private static async Task<TestServer> StartAsync(Lazy<Task<string>> trained, string ollama, params string[] settings)
    {
        var dataDir = TempDir.Create();
        ModelRegistry.CopyDirectory(Path.Combine(await trained.Value, "ml_models"), Path.Combine(dataDir, "ml_models"));
        var server = await TestServer.StartAsync(dataDir, ["Cache:TtlSeconds=0", "Ollama:WarmUp=false", .. settings]);
        await OwnModelTests.WaitUntilAsync(async () => (await server.GetJsonAsync("/api/ml/comments/models"))["serving"] is not null);
        await SuggestionApiTests.WaitForOllamaAsync(server, ollama);
        return server;
    }

    /// <summary>The best confidence the server's own model gives this ticket: what the engine choice compares with the threshold.</summary>
    private static double OwnConfidence(TestServer server, TicketContext ticket)
    {
        var own = server.Services.GetRequiredService<LocalEngine>().Suggest(ticket, 3);
        Assert.True(own.Succeeded, own.Failure);
        return own.Suggestions.Max(s => s.Confidence);
    }

    private static Task<JsonObject> SuggestAsync(TestServer server, TicketContext ticket) =>
        server.SuggestAsync(new { summary = ticket.Summary, description = ticket.Description });

    private static string Engine(JsonObject answer) => answer["engine"]!.GetValue<string>();

    [Fact]
    public async Task Auto_ShippedDefaultWithActiveOwnModel_ConfidentTicketByOwnModelPoorOneByOllama()
    {
        // No Engine setting: the shipped appsettings.json's, as in production.
        await using var server = await StartAsync("up", $"Ollama:Url={_fake.Url}");
        Assert.Equal("auto", (await server.GetJsonAsync("/api/ml/comments/health"))["engine"]!.GetValue<string>());
        var threshold = server.Services.GetRequiredService<IOptions<LocalOptions>>().Value.Threshold;
        Assert.True(OwnConfidence(server, Fitting) >= threshold, $"fitting {OwnConfidence(server, Fitting)} < {threshold}");
        Assert.True(OwnConfidence(server, Poor) < threshold, $"poor {OwnConfidence(server, Poor)} >= {threshold}");

        var own = await SuggestAsync(server, Fitting);
        Assert.Equal("local", Engine(own));
        Assert.StartsWith("own-", own["model"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(own["fallback"]);
        Assert.Empty(_fake.ChatRequests);

        var ollama = await SuggestAsync(server, Poor);
        Assert.Equal("ollama", Engine(ollama));
        Assert.Null(ollama["fallback"]);
        Assert.Contains(Poor.Summary, Assert.Single(_fake.ChatRequests).ToJsonString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("hybrid")]
    public async Task ActiveOwnModel_OllamaDown_OwnModelOrRulesAnswerAndSayOllamaWasUnavailable(string mode)
    {
        // Ollama on a closed port: the monitor finds it down, and no request is sent to it.
        await using var server = await StartAsync("down", $"Engine={mode}");
        var threshold = server.Services.GetRequiredService<IOptions<LocalOptions>>().Value.Threshold;
        Assert.True(OwnConfidence(server, Poor) < threshold, $"poor {OwnConfidence(server, Poor)} >= {threshold}");

        // Confident: the own model, as when Ollama is up; nothing to report.
        var own = await SuggestAsync(server, Fitting);
        Assert.Equal("local", Engine(own));
        Assert.Null(own["fallback"]);

        // Not confident: Ollama was wanted but is down, so the own model answers anyway, and the answer says why.
        var fallback = await SuggestAsync(server, Poor);
        Assert.Equal("local", Engine(fallback));
        Assert.StartsWith("own-", fallback["model"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("ollama", fallback["fallback"]!["from"]!.GetValue<string>());
        Assert.Equal("unavailable", fallback["fallback"]!["reason"]!.GetValue<string>());
        Assert.Equal(OwnConfidence(server, Poor), fallback["suggestions"]!.AsArray().Max(s => s!["confidence"]!.GetValue<double>()));

        // Nothing the own model can draw on either: the rules answer, and the answer still names Ollama as what was missing.
        var unknown = new TicketContext { Summary = "Zqxv wvyt", Description = "Qzzp" };
        Assert.Equal(LocalEngine.NoMatch, server.Services.GetRequiredService<LocalEngine>().Suggest(unknown, 3).Failure);
        var rules = await SuggestAsync(server, unknown);
        Assert.Equal("rules", Engine(rules));
        Assert.Equal("rules-v1", rules["model"]!.GetValue<string>());
        Assert.Equal("ollama", rules["fallback"]!["from"]!.GetValue<string>());
        Assert.Equal("unavailable", rules["fallback"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Hybrid_ThresholdExactlyAtTheConfidence_OwnModelAnswersOneStepAboveOllamaDoes()
    {
        // A ticket the own model half knows: its confidence strictly between 0 and 1, so there is a double on each side of it.
        TicketContext ticket;
        double confidence;
        await using (var server = await StartAsync(Products, "down", "Engine=local"))
        {
            var local = server.Services.GetRequiredService<LocalEngine>();
            (ticket, confidence) = Partial.Select(t => (Ticket: t, Own: local.Suggest(t, 3)))
                .Where(p => p.Own.Succeeded)
                .Select(p => (p.Ticket, p.Own.Suggestions.Max(s => s.Confidence)))
                .MaxBy(p => Math.Min(p.Item2, 1 - p.Item2));
            Assert.InRange(confidence, 0.01, 0.99);
            // The server reports the same confidence it routes on.
            Assert.Equal(confidence, (await SuggestAsync(server, ticket))["suggestions"]!.AsArray().Max(s => s!["confidence"]!.GetValue<double>()));
        }

        // At the confidence: reached, the own model answers.
        await using (var server = await StartAsync(Products, "up", "Engine=hybrid", $"Ollama:Url={_fake.Url}", $"Local:Threshold={Format(confidence)}"))
        {
            Assert.Equal("local", Engine(await SuggestAsync(server, ticket)));
            Assert.Empty(_fake.ChatRequests);
        }

        // The next double above it: not reached, Ollama answers.
        await using (var server = await StartAsync(Products, "up", "Engine=hybrid", $"Ollama:Url={_fake.Url}", $"Local:Threshold={Format(Math.BitIncrement(confidence))}"))
        {
            Assert.Equal("ollama", Engine(await SuggestAsync(server, ticket)));
            Assert.Single(_fake.ChatRequests);
        }

        // The next double below: reached again.
        await using (var server = await StartAsync(Products, "up", "Engine=hybrid", $"Ollama:Url={_fake.Url}", $"Local:Threshold={Format(Math.BitDecrement(confidence))}"))
        {
            Assert.Equal("local", Engine(await SuggestAsync(server, ticket)));
            Assert.Single(_fake.ChatRequests);
        }
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

}
