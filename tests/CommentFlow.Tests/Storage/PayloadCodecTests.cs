using System.IO.Compression;
using System.Text;
using CommentFlow.Import;
using CommentFlow.Storage;
using ZstdSharp;

namespace CommentFlow.Tests.Storage;

public sealed class PayloadCodecTests
{
    /// <summary>The 3,114 shared tickets as the store keeps them: one payload's JSON each, the files in order.</summary>
    private static readonly Lazy<List<byte[]>> Payloads = new(() =>
        [.. new[] { "tickets-en-de.csv", "tickets-multilang.csv" }
            .SelectMany(f => HistoryImport.ReadCsv(Path.Combine(Paths.Shared, "data", f), new ImportOptions(), DateTimeOffset.UnixEpoch))
            .Where(i => i.Sample is not null).Select(i => SamplePayload.Of(i.Sample!).Encode(null))]);

    [Fact]
    public void Train_OnTicketPayloads_NamesItsIdInEachFrameRoundTripsAndBeatsGzipOnUnseenOnes()
    {
        // Trained on the German and English tickets, measured on the multilingual ones it has not seen.
        var (training, unseen) = (Payloads.Value.Take(2000).ToList(), Payloads.Value.Skip(2200).Take(300).ToList());
        var dictionary = PayloadDictionary.Train(PayloadCodec.FirstDictionaryId + 7, training, DbTrainingStore.DictionaryBytes, CompressionLevel.Optimal);
        var codec = new PayloadCodec(_ => null);
        codec.Add(dictionary);

        long zstd = 0, gzip = 0;
        foreach (var json in unseen)
        {
            var (encoding, bytes) = codec.Compress(json, CompressionLevel.Optimal);
            Assert.Equal(PayloadCodec.Zstd, encoding);
            Assert.Equal(PayloadCodec.FirstDictionaryId + 7, PayloadCodec.DictionaryIdOf(bytes));
            Assert.Equal(json, codec.Decompress(bytes, encoding).ToArray());
            zstd += bytes.Length;
            gzip += SamplePayload.Compress(json, CompressionLevel.Optimal).Length;
        }
        Assert.True(zstd < gzip, $"zstd with the dictionary {zstd:N0} B against GZip {gzip:N0} B");
        Assert.InRange(dictionary.HeldOutRatio, 0.01, 1.0);
    }

    [Fact]
    public void Compress_AllocatesOnlyThePayloadItReturns_AndAPayloadLargerThanTheKeptBufferStillRoundTrips()
    {
        var dictionary = PayloadDictionary.Train(PayloadCodec.FirstDictionaryId, Payloads.Value.Take(500).ToList(), 16_384, CompressionLevel.Optimal);
        var json = Payloads.Value[700];
        dictionary.Compress(json, CompressionLevel.Optimal); // the thread's compressor and buffer, made once

        var before = GC.GetAllocatedBytesForCurrentThread();
        var bytes = dictionary.Compress(json, CompressionLevel.Optimal);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // The returned array (its header and length) and nothing of the JSON's size: a worst-case buffer a call is ~2 KB more.
        Assert.InRange(allocated, bytes.Length, bytes.Length + 64);
        Assert.Equal(json, dictionary.Decompress(bytes).ToArray());

        // 2 MB of random letters outgrow the kept buffer; a small payload after them still round-trips.
        var random = new Random(7);
        var large = Encoding.UTF8.GetBytes("{\"summary\":\"" + string.Concat(Enumerable.Range(0, 2_000_000).Select(_ => (char)random.Next('a', 'z' + 1))) + "\"}");
        Assert.Equal(large, dictionary.Decompress(dictionary.Compress(large, CompressionLevel.Optimal)).ToArray());
        Assert.Equal(json, dictionary.Decompress(dictionary.Compress(json, CompressionLevel.Optimal)).ToArray());
    }

    [Fact]
    public void Decompress_ADictionaryItHasNotLoaded_LoadsItOnceByTheIdTheFrameNames()
    {
        var dictionary = PayloadDictionary.Train(PayloadCodec.FirstDictionaryId, Payloads.Value.Take(500).ToList(), 16_384, CompressionLevel.Optimal);
        var writer = new PayloadCodec(_ => null);
        writer.Add(dictionary);
        var (_, bytes) = writer.Compress(Payloads.Value[600], CompressionLevel.Optimal);

        var asked = new List<int>();
        var reader = new PayloadCodec(id => { asked.Add(id); return dictionary.Content; });
        Assert.Equal(Payloads.Value[600], reader.Decompress(bytes, PayloadCodec.Zstd).ToArray());
        Assert.Equal(Payloads.Value[600], reader.Decompress(bytes, PayloadCodec.Zstd).ToArray());
        Assert.Equal([PayloadCodec.FirstDictionaryId], asked);

        var missing = new PayloadCodec(_ => null);
        Assert.Throws<InvalidDataException>(() => missing.Decompress(bytes, PayloadCodec.Zstd));
    }

    [Fact]
    public void Drifted_PayloadsUnlikeTheTrainingOnes_TrueOnlyOnceAWindowOfThemIsSeen()
    {
        var codec = new PayloadCodec(_ => null);
        codec.Add(PayloadDictionary.Train(PayloadCodec.FirstDictionaryId, Payloads.Value.Take(1000).ToList(), 32_768, CompressionLevel.Optimal));

        foreach (var json in Payloads.Value.Skip(1000).Take(200))
        {
            codec.Compress(json, CompressionLevel.Optimal);
        }
        Assert.False(codec.Drifted(window: 200, tolerance: 0.25)); // the same kind of tickets

        // Another kind of data: random Base64 in the payloads' shape, which no dictionary of tickets helps with.
        var random = new Random(7);
        for (var i = 0; i < 199; i++)
        {
            codec.Compress(Encoding.UTF8.GetBytes($$"""{"summary":"{{Noise(random)}}"}"""), CompressionLevel.Optimal);
        }
        Assert.False(codec.Drifted(window: 200, tolerance: 0.25)); // 199: not a full window yet
        codec.Compress(Encoding.UTF8.GetBytes($$"""{"summary":"{{Noise(random)}}"}"""), CompressionLevel.Optimal);
        Assert.True(codec.Drifted(window: 200, tolerance: 0.25));
    }

    private static string Noise(Random random)
    {
        var bytes = new byte[256];
        random.NextBytes(bytes);
        return Convert.ToBase64String(bytes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(200)]
    [InlineData(40_000)]
    [InlineData(int.MaxValue)]
    public void DictionaryIdOf_FramesOfEachIdWidth_ReadsTheIdZstdWrote(int id)
    {
        var json = Payloads.Value[0];
        using var compressor = new Compressor(3);
        if (id != 0)
        {
            // A raw-content dictionary takes no id; a trained one with the id patched in, as the store does.
            var trained = PayloadDictionary.Train(PayloadCodec.FirstDictionaryId, Payloads.Value.Take(300).ToList(), 8_192, CompressionLevel.Optimal).Content.ToArray();
            BitConverter.TryWriteBytes(trained.AsSpan(4), id);
            compressor.LoadDictionary(trained);
        }
        Assert.Equal(id, PayloadCodec.DictionaryIdOf(compressor.Wrap(json)));
    }

    [Fact]
    public void Parse_ReadsWhatTheGeneratedDeserializerReads_OnEveryTicketPayloadAndOnOddShapes()
    {
        List<byte[]> odd =
        [
            // Escapes of every kind, a surrogate pair written both ways, and an empty list.
            """{"summary":"quote \" backslash \\ tab \t nl \n \u00e9\u0000 \ud83d\ude00 😀","description":"","comments":[],"suggestions":[]}"""u8.ToArray(),
            // Another order, unknown properties of every kind (skipped), numbers as the writer may write them.
            """{"suggestions":[{"extra":{"a":[1,{"b":null}]},"confidence":1E-3,"type":"action","text":"x"},{"text":"y","type":"","confidence":0}],"version":2,"comments":["a","b"],"note":null,"description":"d","summary":"s"}"""u8.ToArray(),
            // Nulls and missing properties: nulls, as the deserializer gives.
            """{"summary":null,"comments":null,"suggestions":[{"text":null,"type":"diagnostic"}]}"""u8.ToArray(),
            // Names differ in case: not these properties.
            """{"Summary":"no","summary":"yes","description":"d","comments":["c"],"suggestions":[]}"""u8.ToArray(),
        ];
        foreach (var json in Payloads.Value.Concat(odd))
        {
            var expected = System.Text.Json.JsonSerializer.Deserialize(json, StorageJsonContext.Default.SamplePayload)!;
            var parsed = SamplePayload.Parse(json);
            Assert.Equal(expected.Summary, parsed.Summary);
            Assert.Equal(expected.Description, parsed.Description);
            Assert.Equal(expected.Comments, parsed.Comments);
            Assert.Equal(expected.Suggestions, parsed.Suggestions);
        }
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => SamplePayload.Parse("""{"summary":"s","#"""u8));
        Assert.Throws<InvalidDataException>(() => SamplePayload.Parse("null"u8));
    }

    [Fact]
    public void Utf8Json_WritesWhatTheSerializerWritesWithThePayloadsEncoder_OnEveryTicketPayloadAndOnOddTexts()
    {
        // The reference: the serializer's own path, options as payloads have been written since they keep UTF-8 text.
        var options = new System.Text.Json.JsonSerializerOptions
        {
            PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        var reference = new StorageJsonContext(options).SamplePayload;
        List<SamplePayload> odd =
        [
            new("quote \" backslash \\ tab \t nl \n é \0 😀 <b>&amp;</b> \u2028 \ud800", "", [], []),
            new("ü", "Größe 中文 العربية", ["a", "", "c\r\n"], [new("x", "action", 0.1), new("", "", 1e-7), new("y", "resolution", 12345.678)]),
            new(null!, null!, null!, null!),
            new("s", new string('é', 600_000), [], []), // larger than the buffer a thread keeps
        ];
        foreach (var payload in Payloads.Value.Select(p => SamplePayload.Parse(p)).Concat(odd))
        {
            var expected = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(payload, reference);
            Assert.Equal(expected, payload.Utf8Json().ToArray());
            Assert.Equal(expected, payload.Encode(null));
        }
    }
}
