using System.Diagnostics;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Engines.Ollama;
using CommentFlow.Tests.Fakes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OllamaSharp;

namespace CommentFlow.Tests.Engines;

public sealed class OllamaEngineTests : IAsyncLifetime
{
    private FakeOllama _fake = null!;

    public async Task InitializeAsync() => _fake = await FakeOllama.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    private (OllamaEngine Engine, OllamaStatus Status, OllamaApiClient Client) Create(int timeoutSeconds = 2)
    {
        var options = Options.Create(new OllamaOptions { Url = _fake.Url, TimeoutSeconds = timeoutSeconds });
        var client = new OllamaApiClient(new HttpClient { BaseAddress = new Uri(_fake.Url) }, "llama3.2");
        var status = new OllamaStatus(TimeProvider.System);
        return (new OllamaEngine(client, status, OllamaExamplesTests.ModelHost(TempDir.Create()), options, NullLogger<OllamaEngine>.Instance), status, client);
    }

    private static readonly TicketContext Ticket = new()
    {
        Summary = "Error 404 en página principal",
        Description = "Los usuarios reportan error 404",
        IssueType = "Bug",
        Comments = Enumerable.Range(1, 12).Select(i => $"Comentario {i}").ToList(),
    };

    [Fact]
    public async Task SuggestAsync_ValidAnswer_ParsedAndRequestFollowsProtocol()
    {
        var (engine, _, _) = Create();
        var result = await engine.SuggestAsync(Ticket, 5, CancellationToken.None);

        Assert.True(result.Succeeded, result.Failure);
        Assert.Equal(["diagnostic", "action", "resolution"], result.Suggestions.Select(s => s.Type));
        Assert.Equal(0.9, result.Suggestions[0].Confidence);
        Assert.Equal("llama3.2", result.Model);

        var request = Assert.Single(_fake.ChatRequests);
        Assert.Equal("llama3.2", request["model"]!.GetValue<string>());
        Assert.False(request["stream"]!.GetValue<bool>());
        // The JSON schema goes in "format", so Ollama constrains its output to it.
        Assert.Equal("object", request["format"]!["type"]!.GetValue<string>());
        Assert.NotNull(request["format"]!["properties"]!["suggestions"]);
        var user = request["messages"]!.AsArray().Last()!["content"]!.GetValue<string>();
        Assert.Contains("Comentario 12", user, StringComparison.Ordinal);
        Assert.Contains("Comentario 3", user, StringComparison.Ordinal);
        Assert.DoesNotContain("Comentario 2\n", user, StringComparison.Ordinal); // only the last 10 comments
        var system = request["messages"]!.AsArray().First()!["content"]!.GetValue<string>();
        Assert.Contains("Spanish", system, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SuggestAsync_MaxSuggestions_Truncates()
    {
        var (engine, _, _) = Create();
        var result = await engine.SuggestAsync(Ticket, 2, CancellationToken.None);
        Assert.Equal(2, result.Suggestions.Count);
    }

    [Theory]
    [InlineData(OllamaFault.Slow, FailureReasons.Timeout)]
    [InlineData(OllamaFault.ServerError, FailureReasons.HttpError)]
    [InlineData(OllamaFault.ModelNotFound, FailureReasons.ModelError)]
    [InlineData(OllamaFault.MalformedJson, FailureReasons.MalformedResponse)]
    [InlineData(OllamaFault.NotJsonContent, FailureReasons.MalformedResponse)]
    [InlineData(OllamaFault.EmptyContent, FailureReasons.EmptyResponse)]
    [InlineData(OllamaFault.InvalidSuggestions, FailureReasons.InvalidOutput)]
    [InlineData(OllamaFault.DropConnection, FailureReasons.ConnectionError)]
    public async Task SuggestAsync_Fault_FailsWithReason(OllamaFault fault, string reason)
    {
        _fake.Fault = fault;
        // Only the slow fault needs a short timeout; the others get room, so a loaded CI machine (first call JIT-compiles
        // the client) cannot turn them into a timeout.
        var timeout = fault == OllamaFault.Slow ? 1 : 10;
        var (engine, _, _) = Create(timeoutSeconds: timeout);
        var clock = Stopwatch.StartNew();
        var result = await engine.SuggestAsync(Ticket, 5, CancellationToken.None);
        Assert.False(result.Succeeded);
        // The slow fake answers validly after 10 s: a timeout that did not fire gives a success, not this reason. No upper
        // bound on the time (a loaded machine stretches it); the lower one shows the engine waited the whole timeout (less the few milliseconds a timer may fire early).
        Assert.Equal(reason, result.Failure);
        if (fault == OllamaFault.Slow)
        {
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(timeout * 0.9), $"gave up after {clock.Elapsed}, before the {timeout} s timeout");
        }
    }

    [Fact]
    public async Task SuggestAsync_NothingListening_MarksOllamaDown()
    {
        var options = Options.Create(new OllamaOptions { Url = "http://127.0.0.1:9", TimeoutSeconds = 5 });
        var status = new OllamaStatus(TimeProvider.System);
        var engine = new OllamaEngine(new OllamaApiClient(new HttpClient { BaseAddress = new Uri("http://127.0.0.1:9") }, "llama3.2"), status,
            OllamaExamplesTests.ModelHost(TempDir.Create()), options, NullLogger<OllamaEngine>.Instance);
        var result = await engine.SuggestAsync(Ticket, 3, CancellationToken.None);
        Assert.Equal(FailureReasons.ConnectionError, result.Failure);
        Assert.Equal(OllamaState.Down, status.Current.State);
    }

    // Why the engine never streams: an error line mid-stream ends the text without any exception.
    [Fact]
    public async Task Streaming_ErrorMidStream_TextStopsSilently()
    {
        var (_, _, client) = Create();
        IChatClient chat = client;
        var whole = string.Concat(await ToListAsync(chat.GetStreamingResponseAsync("hola")));
        Assert.Equal(_fake.Content, whole);

        _fake.Fault = OllamaFault.ErrorMidStream;
        var cut = string.Concat(await ToListAsync(chat.GetStreamingResponseAsync("hola")));
        Assert.True(cut.Length < _fake.Content.Length);
        Assert.Null(OllamaPrompt.Parse(cut, 5));
        Assert.True(_fake.ChatRequests.All(r => r["stream"]!.GetValue<bool>()));
    }

    private static async Task<List<string>> ToListAsync(IAsyncEnumerable<ChatResponseUpdate> updates)
    {
        var list = new List<string>();
        await foreach (var u in updates)
        {
            list.Add(u.Text);
        }
        return list;
    }

    [Theory]
    [InlineData("""```json {"suggestions":[{"text":"Check logs","type":"ACTION","confidence":0.7}]} ```""", 1)]
    [InlineData("""{"suggestions":[{"text":"a","type":"action","confidence":0.7},{"text":"A","type":"action","confidence":0.6}]}""", 1)]
    [InlineData("""{"suggestions":[{"text":"a","type":"action","confidence":-0.1},{"text":"b","type":"action","confidence":"high"}]}""", 0)]
    [InlineData("""{"suggestions":[]}""", 0)]
    public void Parse_ModelOutputs_KeepsOnlyValidSuggestions(string output, int expected)
    {
        Assert.Equal(expected, OllamaPrompt.Parse(output, 5)!.Count);
    }

    [Theory]
    [InlineData("""{"ideas":[]}""")]
    [InlineData("""[1,2]""")]
    [InlineData("not json at all")]
    public void Parse_NotTheAskedShape_ReturnsNull(string output) => Assert.Null(OllamaPrompt.Parse(output, 5));
}
