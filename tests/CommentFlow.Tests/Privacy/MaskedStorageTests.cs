using System.Text;
using CommentFlow.Tests.Api;
using CommentFlow.Tests.Fakes;
using Microsoft.Data.Sqlite;

namespace CommentFlow.Tests.Privacy;

/// <summary>Personal data in tickets never reaches the SQLite file: checked on the raw bytes, uncompressed so a scan can see text.</summary>
public sealed class MaskedStorageTests
{
    private static readonly string[] Personal =
    [
        "maria.garcia@empresa.es", "+34 612 345 678", "192.168.10.45", "4111 1111 1111 1111",
        "ES91 2100 0418 4502 0005 1332", "Hunter2024", "john.smith@contoso.com", "sk-live9f8e7d6c5b4a3",
    ];

    [Fact]
    public async Task Suggestions_PersonalDataInTickets_NotInTheFileAndCounted()
    {
        var dataDir = TempDir.Create();
        await using (var server = await TestServer.StartAsync(dataDir, "Engine=rules", "Storage:CompressionThreshold=1000000", "Cache:TtlSeconds=0"))
        {
            await server.SuggestAsync(new
            {
                ticket_key = "SD-4711",
                summary = "No puedo acceder al correo MARKERALPHA",
                description = "Escribidme a maria.garcia@empresa.es o llamad al +34 612 345 678. Mi IP es 192.168.10.45.",
                all_comments = new[] { "Pago con la tarjeta 4111 1111 1111 1111, IBAN ES91 2100 0418 4502 0005 1332", "password=Hunter2024" },
            });
            await server.SuggestAsync(new
            {
                ticket_key = "SD-4712",
                summary = "Login error on the portal MARKERBETA",
                description = "Contact john.smith@contoso.com, the API key is api_key=sk-live9f8e7d6c5b4a3. Version 2.14.1 since 2024-01-15.",
            });
            await SuggestionApiTests.WaitForWrittenAsync(server, 2);
            var stats = await server.GetJsonAsync("/api/ml/comments/ml-stats");
            var masked = stats["stats"]!["masked"]!.AsObject();
            Assert.Equal(2, (long)masked["email"]!);
            Assert.Equal(1, (long)masked["phone"]!);
            Assert.Equal(1, (long)masked["ip"]!);
            Assert.Equal(1, (long)masked["card"]!);
            Assert.Equal(1, (long)masked["iban"]!);
            Assert.Equal(2, (long)masked["secret"]!);
        }

        var db = Path.Combine(dataDir, "commentflow.db");
        using (var connection = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            connection.Open();
            using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            checkpoint.ExecuteNonQuery();
        }
        var raw = string.Join("\n", Directory.GetFiles(dataDir, "commentflow.db*").Select(f => Encoding.UTF8.GetString(File.ReadAllBytes(f))));
        // The scan can see stored text: the harmless words are there, and so are the near-misses.
        Assert.Contains("MARKERALPHA", raw, StringComparison.Ordinal);
        Assert.Contains("MARKERBETA", raw, StringComparison.Ordinal);
        Assert.Contains("2.14.1", raw, StringComparison.Ordinal);
        Assert.True(raw.Contains("<email>", StringComparison.Ordinal) || raw.Contains("\\u003Cemail\\u003E", StringComparison.Ordinal), "no <email> placeholder stored");
        foreach (var value in Personal)
        {
            Assert.DoesNotContain(value, raw, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Suggestions_ExtraPatternRunsOutOfTime_ThatFieldStoredAsRedactedOthersMaskedAndCounted()
    {
        // A nested quantifier that backtracks exponentially on a run of 'a's not followed by the end: far past the
        // 250 ms match timeout on 40 of them, instant on ordinary text.
        var pathological = new string('a', 40) + "!";
        var dataDir = TempDir.Create();
        await using (var server = await TestServer.StartAsync(dataDir, "Engine=rules", "Cache:TtlSeconds=0", "Storage:CompressionThreshold=1000000",
            "Masking:ExtraPatterns:runaway=^(a+)+$"))
        {
            await server.SuggestAsync(new
            {
                ticket_key = "SD-4713",
                summary = "Mail to maria.garcia@empresa.es bounces MARKERGAMMA",
                description = pathological,
                all_comments = new[] { "Checked the mailbox quota MARKERDELTA" },
            });
            await SuggestionApiTests.WaitForWrittenAsync(server, 1);
            var masked = (await server.GetJsonAsync("/api/ml/comments/ml-stats"))["stats"]!["masked"]!.AsObject();
            Assert.Equal(1, (long)masked["redacted"]!);
            Assert.Equal(1, (long)masked["email"]!);
        }

        var sample = Assert.Single(await Stores.ReadAllAsync(dataDir));
        Assert.Equal("<redacted>", sample.Context.Description);
        // Only the field that ran out of time is lost; the others are stored masked as usual.
        Assert.Equal("Mail to <email> bounces MARKERGAMMA", sample.Context.Summary);
        Assert.Equal(["Checked the mailbox quota MARKERDELTA"], sample.Context.Comments);
        Assert.NotEmpty(sample.Suggestions);
        Assert.DoesNotContain(new string('a', 40), StoreEvidence.RawText(dataDir), StringComparison.Ordinal);
    }
}
