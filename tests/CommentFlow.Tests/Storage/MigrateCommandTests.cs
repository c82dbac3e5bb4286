using CommentFlow.OwnModel;
using System.Diagnostics;
using System.Text.Json.Nodes;
using CommentFlow.Cli;
using CommentFlow.Storage;
using CommentFlow.Tests.Fakes;
using CommentFlow.Tests.Training;
using CommentFlow.Training;

namespace CommentFlow.Tests.Storage;

/// <summary>
/// <c>commentflow migrate</c> through the real command line, into a real PostgreSQL database and models folder. The
/// command runs as its own process: its standard output is then the command's alone (tests running in parallel log to
/// this process's console).
/// </summary>
public sealed class MigrateCommandTests
{
    private static Process Start(string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["exec", Path.Combine(AppContext.BaseDirectory, "commentflow.dll"), .. args])
        {
            info.ArgumentList.Add(arg);
        }
        return Process.Start(info)!;
    }

    private static async Task<(int Code, string Out, string Error)> RunAsync(params string[] args)
    {
        using var process = Start(args);
        var (output, error) = (process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    [Fact]
    public async Task MigrateCommand_SqliteToPostgres_VerifiedModelsCopiedServedByAPostgresServerRerunCopiesNothing()
    {
        var (dataDir, source) = await MigrationTests.SourceAsync(300);
        await source.WriteAsync(OwnModelTests.History("A"), null, CancellationToken.None);
        var sourceModels = new ModelRegistry(Path.Combine(dataDir, "ml_models"));
        var first = await OwnModelTests.TrainAsync(source, sourceModels);
        var second = await OwnModelTests.TrainAsync(source, sourceModels, promote: true);
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var modelsDir = Path.Combine(TempDir.Create(), "shared-models");
        string[] migrate = ["migrate", "--from", Path.Combine(dataDir, SqliteTrainingStore.FileName), "--to", connectionString, "--models-to", modelsDir];

        var (code, output, error) = await RunAsync([.. migrate, "--json"]);

        Assert.True(code == 0, error);
        var result = JsonNode.Parse(output)!;
        Assert.True(result["verified"]!.GetValue<bool>());
        Assert.Equal(375, result["written"]!.GetValue<int>());
        Assert.Equal(375, result["destination_samples"]!.GetValue<long>());
        Assert.Equal(result["source_checksum"]!.GetValue<string>(), result["destination_checksum"]!.GetValue<string>());
        Assert.Equal(2, result["models"]!["copied"]!.GetValue<int>());
        Assert.Equal(second.Version, result["models"]!["active"]!.GetValue<string>());
        var registry = new ModelRegistry(modelsDir).Read();
        Assert.Equal(second.Version, registry.Active);
        Assert.Equal([first.Version], registry.Previous);
        Assert.All(registry.Versions, v => Assert.True(File.Exists(Path.Combine(modelsDir, v.Version, ModelFiles.Manifest))));
        await MigrationTests.AssertSameStoreAsync(source, MigrationTests.Postgres(connectionString));

        // A server on the destination serves the migrated active version and sees the migrated samples.
        await using (var server = await TestServer.StartAsync(null, "Storage:Provider=postgres", $"Storage:ConnectionString={connectionString}",
                         $"ModelsDir={modelsDir}", "Engine=local", "Cache:TtlSeconds=0", "Local:ReloadSeconds=1"))
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while ((await server.GetJsonAsync("/api/ml/comments/models"))["serving"]?.GetValue<string>() != second.Version)
            {
                Assert.True(DateTime.UtcNow < deadline, "the migrated active version was not served within 20 s");
                await Task.Delay(100);
            }
            Assert.Equal(375, (await server.GetJsonAsync("/api/ml/comments/ml-stats"))["stats"]!["total_samples"]!.GetValue<long>());
            var answer = await server.SuggestAsync(new { summary = "The printer on floor 3 jams and prints blank pages", description = "printer" });
            Assert.Equal($"own-{second.Version}", answer["model"]!.GetValue<string>());
        } // stopping drains the capture queue: the answer above is the destination's 376th sample

        // Again, with the progress bar: nothing left to copy; the destination has moved on since it was verified, so
        // this run checks that every source sample is still there.
        var (barCode, barOutput, barError) = await RunAsync(migrate);
        Assert.True(barCode == 0, barOutput + barError);
        var again = JsonNode.Parse((await RunAsync([.. migrate, "--json"])).Out)!;
        Assert.True(again["resumed"]!.GetValue<bool>());
        Assert.Equal(0, again["written"]!.GetValue<int>());
        Assert.False(again["exact"]!.GetValue<bool>());
        Assert.Equal(2, again["models"]!["already_present"]!.GetValue<int>());
        Assert.Equal(376, again["destination_samples"]!.GetValue<long>());

        // A sample lost on the destination: the next run says so and fails.
        var raw = new PostgresStoreUnderTest(connectionString, new StorageOptions(), null);
        await raw.ExecuteAsync("DELETE FROM samples WHERE id = (SELECT MIN(id) FROM samples)");
        var (failedCode, failedOutput, failedError) = await RunAsync([.. migrate, "--json"]);
        Assert.Equal(1, failedCode);
        Assert.False(JsonNode.Parse(failedOutput)!["verified"]!.GetValue<bool>());
        Assert.Contains("1 source samples are missing from the destination", failedError, StringComparison.Ordinal);
    }

    /// <summary>kill -9 in the middle of the copy: the committed batches stay, the re-run continues from them and ends verified.</summary>
    [Fact]
    public async Task MigrateProcess_Postgres_KilledMidCopy_RerunResumesWithoutDuplicatesAndVerifies()
    {
        const int Samples = 4_000;
        var (dataDir, source) = await MigrationTests.SourceAsync(Samples);
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var raw = new PostgresStoreUnderTest(connectionString, new StorageOptions(), null);
        string[] migrate = ["migrate", "--from", Path.Combine(dataDir, SqliteTrainingStore.FileName), "--to", connectionString, "--batch-size", "20", "--json"];

        using (var process = Start(migrate))
        {
            var drain = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
            async Task<long> CopiedAsync()
            {
                try
                {
                    return await raw.ScalarAsync("SELECT COUNT(*) FROM samples");
                }
                catch (Npgsql.PostgresException ex) when (ex.SqlState == "42P01") // the process has not created the tables yet
                {
                    return 0;
                }
            }
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (await CopiedAsync() < 200 && !process.HasExited && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }
            process.Kill(); // SIGKILL: no cancellation, no clean-up
            await process.WaitForExitAsync();
            await drain;
        }
        var atKill = await raw.ScalarAsync("SELECT COUNT(*) FROM samples");
        Assert.InRange(atKill, 200, Samples - 1); // it really stopped in the middle
        Assert.Equal(atKill, await raw.ScalarAsync("SELECT COUNT(DISTINCT context_hash) FROM samples"));

        var (code, output, error) = await RunAsync(migrate);

        Assert.True(code == 0, error);
        var result = JsonNode.Parse(output)!;
        Assert.True(result["resumed"]!.GetValue<bool>());
        Assert.True(result["exact"]!.GetValue<bool>());
        Assert.Equal(Samples - atKill, result["written"]!.GetValue<int>()); // only what the killed run had not committed
        Assert.InRange(result["duplicates"]!.GetValue<int>(), 0, 20); // at most the batch committed just before its marker
        Assert.Equal(Samples, await raw.ScalarAsync("SELECT COUNT(*) FROM samples"));
        await MigrationTests.AssertSameStoreAsync(source, MigrationTests.Postgres(connectionString));
    }

    [Fact]
    public async Task MigrateCommand_Postgres_DestinationHoldsOtherSamplesOrNoSourceFile_RefusedWithExitCode2()
    {
        var (dataDir, _) = await MigrationTests.SourceAsync(20);
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var other = MigrationTests.Postgres(connectionString);
        await other.MigrateAsync(CancellationToken.None);
        await other.WriteAsync([Some.Sample()], null, CancellationToken.None);
        var from = Path.Combine(dataDir, SqliteTrainingStore.FileName);

        var (code, _, error) = await RunAsync("migrate", "--from", from, "--to", connectionString, "--json");
        Assert.Equal(MigrateCommand.Refused, code);
        Assert.Contains("already holds 1 samples", error, StringComparison.Ordinal);
        Assert.Equal(1, (await other.GetStatsAsync(CancellationToken.None)).TotalSamples);

        Assert.Equal(MigrateCommand.Refused, (await RunAsync("migrate", "--from", Path.Combine(dataDir, "nope.db"), "--to", connectionString)).Code);
        Assert.Equal(MigrateCommand.Refused, (await RunAsync("migrate", "--from", from, "--to", "not a connection string")).Code);

        var (merged, output, _) = await RunAsync("migrate", "--from", from, "--to", connectionString, "--merge", "--json");
        Assert.Equal(0, merged);
        Assert.Equal(21, JsonNode.Parse(output)!["destination_samples"]!.GetValue<long>());
    }
}
