using CommentFlow.OwnModel;
using System.Text.Json.Nodes;
using CommentFlow.Configuration;
using CommentFlow.Domain;
using CommentFlow.Engines.Local;
using CommentFlow.Engines.Ollama;
using CommentFlow.Tests.Api;
using CommentFlow.Tests.Fakes;
using CommentFlow.Tests.Training;
using CommentFlow.Training;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OllamaSharp;

namespace CommentFlow.Tests.Engines;

public sealed class OllamaExamplesTests : IAsyncLifetime
{
    private const string VpnReply = "Updated the VPN client and reset the tunnel profile (A).";

    // Training takes a few seconds on a shared machine: one model of OwnModelTests' history serves every test that only reads it.
    private static readonly Lazy<Task<string>> TrainedHistory = new(() => TrainedAsync(OwnModelTests.History("A")));

    private static readonly TicketContext Vpn = new() { Summary = "VPN drops every 7 minutes when working from home", Description = "vpn", Language = "en" };

    private FakeOllama _fake = null!;

    public async Task InitializeAsync() => _fake = await FakeOllama.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    /// <summary>The own model's host over a data folder, with its active version (if any) loaded.</summary>
    internal static LocalModelHost ModelHost(string dataDir)
    {
        var host = new LocalModelHost(new ModelRegistry(new CommentFlowOptions { DataDir = dataDir }.ResolveModelsDir()), Options.Create(new LocalOptions()),
            TimeProvider.System, NullLogger<LocalModelHost>.Instance);
        host.Refresh();
        return host;
    }

    private static async Task<string> TrainedAsync(IReadOnlyList<TrainingSample> samples)
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync(samples, null, CancellationToken.None);
        await OwnModelTests.TrainAsync(store, new ModelRegistry(Path.Combine(dataDir, "ml_models")));
        return dataDir;
    }

    private OllamaEngine Engine(LocalModelHost models, int examples) => new(
        new OllamaApiClient(new HttpClient { BaseAddress = new Uri(_fake.Url) }, "llama3.2"),
        new OllamaStatus(TimeProvider.System),
        models,
        Options.Create(new OllamaOptions { Url = _fake.Url, TimeoutSeconds = 30, Examples = examples }),
        NullLogger<OllamaEngine>.Instance);

    private string LastUserMessage() => UserMessage(_fake.ChatRequests.Last());

    private static string UserMessage(JsonObject request) =>
        request["messages"]!.AsArray().Single(m => m!["role"]!.GetValue<string>() == "user")!["content"]!.GetValue<string>();

    private static string PlainUserMessage(TicketContext context, int max) => OllamaPrompt.Build(context, max)[1].Text;

    [Fact]
    public async Task Suggest_OwnModelActiveThroughServer_PromptCarriesNearestTicketsReplyOnly()
    {
        var dataDir = await TrainedHistory.Value;
        await using var server = await TestServer.StartAsync(dataDir, "Engine=ollama", $"Ollama:Url={_fake.Url}", "Ollama:WarmUp=false",
            "Ollama:Examples=1", "Cache:TtlSeconds=0");
        await SuggestionApiTests.WaitForOllamaAsync(server, "up");
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while ((await server.GetJsonAsync("/api/ml/comments/models"))["serving"] is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the own model was never served");
            await Task.Delay(100);
        }

        var answer = await server.SuggestAsync(new { summary = Vpn.Summary, description = Vpn.Description });

        Assert.Equal("ollama", answer["engine"]!.GetValue<string>());
        var user = LastUserMessage();
        Assert.Contains($"Reply: {VpnReply}\n", user, StringComparison.Ordinal);
        Assert.Contains("Past ticket 1: VPN drops every", user, StringComparison.Ordinal);
        Assert.DoesNotContain("Past ticket 2", user, StringComparison.Ordinal);
        string[] otherReplies = ["Cleared the paper tray", "Reset the password", "Corrected the invoice"];
        Assert.All(otherReplies, reply => Assert.DoesNotContain(reply, user, StringComparison.Ordinal));
        Assert.Single(user.Split('\n'), line => line.EndsWith("(A).", StringComparison.Ordinal)); // nor a "Misc issue" one
        // The ticket to answer comes after the examples.
        Assert.True(user.IndexOf("Reply: ", StringComparison.Ordinal) < user.IndexOf("Summary: " + Vpn.Summary, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SuggestAsync_ExamplesZero_PromptHasNoExamples()
    {
        var models = ModelHost(await TrainedHistory.Value);
        Assert.NotNull(models.Current);

        // The same model with examples on shows them, so their absence below is the option's doing.
        Assert.True((await Engine(models, examples: 3).SuggestAsync(Vpn, 3, CancellationToken.None)).Succeeded);
        var withExamples = LastUserMessage();
        Assert.Contains(VpnReply, withExamples, StringComparison.Ordinal);
        Assert.Contains("Past ticket 3: ", withExamples, StringComparison.Ordinal);

        var result = await Engine(models, examples: 0).SuggestAsync(Vpn, 3, CancellationToken.None);

        Assert.True(result.Succeeded, result.Failure);
        Assert.Equal(PlainUserMessage(Vpn, 3), LastUserMessage());
    }

    [Fact]
    public async Task SuggestAsync_NoModelActive_PlainPromptAndAnswered()
    {
        var models = ModelHost(TempDir.Create());
        Assert.Null(models.Current);

        var result = await Engine(models, examples: 3).SuggestAsync(Vpn, 3, CancellationToken.None);

        Assert.True(result.Succeeded, result.Failure);
        Assert.Equal(3, result.Suggestions.Count);
        Assert.Equal(PlainUserMessage(Vpn, 3), LastUserMessage());
        Assert.DoesNotContain("Past ticket", LastUserMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SuggestAsync_HugeStoredTicketsAndAnswers_ExamplesStayWithinTheBound()
    {
        // Long threads and long replies, every reply different: nothing repeats, so only the bounds limit the block.
        string[] topics = ["printer", "vpn", "password", "invoice"];
        var samples = Enumerable.Range(0, 60).Select(i =>
        {
            var topic = topics[i % topics.Length];
            var words = string.Join(' ', Enumerable.Range(0, 900).Select(w => $"{topic}{(w * 7 + i) % 50}"));
            var context = new TicketContext { Summary = $"The {topic} is broken again, case {i}", Description = words, Language = "en" };
            var reply = $"Reply {i} for the {topic}: " + string.Join(' ', Enumerable.Range(0, 1_500).Select(w => $"step{(w + i) % 97}"));
            return TrainingSample.From(context, context.Hash(), [new Suggestion(reply, "", 1.0)], "history", "history", 0, DateTimeOffset.UnixEpoch);
        }).ToList();
        var models = ModelHost(await TrainedAsync(samples));
        var ticket = new TicketContext { Summary = "The vpn is broken again", Description = "vpn1 vpn2 vpn3", Language = "en" };

        var result = await Engine(models, examples: 10).SuggestAsync(ticket, 3, CancellationToken.None);

        Assert.True(result.Succeeded, result.Failure);
        var user = LastUserMessage();
        var plain = PlainUserMessage(ticket, 3);
        Assert.EndsWith(plain, user, StringComparison.Ordinal);
        Assert.InRange(user.Length - plain.Length, 1, OllamaPrompt.MaxExamplesChars);
        var lines = user.Split('\n');
        var tickets = lines.Where(l => l.StartsWith("Past ticket ", StringComparison.Ordinal)).ToList();
        var replies = lines.Where(l => l.StartsWith("Reply: ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(replies);
        Assert.StartsWith("Past ticket 1: The vpn is broken again", tickets[0], StringComparison.Ordinal);
        Assert.All(tickets, t => Assert.InRange(t.Length - "Past ticket 1: ".Length, 1, OllamaPrompt.MaxExampleTicketChars));
        Assert.All(replies, r => Assert.InRange(r.Length - "Reply: ".Length, 1, OllamaPrompt.MaxExampleAnswerChars));
        Assert.All(tickets.Concat(replies), l => Assert.EndsWith("…", l, StringComparison.Ordinal));
        // The index keeps more of a ticket than is shown, so the cut above is the prompt's, at a word, marked.
        Assert.True(RetrievalIndex.TicketTextKept > OllamaPrompt.MaxExampleTicketChars);
    }

    [Theory]
    [InlineData("short text", 20, "short text")]
    [InlineData("one two three four", 12, "one two…")]
    [InlineData("abcdefghijklmnopqrstuvwxyz", 10, "abcdefghi…")]
    [InlineData("abcdefgh😀xyz", 10, "abcdefgh…")]
    [InlineData("abcdef 😀😀😀", 10, "abcdef…")]
    public void Cut_Texts_AtMostMaxAtAWord(string text, int max, string expected)
    {
        var cut = OllamaPrompt.Cut(text, max);
        Assert.Equal(expected, cut);
        Assert.True(cut.Length <= max);
    }
}
