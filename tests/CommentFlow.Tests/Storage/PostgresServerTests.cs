using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CommentFlow.Storage;
using CommentFlow.Tests.Api;
using CommentFlow.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;

namespace CommentFlow.Tests.Storage;

/// <summary>The real server with <c>Storage:Provider=postgres</c>: it migrates the database, answers, and its capture writes there.</summary>
public sealed class PostgresServerTests
{
    [Fact]
    public async Task Server_ProviderPostgres_AnswersStoresTheSampleAndReportsItsStats()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        string[] settings = ["Storage:Provider=postgres", $"Storage:ConnectionString={connectionString}"];
        var first = new { summary = "Error 404 en página principal 🚀", description = "Los usuarios reportan error 404, escribir a ana@example.com", issue_type = "Bug", all_comments = new[] { "Iniciando investigación" } };
        var other = new { summary = "Sistema lento", description = "", issue_type = "Performance" };

        await using (var server = await TestServer.StartAsync(null, settings))
        {
            Assert.IsType<PostgresTrainingStore>(server.Services.GetRequiredService<ITrainingStore>());
            var answer = await server.SuggestAsync(first);
            Assert.NotEmpty(answer["suggestions"]!.AsArray());
            await server.SuggestAsync(other);
            await SuggestionApiTests.WaitForWrittenAsync(server, 2);

            var health = await server.GetJsonAsync("/api/ml/comments/ml-stats");
            Assert.Equal(2, health["stats"]!["total_samples"]!.GetValue<long>());
            Assert.Equal(1, health["stats"]!["by_issue_type"]!["Performance"]!.GetValue<long>());
            Assert.Equal(1, health["stats"]!["masked"]!["email"]!.GetValue<long>());
        }

        // A second server on the same database (another instance, a restart) sees the same samples, masked.
        var store = new PostgresStoreUnderTest(connectionString, new StorageOptions(), masker: null);
        Assert.Equal(2, await store.ScalarAsync("SELECT COUNT(*) FROM samples"));
        await using var again = await TestServer.StartAsync(null, settings);
        Assert.Equal(2, (await again.GetJsonAsync("/api/ml/comments/ml-stats"))["stats"]!["total_samples"]!.GetValue<long>());
        var stored = new List<CommentFlow.Domain.TrainingSample>();
        await foreach (var s in store.Store.ReadAllAsync(CancellationToken.None))
        {
            stored.Add(s);
        }
        Assert.Contains(stored, s => s.Context.Summary == first.summary && s.Context.Description.Contains("<email>", StringComparison.Ordinal));
    }

    /// <summary>Two server processes, one database, the same 2,000 contexts sent to both at once: each stored exactly once.</summary>
    [Fact]
    public async Task TwoInstances_SameContextsConcurrently_EachStoredOnceAndStatsIdenticalFromBoth()
    {
        const int Contexts = 2_000;
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        string[] settings = ["Engine=rules", "Storage:Provider=postgres", $"Storage:ConnectionString={connectionString}"];
        using var a = await ServerProcess.StartAsync(TempDir.Create(), settings);
        using var b = await ServerProcess.StartAsync(TempDir.Create(), settings);

        // Every context to both instances, 16 requests in flight, the two instances interleaved.
        var requests = Enumerable.Range(0, Contexts).SelectMany(i => new[] { (Server: a, I: i), (Server: b, I: i) }).ToList();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (r, ct) =>
        {
            using var response = await r.Server.Client.PostAsJsonAsync("/api/ml/comments/suggestions",
                new { summary = $"Ticket {r.I}: the printer on floor {r.I % 9} jams", description = $"reported by user {r.I}" }, ct);
            response.EnsureSuccessStatusCode();
        });

        // Both writers have drained: every answer is written or recognised as a duplicate.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonObject sa, sb;
        while (true)
        {
            (sa, sb) = (await a.StatsAsync(), await b.StatsAsync());
            var settled = new[] { sa, sb }.All(s => s["capture"]!["written"]!.GetValue<long>() + s["capture"]!["duplicates"]!.GetValue<long>() == Contexts);
            if (settled || DateTime.UtcNow > deadline)
            {
                break;
            }
            await Task.Delay(100);
        }
        // Read again now that both have settled: the first of the two reads above can predate the other's last commit.
        (sa, sb) = (await a.StatsAsync(), await b.StatsAsync());
        long Capture(string counter) => sa["capture"]![counter]!.GetValue<long>() + sb["capture"]![counter]!.GetValue<long>();
        Assert.Equal(2 * Contexts, Capture("enqueued"));
        Assert.Equal(Contexts, Capture("written")); // one of the two wrote each context
        Assert.Equal(Contexts, Capture("duplicates")); // the other was refused by the unique constraint
        Assert.Equal(0, Capture("dropped") + Capture("lost"));

        var store = new PostgresStoreUnderTest(connectionString, new StorageOptions(), masker: null);
        Assert.Equal(Contexts, await store.ScalarAsync("SELECT COUNT(*) FROM samples"));
        Assert.Equal(Contexts, await store.ScalarAsync("SELECT COUNT(DISTINCT context_hash) FROM samples"));
        Assert.Equal(Contexts, await store.ScalarAsync("SELECT SUM(samples) FROM stats_shards"));
        Assert.Equal(Contexts, sa["stats"]!["total_samples"]!.GetValue<long>());
        Assert.Equal(sa["stats"]!.ToJsonString(), sb["stats"]!.ToJsonString()); // the same store seen from both

        Assert.True(await a.TerminateAsync(TimeSpan.FromSeconds(30)) < TimeSpan.FromSeconds(30));
        Assert.True(await b.TerminateAsync(TimeSpan.FromSeconds(30)) < TimeSpan.FromSeconds(30));
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(0, b.ExitCode);
    }

    [Fact]
    public async Task Server_ProviderPostgresWithoutConnectionString_RefusesToStartNamingTheOption()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(null, "Storage:Provider=postgres"));
        Assert.Contains("Storage:ConnectionString", error.ToString(), StringComparison.Ordinal);
    }
}
