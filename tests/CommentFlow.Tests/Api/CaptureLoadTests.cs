using System.Collections.Concurrent;
using CommentFlow.Domain;
using CommentFlow.Tests.Fakes;
using Microsoft.Data.Sqlite;

namespace CommentFlow.Tests.Api;

public sealed class CaptureLoadTests
{
    [Fact]
    public async Task Suggest_10000ConcurrentWith20PercentDuplicates_ExactlyTheUniqueOnesAfterGracefulStop()
    {
        const int total = 10_000;
        var random = new Random(42);
        var uniques = new List<object>();
        var requests = new List<object>(total);
        var expectedHashes = new HashSet<string>();
        var byIssueType = new Dictionary<string, int>();
        string[] types = ["Incident", "Service Request", "Problem", "Change"];
        for (var i = 0; i < total; i++)
        {
            if (uniques.Count > 0 && random.NextDouble() < 0.2)
            {
                requests.Add(uniques[random.Next(uniques.Count)]);
                continue;
            }
            var summary = $"Ticket {i} {random.Next()}";
            var description = $"Description {random.Next()} with some text";
            var comments = Enumerable.Range(0, random.Next(0, 4)).Select(c => $"comment {c} {random.Next()}").ToArray();
            var type = types[random.Next(types.Length)];
            var request = new { ticket_key = $"SD-{i}", summary, description, issue_type = type, all_comments = comments, max_suggestions = 3 };
            uniques.Add(request);
            requests.Add(request);
            Assert.True(expectedHashes.Add(ContextHash.Compute(summary, description, comments)));
            byIssueType[type] = byIssueType.GetValueOrDefault(type) + 1;
        }

        // Cache off: every request goes through an engine and capture, so duplicates must be caught by the store.
        var dataDir = TempDir.Create();
        var server = await TestServer.StartAsync(dataDir, "Engine=rules", "Cache:TtlSeconds=0", "Capture:BatchSize=500");
        var answered = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (request, _) =>
        {
            var answer = await server.SuggestAsync(request);
            answered.Add(answer["context_hash"]!.GetValue<string>());
        });
        var capture = (await server.GetJsonAsync("/api/ml/comments/ml-stats"))["capture"]!;
        await server.StopAsync(); // graceful stop drains the queue
        var counters = (CommentFlow.Capture.CaptureCounters)server.Services.GetService(typeof(CommentFlow.Capture.CaptureCounters))!;
        await server.DisposeAsync();
        Assert.Equal(total, counters.Enqueued);
        Assert.Equal(expectedHashes.Count, counters.Written);
        Assert.Equal(total - expectedHashes.Count, counters.Duplicates);
        Assert.Equal(0, counters.Lost);

        Assert.Equal(total, answered.Count);
        Assert.Equal(expectedHashes, answered.ToHashSet());
        Assert.Equal(0, capture["dropped"]!.GetValue<long>());

        // Count independently, straight from the SQLite file.
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "commentflow.db")};Pooling=False");
        await connection.OpenAsync();
        var stored = new HashSet<string>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT context_hash FROM samples";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                Assert.True(stored.Add(reader.GetString(0)));
            }
        }
        Assert.Equal(expectedHashes, stored);

        await using var reopened = await TestServer.StartAsync(dataDir);
        var stats = (await reopened.GetJsonAsync("/api/ml/comments/ml-stats"))["stats"]!;
        Assert.Equal(expectedHashes.Count, stats["total_samples"]!.GetValue<long>());
        Assert.Equal(expectedHashes.Count * 3, stats["total_suggestions"]!.GetValue<long>());
        foreach (var (type, count) in byIssueType)
        {
            Assert.Equal(count, stats["by_issue_type"]![type]!.GetValue<long>());
        }
    }
}
