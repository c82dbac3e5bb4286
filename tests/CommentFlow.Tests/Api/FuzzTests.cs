using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CommentFlow.Domain;
using CommentFlow.Storage;
using CommentFlow.Tests.Fakes;
using CsCheck;
using Microsoft.Extensions.DependencyInjection;

namespace CommentFlow.Tests.Api;

/// <summary>
/// Property-based: thousands of generated bodies (random JSON, wrong types, huge and deeply nested values, invalid UTF-8,
/// control characters, emoji, right-to-left text) against every endpoint of the real server. Never a 5xx, never a hang,
/// every refusal a problem document, nothing stored by a refused request, and valid odd input stored byte-exact.
/// </summary>
public sealed class FuzzTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Api = "/api/ml/comments";

    private static readonly string[] Odd =
    [
        "🙂🚀 emoji 👩‍💻", "مرحبا بالعالم — العربية", "שלום עולם", "\u202Eright-to-left override\u202C", "ctrl \u0000\u0001\u001f\u007f",
        "zero\u200Bwidth", "tab\tnew\nline\r\n", "\"quotes\" and \\backslashes\\", "<script>alert(1)</script>", "ñandú Ärger straße",
        "中文工单：打印机无法打印", "   ", "", "e\u0301 combining", "\uFEFFbom", "x".PadRight(5_000, 'x'),
    ];

    private static readonly string[] Fields =
    [
        "ticket_key", "summary", "description", "issue_type", "status", "priority", "all_comments", "recent_comments", "max_suggestions",
        "suggestion_id", "context_hash", "text", "action", "final_text", "agent", "type",
    ];

    private static readonly Gen<string> OddString = Gen.Frequency(
        (3, Gen.String),
        (3, Gen.OneOf(Odd)),
        (1, Gen.Select(Gen.OneOf(Odd), Gen.String, Gen.OneOf(Odd), (a, b, c) => a + b + c)));

    private static readonly Gen<JsonNode?> Json = Gen.Recursive<JsonNode?>((depth, self) =>
    {
        var leaf = Gen.Frequency(
            (1, Gen.Const((JsonNode?)null)),
            (1, Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b))),
            (2, Gen.Int.Select(i => (JsonNode?)JsonValue.Create(i))),
            (1, Gen.Double.Where(double.IsFinite).Select(d => (JsonNode?)JsonValue.Create(d))),
            (4, OddString.Select(s => (JsonNode?)JsonValue.Create(s))));
        if (depth > 3)
        {
            return leaf;
        }
        return Gen.Frequency(
            (4, leaf),
            (1, self.Array[0, 5].Select(items => (JsonNode?)new JsonArray([.. items]))),
            (1, Gen.Select(Gen.OneOf(Fields), self).Array[0, 5].Select(Object)));
    });

    /// <summary>An object with the API's own field names, each holding anything.</summary>
    private static readonly Gen<byte[]> FieldsBody = Gen.Select(Gen.OneOf(Fields), Json).Array[0, 8].Select(p => Utf8(Object(p)));

    /// <summary>A suggestion request that is valid, with odd text: it must be stored exactly as sent.</summary>
    private static readonly Gen<(string Summary, string Description, string[] Comments)> ValidOdd =
        Gen.Select(OddString.Where(s => !string.IsNullOrWhiteSpace(s) && s.Length <= 100_000), OddString.Where(s => s.Length <= 100_000),
            OddString.Where(s => s.Length <= 100_000).Array[0, 4]);

    private static readonly Gen<byte[]> Body = Gen.Frequency(
        (6, FieldsBody),
        (2, Json.Select(Utf8)),
        (2, Gen.Byte.Array[0, 300]), // not JSON, not UTF-8
        (1, Gen.Int[10, 3_000].Select(n => Encoding.UTF8.GetBytes(new string('[', n) + new string(']', n)))), // deeply nested
        (1, Gen.Int[10, 3_000].Select(n => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"summary\":", n)) + "1" + new string('}', n)))),
        (1, Gen.OneOf("summary", "description", "final_text", "text").Select(f => Encoding.UTF8.GetBytes($"{{\"{f}\":\"{new string('a', 1_100_000)}\"}}")))); // over 1 MiB

    // Erasure keys start with "erase-", which no generated ticket key does (Odd has no such string, Gen.String is random):
    // an erasure then never removes a sample the test counts as accepted; erasing real data is ErasureTests' job.
    private static readonly (HttpMethod Method, string Path)[] Endpoints =
    [
        (HttpMethod.Post, $"{Api}/suggestions"), (HttpMethod.Post, $"{Api}/feedback"), (HttpMethod.Post, $"{Api}/save"),
        (HttpMethod.Get, $"{Api}/ml-stats"), (HttpMethod.Get, $"{Api}/cache/stats"), (HttpMethod.Post, $"{Api}/cache/clear"),
        (HttpMethod.Get, $"{Api}/health"), (HttpMethod.Get, $"{Api}/models"), (HttpMethod.Get, $"{Api}/evaluation"),
        (HttpMethod.Get, $"{Api}/train/QUERY"), (HttpMethod.Delete, $"{Api}/samples?ticket_key=erase-QUERY"), (HttpMethod.Get, "/health/ready"),
        (HttpMethod.Get, $"{Api}/samples?q=QUERY"), (HttpMethod.Get, $"{Api}/samples?page=QUERY&size=QUERY"), (HttpMethod.Get, $"{Api}/export?format=QUERY"),
        (HttpMethod.Get, $"{Api}/samples/daily"), (HttpMethod.Get, $"{Api}/activity"), (HttpMethod.Post, $"{Api}/models/QUERY/promote"),
        (HttpMethod.Post, $"{Api}/jira/comment"),
    ];

    [Fact]
    public async Task EveryEndpoint_GeneratedBodies_Never5xxNeverHangNothingStoredByRefusals()
    {
        // Masking off: the random text must come back byte for byte, whatever it happens to look like.
        await using var server = await TestServer.StartAsync(null, "Engine=rules", "Masking:Enabled=false", "Cache:TtlSeconds=0");
        server.Client.Timeout = TimeSpan.FromSeconds(20);
        var accepted = new ConcurrentDictionary<string, (string Summary, string Description, string[] Comments)>();
        var statuses = new ConcurrentDictionary<int, int>();
        long feedbackAccepted = 0;

        var request = Gen.Frequency(
            (8, Gen.Select(Gen.OneOf(Endpoints), Body, OddString).Select(r =>
                new FuzzRequest(r.Item1.Method, r.Item1.Path.Replace("QUERY", Uri.EscapeDataString(r.Item3), StringComparison.Ordinal), r.Item2, null))),
            (2, ValidOdd.Select(v => new FuzzRequest(HttpMethod.Post, $"{Api}/suggestions",
                Utf8(new JsonObject { ["summary"] = v.Summary, ["description"] = v.Description, ["all_comments"] = new JsonArray([.. v.Comments.Select(c => (JsonNode?)c)]) }),
                v))));

        await request.SampleAsync(async r =>
        {
            using var message = new HttpRequestMessage(r.Method, r.Path) { Content = new ByteArrayContent(r.Body) };
            message.Content.Headers.ContentType = new("application/json");
            HttpResponseMessage response;
            try
            {
                response = await server.Client.SendAsync(message);
            }
            catch (HttpRequestException) when (r.Path.Contains("%00", StringComparison.Ordinal) || r.Path.Length > 7_000)
            {
                // Kestrel refused the request line (an encoded NUL, or over its 8 KB limit: see below) and closed the
                // connection while the client was still sending the body.
                return;
            }
            using var _ = response;
            var status = (int)response.StatusCode;
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(status < 500, $"{r.Method} {r.Path}: {status} {text}");
            if (status >= 400)
            {
                // Kestrel's own request parser refuses, before any application code runs and with an empty body, an encoded
                // NUL in the path (400) and a request line over its 8 KB limit (414, with the method and version around the
                // path); every other refusal is the service's problem document.
                var kestrel = text.Length == 0
                    && ((status == 400 && r.Path.Contains("%00", StringComparison.Ordinal)) || (status == 414 && r.Path.Length > 7_000));
                Assert.True(kestrel || response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{r.Method} {r.Path}: {status} without a problem document");
                Assert.True(r.ValidOdd is null, $"a valid request was refused: {text}");
                return;
            }
            if (r.Path.EndsWith("/suggestions", StringComparison.Ordinal))
            {
                var hash = JsonNode.Parse(text)!["context_hash"]!.GetValue<string>();
                // What was sent: the valid odd request's fields, or a generated body's text fields as a JSON reader sees them.
                accepted.TryAdd(hash, r.ValidOdd ?? Sent(r.Body));
            }
            else if (r.Method == HttpMethod.Delete && r.Path.Contains("/samples?", StringComparison.Ordinal))
            {
                Assert.Equal(0, JsonNode.Parse(text)!["samples_deleted"]!.GetValue<int>());
            }
            else if (r.Method == HttpMethod.Get && r.Path.Contains("/samples?", StringComparison.Ordinal))
            {
                Assert.NotNull(JsonNode.Parse(text)!["samples"]!.AsArray());
            }
            else if (r.Path.EndsWith("/feedback", StringComparison.Ordinal) || r.Path.EndsWith("/save", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref feedbackAccepted);
            }
        }, iter: 2_000, threads: 2);

        output.WriteLine($"statuses: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}; accepted suggestion contexts: {accepted.Count}");
        // Refusals happened, and acceptances: the generators reach both sides.
        Assert.True(statuses.Where(s => s.Key >= 400).Sum(s => s.Value) > 500, string.Join(", ", statuses));
        Assert.True(accepted.Count > 100, $"only {accepted.Count} accepted suggestion requests");

        // Every accepted suggestion stored once, nothing else stored, the text byte for byte.
        var store = server.Services.GetRequiredService<ITrainingStore>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await store.GetStatsAsync(CancellationToken.None)).TotalSamples < accepted.Count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        await server.StopAsync();
        var stats = await store.GetStatsAsync(CancellationToken.None);
        var capture = server.Services.GetRequiredService<CommentFlow.Capture.CaptureQueue>().Counters;
        if (accepted.Count != stats.TotalSamples)
        {
            var stored = new HashSet<string>();
            await foreach (var sample in store.ReadAllAsync(CancellationToken.None))
            {
                stored.Add(sample.ContextHash);
            }
            var missing = accepted.Where(a => !stored.Contains(a.Key)).Select(a => $"{a.Key} ({a.Value.Summary.Length} chars of summary)");
            Assert.Fail($"{accepted.Count} accepted, {stats.TotalSamples} stored; capture enqueued {capture.Enqueued}, written {capture.Written}, "
                + $"duplicates {capture.Duplicates}, dropped {capture.Dropped}, failed writes {capture.FailedWrites}, lost {capture.Lost}; rows {stored.Count}; "
                + $"missing: {string.Join(" | ", missing)}");
        }
        Assert.True(stats.Feedback.Total <= feedbackAccepted);
        foreach (var (hash, sent) in accepted)
        {
            var sample = await store.FindSampleAsync(hash, CancellationToken.None);
            Assert.NotNull(sample);
            Assert.Equal(sent.Summary, sample.Context.Summary);
            Assert.Equal(sent.Description, sample.Context.Description);
            Assert.Equal(sent.Comments, sample.Context.Comments);
            Assert.Equal(hash, ContextHash.Compute(sent.Summary, sent.Description, sent.Comments));
        }
    }

    private sealed record FuzzRequest(HttpMethod Method, string Path, byte[] Body, (string Summary, string Description, string[] Comments)? ValidOdd)
    {
        public override string ToString() => $"{Method} {Path} {Encoding.UTF8.GetString(Body[..Math.Min(Body.Length, 300)])}";
    }

    private static JsonNode? Object((string Key, JsonNode? Value)[] pairs)
    {
        var o = new JsonObject();
        foreach (var (key, value) in pairs)
        {
            o[key] = value?.DeepClone(); // the last of a repeated key wins, as in the JSON the server reads
        }
        return o;
    }

    private static byte[] Utf8(JsonNode? node) => Encoding.UTF8.GetBytes(node?.ToJsonString() ?? "null");

    /// <summary>The text fields of a generated body the server accepted, as a JSON reader sees them.</summary>
    private static (string Summary, string Description, string[] Comments) Sent(byte[] body)
    {
        var o = JsonNode.Parse(body)!.AsObject();
        var comments = (o["all_comments"] ?? o["recent_comments"])?.AsArray().Select(c => c!.GetValue<string>()).ToArray() ?? [];
        return (o["summary"]?.GetValue<string>() ?? "", o["description"]?.GetValue<string>() ?? "", comments);
    }
}
