using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CommentFlow.Tests.Fakes;

namespace CommentFlow.Tests.Api;

public sealed class LoggingTests
{
    /// <summary>Event ids are what log queries and alerts key on: each names one event across the whole service.</summary>
    [Fact]
    public void LoggerMessages_EveryEventIdUsedOnce()
    {
        var events = new[] { typeof(CommentFlow.Api.ServerApp).Assembly, typeof(CommentFlow.Storage.ITrainingStore).Assembly }
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.DeclaredOnly))
            .Select(m => (Method: $"{m.DeclaringType!.Name}.{m.Name}", Attribute: m.GetCustomAttributes(typeof(Microsoft.Extensions.Logging.LoggerMessageAttribute), false).Cast<Microsoft.Extensions.Logging.LoggerMessageAttribute>().SingleOrDefault()))
            .Where(e => e.Attribute is not null)
            .ToList();
        Assert.True(events.Count >= 20, $"only {events.Count} logger messages found");
        var reused = events.GroupBy(e => e.Attribute!.EventId).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Method))}").ToList();
        Assert.True(reused.Count == 0, string.Join("; ", reused));
    }

    [Fact]
    public async Task Serve_JsonLogging_OneJsonObjectPerLineWithEventIdsAndNoTicketText()
    {
        const string Marker = "ZEBRAMARKER";
        using var server = await ServerProcess.StartAsync(TempDir.Create(),
            new Dictionary<string, string> { ["Logging__Console__FormatterName"] = "json" }, "Engine=rules");

        var answer = await (await server.Client.PostAsJsonAsync("/api/ml/comments/suggestions",
            new { ticket_key = $"{Marker}-1", summary = $"Printer {Marker} jams", description = $"since {Marker} moved it", all_comments = new[] { $"{Marker} comment" } }))
            .Content.ReadFromJsonAsync<JsonObject>();
        var id = answer!["suggestions"]![0]!["id"]!.GetValue<string>();
        (await server.Client.PostAsJsonAsync("/api/ml/comments/feedback", new { suggestion_id = id, action = "edited", final_text = $"{Marker} fixed", agent = Marker }))
            .EnsureSuccessStatusCode();
        (await server.Client.DeleteAsync($"/api/ml/comments/samples?ticket_key={Marker}-1")).EnsureSuccessStatusCode();
        await server.TerminateAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, server.ExitCode);

        var lines = server.Output.Where(l => l.Length > 0).ToList();
        Assert.True(lines.Count >= 5, $"only {lines.Count} log lines");
        foreach (var line in lines)
        {
            using var entry = JsonDocument.Parse(line); // throws on a line that is not one JSON object
            var root = entry.RootElement;
            Assert.True(root.TryGetProperty("LogLevel", out _), line);
            var eventId = root.GetProperty("EventId");
            if (root.GetProperty("Category").GetString()!.StartsWith("CommentFlow.", StringComparison.Ordinal))
            {
                Assert.True(eventId.GetInt32() > 0, $"no stable event id: {line}");
            }
        }
        // Start, capture drained at stop, the erasure: our own events are there, and no ticket text, key or agent with them.
        Assert.Contains(lines, l => l.Contains("\"CommentFlow.Privacy.", StringComparison.Ordinal) || l.Contains("Erasure", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Capture stopped", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(Marker, StringComparison.Ordinal));
    }
}
