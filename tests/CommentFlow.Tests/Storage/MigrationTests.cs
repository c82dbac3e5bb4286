using CommentFlow.Cli;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Export;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CommentFlow.Tests.Storage;

/// <summary><see cref="StoreCopy"/>: a real SQLite file into a real PostgreSQL database.</summary>
public sealed class MigrationTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 14, 9, 26, 53, TimeSpan.Zero);

    /// <summary>
    /// A store as the service leaves it: masked on the way in (e-mails, phones, IBANs), several languages, queues, ticket
    /// keys and engines, text PostgreSQL's text type could not hold (U+0000, in the payload), and feedback of every kind,
    /// one of it replaced by the same agent later.
    /// </summary>
    internal static async Task<(string DataDir, SqliteTrainingStore Store)> SourceAsync(int samples)
    {
        var dataDir = TempDir.Create();
        var masker = new PersonalDataMasker(Options.Create(new MaskingOptions()));
        var store = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(dataDir), new StorageOptions(), TimeProvider.System,
            NullLogger<SqliteTrainingStore>.Instance, masker);
        await store.MigrateAsync(CancellationToken.None);
        string[] languages = ["es", "en", "de"];
        string[] engines = [EngineNames.Ollama, EngineNames.Rules, "history"];
        var batch = Enumerable.Range(0, samples).Select(i =>
        {
            var context = new TicketContext
            {
                TicketKey = i % 7 == 0 ? null : $"SD-{i}",
                Summary = $"Ticket {i}: la impresora ñ 🚀 {(i % 5 == 0 ? "nul\0char" : "")}",
                Description = i % 3 == 0 ? $"Escribir a user{i}@example.com o llamar al +34 612 345 {i % 1000:000}" : $"descripción {i}",
                IssueType = i % 2 == 0 ? "Bug" : "Incident",
                Status = i % 4 == 0 ? "Open" : "In Progress",
                Priority = i % 3 == 0 ? "High" : "Low",
                Comments = [.. Enumerable.Range(0, i % 4).Select(c => $"comment {c} of {i}")],
                Language = i % 9 == 0 ? null : languages[i % 3],
                Queue = i % 2 == 0 ? "Service Desk" : null,
            };
            var engine = engines[i % 3];
            return TrainingSample.From(context, context.Hash(),
                [.. Enumerable.Range(0, 1 + i % 3).Select(s => new Suggestion($"Suggestion {s} for {i}: IBAN DE89370400440532013000", SuggestionTypes.All[s % 3], 0.7 + s * 0.1))],
                engine == EngineNames.Rules ? "rules-v1" : engine == "history" ? "history" : "llama3.2", engine, 10.5 + i, At.AddMinutes(i).AddTicks(i * 10));
        }).ToList();
        foreach (var chunk in batch.Chunk(500))
        {
            await store.WriteAsync(chunk, null, CancellationToken.None);
        }

        var stored = await Stores.ReadAllAsync(dataDir);
        for (var i = 0; i < stored.Count; i += 10)
        {
            var s = stored[i];
            var action = FeedbackActions.All[i / 10 % 3];
            await store.WriteFeedbackAsync(new SuggestionFeedback
            {
                ContextHash = s.ContextHash, Position = 0, Agent = i % 20 == 0 ? "ana" : "", Action = action,
                FinalText = action == FeedbackActions.Edited ? $"Written to bob{i}@example.com" : null, TicketKey = s.Context.TicketKey,
                Engine = s.Engine, Model = s.Model, SuggestionType = s.Suggestions[0].Type, CreatedAt = At.AddHours(i).AddTicks(7),
            }, CancellationToken.None);
        }
        // The same agent changes their mind: the later feedback replaces the earlier one.
        await store.WriteFeedbackAsync(new SuggestionFeedback
        {
            ContextHash = stored[0].ContextHash, Position = 0, Agent = "ana", Action = FeedbackActions.Dismissed, TicketKey = stored[0].Context.TicketKey,
            Engine = stored[0].Engine, Model = stored[0].Model, SuggestionType = stored[0].Suggestions[0].Type, CreatedAt = At.AddDays(400),
        }, CancellationToken.None);
        return (dataDir, store);
    }

    internal static PostgresTrainingStore Postgres(string connectionString) =>
        new(NpgsqlDataSource.Create(connectionString), new StorageOptions(), TimeProvider.System, NullLogger<PostgresTrainingStore>.Instance);

    private static Task<StoreCopyResult> MigrateAsync(SqliteTrainingStore source, ITrainingStore destination, int batchSize = 1_000, bool merge = false,
        IProgress<StoreCopyProgress>? progress = null, CancellationToken cancellationToken = default) =>
        new StoreCopy(source, destination, TimeProvider.System) { BatchSize = batchSize, Merge = merge }.RunAsync(progress, cancellationToken);

    internal static async Task<byte[]> ExportAsync(ITrainingStore store)
    {
        using var output = new MemoryStream();
        await SampleExporters.WriteJsonLinesAsync(output, store.ReadAllAsync(CancellationToken.None), null, CancellationToken.None);
        return output.ToArray();
    }

    internal static async Task AssertSameStoreAsync(ITrainingStore source, ITrainingStore destination)
    {
        var (expected, actual) = (await ExportAsync(source), await ExportAsync(destination));
        Assert.True(expected.Length > 0);
        Assert.True(expected.AsSpan().SequenceEqual(actual), "the exports of source and destination differ");
        var (a, b) = (await source.GetStatsAsync(CancellationToken.None), await destination.GetStatsAsync(CancellationToken.None));
        Assert.Equal(StoreCopy.StatsLines(a), StoreCopy.StatsLines(b));
        Assert.Equal(a.Masked, b.Masked);
        Assert.Equal(a.Feedback.Total, b.Feedback.Total);
        var (fa, fb) = (await source.ReadFeedbackRowsAsync(CancellationToken.None), await destination.ReadFeedbackRowsAsync(CancellationToken.None));
        Assert.Equal(fa, fb); // records: every field, timestamps included, in the same order
        Assert.Equal(await source.ReadAgentRepliesAsync(CancellationToken.None), await destination.ReadAgentRepliesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Migrate_SqliteToPostgres_ByteExactExportEqualStatsAndFeedback()
    {
        var (_, source) = await SourceAsync(2_500);
        await source.DictionaryWork; // past 1,000 samples the source trained a payload dictionary
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var destination = Postgres(connectionString);
        var phases = new List<StoreCopyProgress>();
        await source.RecordAgentReplyAsync(new AgentReply
        {
            CommentId = "10100", TicketKey = "SD-9", Source = AgentReplySources.Poll, Outcome = AgentReplyOutcomes.Written, Internal = true,
            ContextHash = "abc", Position = 3, Similarity = 0.12, ReceivedAt = At,
        }, CancellationToken.None);
        await source.WriteMetaAsync(CommentFlow.Jira.JiraPoller.CursorKey, "2026-03-01T10:00:00.0000000Z", new Dictionary<string, long>(), CancellationToken.None);

        var result = await MigrateAsync(source, destination, progress: new InlineProgress<StoreCopyProgress>(phases.Add));

        Assert.True(result.Verified, string.Join("; ", result.Problems));
        Assert.True(result.Exact);
        Assert.False(result.Resumed);
        Assert.Equal(2_500, result.Written);
        Assert.Equal(0, result.Duplicates);
        Assert.Equal(2_500, result.DestinationSamples);
        Assert.Equal(250, result.SourceFeedback); // one row every 10 samples; ana's second feedback on sample 0 replaced her first
        Assert.Equal(result.SourceChecksum, result.DestinationChecksum);
        Assert.Equal([1_000, 2_000, 2_500], phases.Where(p => p.Phase == StoreCopyPhase.Samples && p.Done > 0).Select(p => p.Done));
        await AssertSameStoreAsync(source, destination);
        var stats = await destination.GetStatsAsync(CancellationToken.None);
        Assert.True(stats.Masked["email"] > 0 && stats.Masked["iban"] > 0, "the masked counts came across");
        Assert.True(stats.Compressed);
        var replaced = Assert.Single(await destination.ReadFeedbackRowsAsync(CancellationToken.None), f => f.Agent == "ana" && f.Position == 0 && f.CreatedAt == At.AddDays(400));
        Assert.Equal(FeedbackActions.Dismissed, replaced.Action);
        Assert.Equal("10100", Assert.Single(await destination.ReadAgentRepliesAsync(CancellationToken.None)).CommentId);
        Assert.Equal("2026-03-01T10:00:00.0000000Z", await destination.ReadMetaAsync(CommentFlow.Jira.JiraPoller.CursorKey, CancellationToken.None));
        Assert.Contains(await Stores.ReadAllAsync(Path.GetDirectoryName(source.DataSource)!), s => s.Context.Summary.Contains('\0', StringComparison.Ordinal));

        // The dictionary came across under its id, and every copied payload was compressed with it.
        await using var connection = new NpgsqlConnection(connectionString);
        var carried = await connection.QuerySingleAsync<(int Id, byte[] Content)>("SELECT id, content FROM payload_dictionaries");
        Assert.Equal(source.Codec.Current!.Id, carried.Id);
        Assert.Equal(source.Codec.Current.Content, carried.Content);
        var payloads = (await connection.QueryAsync<byte[]>("SELECT payload FROM samples")).ToList();
        Assert.Equal(2_500, payloads.Count);
        Assert.All(payloads, p => Assert.Equal(carried.Id, PayloadCodec.DictionaryIdOf(p)));
    }

    [Fact]
    public async Task Migrate_Postgres_CancelledAfterTwoBatches_ResumesWithoutDuplicatesAndVerifies()
    {
        var (_, source) = await SourceAsync(1_000);
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var destination = Postgres(connectionString);
        using var cts = new CancellationTokenSource();
        var interrupted = new InlineProgress<StoreCopyProgress>(p =>
        {
            if (p is { Phase: StoreCopyPhase.Samples, Done: >= 400 })
            {
                cts.Cancel(); // as Ctrl+C does: the command's token
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => MigrateAsync(source, destination, batchSize: 200, progress: interrupted, cancellationToken: cts.Token));
        var raw = new PostgresStoreUnderTest(connectionString, new StorageOptions(), null);
        Assert.Equal(400, await raw.ScalarAsync("SELECT COUNT(*) FROM samples"));
        Assert.Equal(0, await raw.ScalarAsync("SELECT COUNT(*) FROM feedback"));

        var result = await MigrateAsync(source, Postgres(connectionString), batchSize: 200);
        Assert.True(result.Verified, string.Join("; ", result.Problems));
        Assert.True(result.Resumed);
        Assert.Equal(600, result.Written); // from where it stopped, not from the start
        Assert.Equal(0, result.Duplicates);
        Assert.Equal(1_000, await raw.ScalarAsync("SELECT COUNT(*) FROM samples"));
        Assert.Equal(1_000, await raw.ScalarAsync("SELECT COUNT(DISTINCT context_hash) FROM samples"));
        await AssertSameStoreAsync(source, destination);
    }

    /// <summary>Killed after a batch committed but before its marker was written: the batch is sent again and skipped.</summary>
    [Fact]
    public async Task Migrate_Postgres_MarkerBehindTheCommittedRows_RerunSkipsThemAndStatsStayExact()
    {
        var (_, source) = await SourceAsync(600);
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var first = await MigrateAsync(source, Postgres(connectionString), batchSize: 250);
        Assert.True(first.Verified, string.Join("; ", first.Problems));
        var raw = new PostgresStoreUnderTest(connectionString, new StorageOptions(), null);
        await raw.ExecuteAsync($"UPDATE store_meta SET value = jsonb_set(value::jsonb, '{{last_id}}', '0')::text WHERE key = '{StoreCopy.MarkerPrefix}{first.SourceId}'");

        var again = await MigrateAsync(source, Postgres(connectionString), batchSize: 250);

        Assert.True(again.Verified, string.Join("; ", again.Problems));
        Assert.True(again.Resumed);
        Assert.Equal(0, again.Written);
        Assert.Equal(600, again.Duplicates);
        Assert.Equal(600, await raw.ScalarAsync("SELECT COUNT(*) FROM samples"));
        await AssertSameStoreAsync(source, Postgres(connectionString)); // neither stats nor masked counts counted twice
    }

    /// <summary>After the move agents go on giving feedback on the destination; migrating again must not undo it.</summary>
    [Fact]
    public async Task Migrate_Postgres_RerunAfterNewerFeedbackOnTheDestination_KeepsTheNewer()
    {
        var (_, source) = await SourceAsync(100);
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var destination = Postgres(connectionString);
        Assert.True((await MigrateAsync(source, destination)).Verified);
        var old = (await source.ReadFeedbackRowsAsync(CancellationToken.None))[3];
        var newer = old with { Action = FeedbackActions.Edited, FinalText = "The agent's later text", CreatedAt = old.CreatedAt.AddDays(1) };
        Assert.True(await destination.WriteFeedbackAsync(newer, CancellationToken.None));

        var again = await MigrateAsync(source, destination);

        Assert.True(again.Verified, string.Join("; ", again.Problems));
        var kept = Assert.Single(await destination.ReadFeedbackRowsAsync(CancellationToken.None),
            f => f.ContextHash == old.ContextHash && f.Position == old.Position && f.Agent == old.Agent);
        Assert.Equal(newer, kept);
        var edited = (await source.GetStatsAsync(CancellationToken.None)).Feedback.ByAction[FeedbackActions.Edited] + (old.Action == FeedbackActions.Edited ? 0 : 1);
        Assert.Equal(edited, (await destination.GetStatsAsync(CancellationToken.None)).Feedback.ByAction[FeedbackActions.Edited]);
    }

    /// <summary>A server started on the destination before the copy was verified: equality fails, a --merge run checks presence.</summary>
    [Fact]
    public async Task Migrate_Postgres_ServerWroteDuringTheCopy_ExactVerificationFailsMergeRunVerifies()
    {
        var (_, source) = await SourceAsync(300);
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => MigrateAsync(source, Postgres(connectionString), batchSize: 100,
            progress: new InlineProgress<StoreCopyProgress>(p => { if (p.Done >= 100) { cts.Cancel(); } }), cancellationToken: cts.Token));
        await Postgres(connectionString).WriteAsync([Some.Sample()], null, CancellationToken.None); // captured by a server meanwhile

        var exact = await MigrateAsync(source, Postgres(connectionString), batchSize: 100);
        Assert.False(exact.Verified);
        Assert.Contains(exact.Problems, p => p.Contains("holds 1 samples the source does not", StringComparison.Ordinal) && p.Contains("--merge", StringComparison.Ordinal));
        Assert.Equal(0, exact.MissingSamples);

        var merged = await MigrateAsync(source, Postgres(connectionString), batchSize: 100, merge: true);
        Assert.True(merged.Verified, string.Join("; ", merged.Problems));
        Assert.Equal(301, merged.DestinationSamples);
    }

    [Fact]
    public async Task Migrate_Postgres_DestinationHoldsOtherSamples_RefusedUnlessMergeThenEverySourceSamplePresent()
    {
        var (_, source) = await SourceAsync(300);
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var destination = Postgres(connectionString);
        await destination.MigrateAsync(CancellationToken.None);
        await destination.WriteAsync([.. Enumerable.Range(0, 5).Select(_ => Some.Sample())], null, CancellationToken.None);

        var refused = await Assert.ThrowsAsync<StoreCopyRefusedException>(() => MigrateAsync(source, destination));
        Assert.Contains("already holds 5 samples", refused.Message, StringComparison.Ordinal);
        Assert.Equal(5, (await destination.GetStatsAsync(CancellationToken.None)).TotalSamples);

        var merged = await MigrateAsync(source, destination, merge: true);
        Assert.True(merged.Verified, string.Join("; ", merged.Problems));
        Assert.False(merged.Exact);
        Assert.Equal(305, merged.DestinationSamples);
        Assert.NotEqual(merged.SourceChecksum, merged.DestinationChecksum);
        Assert.Equal(305, (await destination.GetStatsAsync(CancellationToken.None)).TotalSamples);
    }

    [Fact]
    public async Task Migrate_Postgres_SampleLostFromDestination_VerificationFailsNamingIt()
    {
        var (_, source) = await SourceAsync(300);
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        Assert.True((await MigrateAsync(source, Postgres(connectionString))).Verified);
        var raw = new PostgresStoreUnderTest(connectionString, new StorageOptions(), null);
        var lost = (await Stores.ReadAllAsync(Path.GetDirectoryName(source.DataSource)!))[42].ContextHash;
        await raw.ExecuteAsync($"DELETE FROM samples WHERE context_hash = '{lost}'");

        var result = await MigrateAsync(source, Postgres(connectionString));

        Assert.False(result.Verified);
        Assert.Equal(1, result.MissingSamples);
        Assert.Contains(result.Problems, p => p.Contains("1 source samples are missing", StringComparison.Ordinal) && p.Contains(lost, StringComparison.Ordinal));
        Assert.False(result.Exact); // verified once already: from then on, containment
        Assert.Equal(299, result.DestinationSamples);
        Assert.NotEqual(result.SourceChecksum, result.DestinationChecksum);
    }
}
