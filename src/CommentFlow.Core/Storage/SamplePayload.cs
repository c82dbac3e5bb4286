using System.Buffers;
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
    public byte[] Encode(CompressionLevel? level) => level is { } l ? Compress(Utf8Json(), l) : Utf8Json().ToArray();

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_json;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>
    /// The payload's UTF-8 JSON, valid until the calling thread encodes the next one: a capture batch compresses it
    /// straight from here. Written by the source generator's serialisation code with the payloads' own encoder: the
    /// serializer itself takes that fast path only with no encoder set, and its metadata path took 7.7 µs a payload of
    /// the bench's workload against 5 µs (`prep`).
    /// </summary>
    public ReadOnlySpan<byte> Utf8Json()
    {
        var buffer = t_json;
        if (buffer is null || buffer.Capacity > KeptBufferBytes)
        {
            // The buffer an unusually large payload grew is let go at the thread's next payload.
            buffer = t_json = new ArrayBufferWriter<byte>(16 * 1024);
            t_writer = null;
        }
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer, StorageJsonContext.WriterOptions);
        writer.Reset(buffer);
        StorageJsonContext.Default.SamplePayload.SerializeHandler!(writer, this);
        writer.Flush();
        return buffer.WrittenSpan;
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
        var parts = Locate(json);
        List<string>? comments = null;
        if (IsArray(ref parts.Comments))
        {
            comments = [];
            while (Next(ref parts.Comments) != JsonTokenType.EndArray)
            {
                comments.Add(parts.Comments.GetString()!);
            }
        }
        List<Suggestion>? suggestions = null;
        if (IsArray(ref parts.Suggestions))
        {
            suggestions = [];
            while (NextSuggestion(ref parts.Suggestions, out var text, out var type, out var confidence))
            {
                suggestions.Add(new Suggestion(StringOf(ref text)!, StringOf(ref type)!, confidence));
            }
        }
        return new SamplePayload(StringOf(ref parts.Summary)!, StringOf(ref parts.Description)!, comments!, suggestions!);
    }

    /// <summary>
    /// A payload's parts, each reader on its value; a part the payload lacks has no token (<see cref="JsonTokenType.None"/>).
    /// What <see cref="Parse"/> makes strings of, and what the JSON Lines export copies as UTF-8.
    /// </summary>
    internal ref struct Parts
    {
        public Utf8JsonReader Summary;
        public Utf8JsonReader Description;
        public Utf8JsonReader Comments;
        public Utf8JsonReader Suggestions;
    }

    /// <summary>Finds the payload's parts, in any order; unknown properties are skipped.</summary>
    public static Parts Locate(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType == JsonTokenType.Null)
        {
            throw new InvalidDataException("Empty sample payload.");
        }
        Expect(ref reader, JsonTokenType.StartObject);
        var parts = new Parts();
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            var part = reader.ValueTextEquals("summary"u8) ? 1 : reader.ValueTextEquals("description"u8) ? 2
                : reader.ValueTextEquals("comments"u8) ? 3 : reader.ValueTextEquals("suggestions"u8) ? 4 : 0;
            Next(ref reader);
            switch (part)
            {
                case 1: parts.Summary = reader; break;
                case 2: parts.Description = reader; break;
                case 3: parts.Comments = reader; break;
                case 4: parts.Suggestions = reader; break;
            }
            reader.Skip();
        }
        Expect(ref reader, JsonTokenType.EndObject);
        return parts;
    }

    /// <summary>
    /// The next suggestion of a suggestions array (the reader on the array, then on the last suggestion read), its text
    /// and type readers on their values; false at the array's end.
    /// </summary>
    public static bool NextSuggestion(ref Utf8JsonReader array, out Utf8JsonReader text, out Utf8JsonReader type, out double confidence)
    {
        text = type = default;
        confidence = 0;
        if (Next(ref array) == JsonTokenType.EndArray)
        {
            return false;
        }
        Expect(ref array, JsonTokenType.StartObject);
        while (Next(ref array) == JsonTokenType.PropertyName)
        {
            var part = array.ValueTextEquals("text"u8) ? 1 : array.ValueTextEquals("type"u8) ? 2 : array.ValueTextEquals("confidence"u8) ? 3 : 0;
            Next(ref array);
            switch (part)
            {
                case 1: text = array; break;
                case 2: type = array; break;
                case 3: confidence = array.GetDouble(); break;
            }
            array.Skip();
        }
        Expect(ref array, JsonTokenType.EndObject);
        return true;
    }

    /// <summary>True on an array; false on a null or a missing part; anything else is not a payload.</summary>
    public static bool IsArray(ref Utf8JsonReader part)
    {
        if (part.TokenType is JsonTokenType.None or JsonTokenType.Null)
        {
            return false;
        }
        Expect(ref part, JsonTokenType.StartArray);
        return true;
    }

    private static string? StringOf(ref Utf8JsonReader part) => part.TokenType == JsonTokenType.None ? null : part.GetString();

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new InvalidDataException("Truncated sample payload.");

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
