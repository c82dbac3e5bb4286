using System.IO.Compression;
using System.Text.Json;
using CommentFlow.Domain;

namespace CommentFlow.Storage;

/// <summary>
/// The long texts of a sample, stored as one JSON document (plain, GZip, or zstd with the store's dictionary: see
/// <see cref="PayloadCodec"/>) next to the short indexed columns. Stats and filters never need to open it.
/// </summary>
internal sealed record SamplePayload(string Summary, string Description, IReadOnlyList<string> Comments, IReadOnlyList<Suggestion> Suggestions)
{
    public static SamplePayload Of(TrainingSample sample) =>
        new(sample.Context.Summary, sample.Context.Description, sample.Context.Comments, sample.Suggestions);

    /// <summary>UTF-8 JSON, GZip-compressed at <paramref name="level"/> when it is given.</summary>
    public byte[] Encode(CompressionLevel? level)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(this, StorageJsonContext.Payloads.SamplePayload);
        return level is { } l ? Compress(json, l) : json;
    }

    /// <summary>A plain or GZip payload (what a store held before it had dictionaries).</summary>
    public static SamplePayload Decode(byte[] bytes, int encoding) => Parse(Unpack(bytes, encoding));

    /// <summary>
    /// The payload read token by token, as the generated deserializer reads it (the same names, unknown properties
    /// skipped, a JSON null as a null). That deserializer builds these records through its constructor-argument
    /// machinery: 39 % of a whole-store export's CPU, most of the decoding.
    /// </summary>
    public static SamplePayload Parse(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType == JsonTokenType.Null)
        {
            throw new InvalidDataException("Empty sample payload.");
        }
        Expect(ref reader, JsonTokenType.StartObject);
        string? summary = null, description = null;
        List<string>? comments = null;
        List<Suggestion>? suggestions = null;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("summary"u8))
            {
                summary = NextString(ref reader);
            }
            else if (reader.ValueTextEquals("description"u8))
            {
                description = NextString(ref reader);
            }
            else if (reader.ValueTextEquals("comments"u8))
            {
                if (Next(ref reader) != JsonTokenType.Null)
                {
                    Expect(ref reader, JsonTokenType.StartArray);
                    comments = [];
                    while (Next(ref reader) != JsonTokenType.EndArray)
                    {
                        comments.Add(reader.GetString()!);
                    }
                }
            }
            else if (reader.ValueTextEquals("suggestions"u8))
            {
                if (Next(ref reader) != JsonTokenType.Null)
                {
                    Expect(ref reader, JsonTokenType.StartArray);
                    suggestions = [];
                    while (Next(ref reader) != JsonTokenType.EndArray)
                    {
                        suggestions.Add(ReadSuggestion(ref reader));
                    }
                }
            }
            else
            {
                reader.Skip();
            }
        }
        Expect(ref reader, JsonTokenType.EndObject);
        return new SamplePayload(summary!, description!, comments!, suggestions!);
    }

    private static Suggestion ReadSuggestion(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        string? text = null, type = null;
        double confidence = 0;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("text"u8))
            {
                text = NextString(ref reader);
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                type = NextString(ref reader);
            }
            else if (reader.ValueTextEquals("confidence"u8))
            {
                Next(ref reader);
                confidence = reader.GetDouble();
            }
            else
            {
                reader.Skip();
            }
        }
        Expect(ref reader, JsonTokenType.EndObject);
        return new Suggestion(text!, type!, confidence);
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new InvalidDataException("Truncated sample payload.");

    private static string? NextString(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        return reader.GetString();
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType token)
    {
        if (reader.TokenType != token)
        {
            throw new InvalidDataException($"Sample payload: {token} expected, {reader.TokenType} found.");
        }
    }

    /// <summary>The JSON of a plain or GZip payload; valid until the calling thread unpacks the next one.</summary>
    public static ReadOnlySpan<byte> Unpack(byte[] bytes, int encoding) => encoding switch
    {
        PayloadCodec.Plain => bytes,
        PayloadCodec.Gzip => Gunzip(bytes),
        PayloadCodec.Zstd => throw new InvalidDataException("A zstd payload is read through its store's codec."),
        _ => throw new InvalidDataException($"Unknown payload encoding {encoding}."),
    };

    // One inflate buffer per thread: an export decodes millions of payloads, and a fresh array for each was garbage.
    [ThreadStatic]
    private static MemoryStream? t_inflated;

    private const int KeptBufferBytes = 1 << 20;

    public static byte[] Compress(ReadOnlySpan<byte> json, CompressionLevel level)
    {
        using var output = new MemoryStream(json.Length / 2 + 64);
        using (var gzip = new GZipStream(output, level, leaveOpen: true))
        {
            gzip.Write(json);
        }
        return output.ToArray();
    }

    private static ReadOnlySpan<byte> Gunzip(byte[] bytes)
    {
        var output = t_inflated ??= new MemoryStream(16 * 1024);
        if (output.Capacity > KeptBufferBytes)
        {
            // An unusually large payload is not kept alive by the thread afterwards.
            output = t_inflated = new MemoryStream(16 * 1024);
        }
        output.SetLength(0);
        using (var input = new MemoryStream(bytes, writable: false))
        using (var gzip = new GZipStream(input, CompressionMode.Decompress))
        {
            gzip.CopyTo(output);
        }
        return output.GetBuffer().AsSpan(0, (int)output.Length);
    }
}
