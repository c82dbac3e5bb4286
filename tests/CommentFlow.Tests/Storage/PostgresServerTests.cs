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

    [Fact]
    public async Task Server_ProviderPostgresWithoutConnectionString_RefusesToStartNamingTheOption()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(null, "Storage:Provider=postgres"));
        Assert.Contains("Storage:ConnectionString", error.ToString(), StringComparison.Ordinal);
    }
}
