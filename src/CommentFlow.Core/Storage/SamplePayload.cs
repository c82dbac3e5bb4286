using System.IO.Compression;
using System.Text.Json;
using CommentFlow.Domain;

namespace CommentFlow.Storage;

/// <summary>
/// The long texts of a sample, stored as one JSON document (optionally GZip-compressed) next to the
/// short indexed columns. Stats and filters never need to open it.
/// </summary>
internal sealed record SamplePayload(string Summary, string Description, IReadOnlyList<string> Comments, IReadOnlyList<Suggestion> Suggestions)
{
    public const int Plain = 0;
    public const int Gzip = 1;

    public static SamplePayload Of(TrainingSample sample) =>
        new(sample.Context.Summary, sample.Context.Description, sample.Context.Comments, sample.Suggestions);

    /// <summary>UTF-8 JSON, GZip-compressed at <paramref name="level"/> when it is given.</summary>
    public byte[] Encode(CompressionLevel? level)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(this, StorageJsonContext.Default.SamplePayload);
        return level is { } l ? Compress(json, l) : json;
    }

    public static SamplePayload Decode(byte[] bytes, int encoding)
    {
        var json = encoding switch
        {
            Plain => bytes,
            Gzip => Gunzip(bytes),
            _ => throw new InvalidDataException($"Unknown payload encoding {encoding}."),
        };
        return JsonSerializer.Deserialize(json, StorageJsonContext.Default.SamplePayload)
            ?? throw new InvalidDataException("Empty sample payload.");
    }

    public static byte[] Compress(ReadOnlySpan<byte> json, CompressionLevel level)
    {
        using var output = new MemoryStream(json.Length / 2 + 64);
        using (var gzip = new GZipStream(output, level, leaveOpen: true))
        {
            gzip.Write(json);
        }
        return output.ToArray();
    }

    private static byte[] Gunzip(byte[] bytes)
    {
        using var input = new MemoryStream(bytes, writable: false);
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream(bytes.Length * 3);
        gzip.CopyTo(output);
        return output.ToArray();
    }
}
