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
        var json = JsonSerializer.SerializeToUtf8Bytes(this, StorageJsonContext.Default.SamplePayload);
        return level is { } l ? Compress(json, l) : json;
    }

    /// <summary>A plain or GZip payload (what a store held before it had dictionaries).</summary>
    public static SamplePayload Decode(byte[] bytes, int encoding) => Parse(Unpack(bytes, encoding));

    public static SamplePayload Parse(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, StorageJsonContext.Default.SamplePayload) ?? throw new InvalidDataException("Empty sample payload.");

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
