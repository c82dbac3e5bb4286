using System.Text;
using System.Text.Json.Nodes;
using CommentFlow.Domain;
using CommentFlow.Export;
using CommentFlow.Import;
using CommentFlow.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using System.Text.Json;

namespace CommentFlow.Tests.Export;

public sealed class SampleExportersTests
{
    private static async IAsyncEnumerable<TrainingSample> Stream(IEnumerable<TrainingSample> samples)
    {
        foreach (var s in samples)
        {
            await Task.Yield();
            yield return s;
        }
    }

    // Enough text that the output spans several of the writer's 256 KB flushes, with non-ASCII and a newline inside values.
    private static List<TrainingSample> Many(int count) => [.. Enumerable.Range(0, count).Select(i =>
        Some.Sample(Some.Context(description: $"Línea {i}\nñandú 🚀 " + new string('x', 1_500))))];

    [Fact]
    public async Task WriteJsonLinesAsync_OutputLargerThanItsBuffer_EverySampleOneLineInOrder()
    {
        var samples = Many(400);
        using var output = new MemoryStream();

        var (count, rows) = await SampleExporters.WriteJsonLinesAsync(output, Stream(samples), null, CancellationToken.None);

        Assert.Equal((400, 400), (count, rows));
        Assert.True(output.Length > 3 * 256 * 1024, $"{output.Length} bytes");
        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(samples.Select(s => s.ContextHash), lines.Select(l => l["context_hash"]!.GetValue<string>()));
        Assert.Equal(samples.Select(s => s.Context.Description), lines.Select(l => l["input"]!["description"]!.GetValue<string>()));
    }

    [Fact]
    public async Task WriteChatAsync_OutputLargerThanItsBuffer_EverySampleOneLineInOrder()
    {
        var samples = Many(300);
        using var output = new MemoryStream();

        var (count, _) = await SampleExporters.WriteChatAsync(output, Stream(samples), null, CancellationToken.None);

        Assert.Equal(300, count);
        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(300, lines.Count);
        Assert.All(lines.Zip(samples), pair =>
            Assert.Contains(pair.Second.Context.Summary, pair.First["messages"]![1]!["content"]!.GetValue<string>(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task WriteJsonLinesAsync_NoSamples_WritesNothing()
    {
        using var output = new MemoryStream();

        var result = await SampleExporters.WriteJsonLinesAsync(output, Stream([]), null, CancellationToken.None);

        Assert.Equal((0, 0), result);
        Assert.Equal(0, output.Length);
    }

    [Fact]
    public async Task JsonLine_OfAStoredSample_TheSameBytesAsOfTheDecodedSample()
    {
        var dir = TempDir.Create();
        var store = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(dir),
            new StorageOptions { CompressionThreshold = 0, DictionaryFrom = 200 }, TimeProvider.System, NullLogger<SqliteTrainingStore>.Instance);
        await store.MigrateAsync(CancellationToken.None);
        List<TrainingSample> samples =
        [
            // The shared tickets: real lengths, languages and characters.
            .. HistoryImport.ReadCsv(Path.Combine(Paths.Shared, "data", "tickets-multilang.csv"), new ImportOptions(), DateTimeOffset.UnixEpoch)
                .Where(i => i.Sample is not null).Select(i => i.Sample!).Take(400),
            // Everything a JSON string escapes, text the export writes unescaped, and the fields that may be null or empty.
            Some.Sample(Some.Context(summary: "quote \" backslash \\ tab \t \u0001 \u2028 <b>&amp;</b> 'x'", description: "Línea\r\nñandú 🚀 \uD83D\uDE80 中文",
                comments: ["", "zwei\nZeilen", "\u00e9t\u00e9"])),
            Some.Sample(Some.Context(comments: []) with { TicketKey = null, Language = null, Queue = "L2 \"EU\"" }),
            Some.Sample(suggestions: 0),
        ];
        await store.WriteAsync(samples, null, CancellationToken.None);
        await store.DictionaryWork;
        // Feedback makes a sample's line differ from its row alone (reviewed suggestions, the feedback array).
        await store.WriteFeedbackAsync(new SuggestionFeedback
        {
            ContextHash = samples[3].ContextHash, Position = 0, Action = FeedbackActions.Edited, FinalText = "Bitte neu starten.",
            Engine = "rules", Model = "m", SuggestionType = "action", CreatedAt = DateTimeOffset.UnixEpoch,
        }, CancellationToken.None);
        // A payload as stores wrote them before, with every non-ASCII character escaped as \uXXXX, kept plain.
        var escaped = JsonSerializer.SerializeToUtf8Bytes(SamplePayload.Of(samples[^3]), StorageJsonContext.Default.SamplePayload);
        Assert.Contains("\\u00F1", Encoding.UTF8.GetString(escaped), StringComparison.OrdinalIgnoreCase);
        await using (var connection = new SqliteConnection(SqliteTrainingStore.DefaultConnectionString(dir)))
        {
            await connection.OpenAsync();
            await using var update = connection.CreateCommand();
            update.CommandText = "UPDATE samples SET payload = $payload, payload_encoding = 0 WHERE context_hash = $hash";
            update.Parameters.AddWithValue("$payload", escaped);
            update.Parameters.AddWithValue("$hash", samples[^3].ContextHash);
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        var (rows, lines) = (0, 0);
        await foreach (var (fromRow, fromSample, isRow) in store.ReadAllAsync(s =>
            (SampleExporters.JsonLine(s), SampleExporters.JsonLine(s.Decode(), null), s.TryGetRow(out _, out _)), CancellationToken.None))
        {
            Assert.Equal(fromSample is null ? null : Encoding.UTF8.GetString(fromSample), fromRow is null ? null : Encoding.UTF8.GetString(fromRow));
            rows += isRow ? 1 : 0;
            lines += fromRow is null ? 0 : 1;
        }
        Assert.Equal((samples.Count - 1, samples.Count - 1), (rows, lines)); // one had feedback; one had no suggestion
        Assert.Equal(samples.Count - 1, await ScalarAsync(dir, "SELECT COUNT(*) FROM samples WHERE payload_encoding = 2")); // the rest: the plain one
    }

    private static async Task<long> ScalarAsync(string dir, string sql)
    {
        await using var connection = new SqliteConnection(SqliteTrainingStore.DefaultConnectionString(dir));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
