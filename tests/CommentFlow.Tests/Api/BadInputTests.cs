using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CommentFlow.Tests.Fakes;

namespace CommentFlow.Tests.Api;

public sealed class BadInputTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        await _server.SuggestAsync(new { summary = "A valid ticket", description = "to have something in the store" });
        await SuggestionApiTests.WaitForWrittenAsync(_server, 1);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string, byte[], string> Cases()
    {
        static byte[] J(object o) => JsonSerializer.SerializeToUtf8Bytes(o);
        var longText = new string('x', 100_001);
        return new TheoryData<string, byte[], string>
        {
            { "not JSON", "summary=hello"u8.ToArray(), "body" },
            { "empty body", [], "body" },
            { "JSON null", "null"u8.ToArray(), "body" },
            { "JSON array", "[1,2]"u8.ToArray(), "body" },
            { "truncated JSON", "{\"summary\": \"abc"u8.ToArray(), "summary" },
            { "invalid UTF-8", [.. "{\"summary\": \""u8, 0xC3, 0x28, .. "\"}"u8], "summary" },
            { "trailing garbage", "{\"summary\": \"abc\"} xyz"u8.ToArray(), "body" },
            { "summary is a number", J(new { summary = 42 }), "summary" },
            { "comments is a string", J(new { summary = "a", all_comments = "one" }), "all_comments" },
            { "comment is an object", J(new { summary = "a", all_comments = new object[] { "ok", new { body = "x" } } }), "all_comments[1]" },
            { "comment is null", J(new { summary = "a", all_comments = new[] { "ok", null } }), "all_comments[1]" },
            { "max_suggestions is a string", J(new { summary = "a", max_suggestions = "5" }), "max_suggestions" },
            { "no summary nor description", J(new { issue_type = "Bug" }), "summary" },
            { "blank summary and description", J(new { summary = "  ", description = "" }), "summary" },
            { "max_suggestions 0", J(new { summary = "a", max_suggestions = 0 }), "max_suggestions" },
            { "max_suggestions 11", J(new { summary = "a", max_suggestions = 11 }), "max_suggestions" },
            { "501 comments", J(new { summary = "a", all_comments = Enumerable.Repeat("c", 501) }), "all_comments" },
            { "501 recent comments", J(new { summary = "a", recent_comments = Enumerable.Repeat("c", 501) }), "recent_comments" },
            { "summary over 100,000 characters", J(new { summary = longText }), "summary" },
            { "description over 100,000 characters", J(new { summary = "a", description = longText }), "description" },
            { "comment over 100,000 characters", J(new { summary = "a", all_comments = new[] { "ok", longText } }), "all_comments[1]" },
            { "body over 1 MiB", J(new { summary = "a", description = "b", all_comments = Enumerable.Repeat(new string('y', 90_000), 12) }), "body" },
            { "deeply nested", Encoding.UTF8.GetBytes("{\"summary\":\"a\",\"x\":" + new string('[', 100) + new string(']', 100) + "}"), "x" },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Suggest_BadInput_400ProblemNamingFieldAndNothingStored(string name, byte[] body, string field)
    {
        var before = await _server.GetJsonAsync("/api/ml/comments/ml-stats");

        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await _server.Client.PostAsync("/api/ml/comments/suggestions", content);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{name}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(400, problem["status"]!.GetValue<int>());
        Assert.True(problem["errors"]!.AsObject().ContainsKey(field), $"{name}: {text}");

        var after = await _server.GetJsonAsync("/api/ml/comments/ml-stats");
        Assert.Equal(before["stats"]!["total_samples"]!.GetValue<long>(), after["stats"]!["total_samples"]!.GetValue<long>());
        Assert.Equal(before["capture"]!["enqueued"]!.GetValue<long>(), after["capture"]!["enqueued"]!.GetValue<long>());
    }

    [Fact]
    public async Task Suggest_OddButValidInput_StoredByteExact()
    {
        var summary = "Ünïcödé 🚀 مرحبا \u0007 tab\there";
        var comments = new[] { "a|b", "", "línea1\nlínea2", new string('z', 100_000) };
        var answer = await _server.SuggestAsync(new { summary, description = "", all_comments = comments });
        await SuggestionApiTests.WaitForWrittenAsync(_server, 2);

        var store = (CommentFlow.Storage.ITrainingStore)_server.Services.GetService(typeof(CommentFlow.Storage.ITrainingStore))!;
        var found = false;
        await foreach (var s in store.ReadAllAsync(CancellationToken.None))
        {
            if (s.ContextHash == answer["context_hash"]!.GetValue<string>())
            {
                found = true;
                Assert.Equal(summary, s.Context.Summary);
                Assert.Equal(comments, s.Context.Comments);
            }
        }
        Assert.True(found);
    }
}
