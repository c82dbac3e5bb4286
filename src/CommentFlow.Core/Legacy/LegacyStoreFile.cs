using System.Globalization;
using System.IO.Compression;
using System.Text.Encodings.Web;
using System.Text.Json;
using CommentFlow.Domain;
using CommentFlow.Export;
using CommentFlow.Storage;

namespace CommentFlow.Legacy;

/// <summary>
/// The earlier Python service's store file (<c>ml_training_data.json</c>, or <c>.json.gz</c> once it compressed):
/// <c>{"training_samples":[…], "metadata":{…}}</c> with naive local timestamps. Read whole and validated before
/// anything is imported, so a truncated or malformed file imports nothing; written streaming.
/// </summary>
internal static class LegacyStoreFile
{
    public const string FileName = "ml_training_data.json";
    public const string LegacyModel = "legacy";
    private const string LegacyTimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff";
    private const string LegacyTimestampFormatWhole = "yyyy-MM-dd'T'HH:mm:ss";
    private const double DefaultConfidence = 0.5; // what the earlier export assumed when a suggestion had none

    /// <summary>Parses and validates the whole file. Throws <see cref="InvalidDataException"/> with the reason and the sample's position.</summary>
    public static IReadOnlyList<TrainingSample> Read(string path, TimeZoneInfo naiveTimeZone)
    {
        JsonDocument document;
        try
        {
            using var stream = OpenMaybeGzip(path);
            document = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON (truncated or damaged?): {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"'{path}' could not be read (damaged GZip?): {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("training_samples", out var items) || items.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"'{path}' has no \"training_samples\" array: it is not a store file of the earlier service.");
            }
            var samples = new List<TrainingSample>(items.GetArrayLength());
            var index = 0;
            foreach (var item in items.EnumerateArray())
            {
                try
                {
                    samples.Add(ReadSample(item, naiveTimeZone));
                }
                catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException or FormatException or KeyNotFoundException)
                {
                    throw new InvalidDataException($"'{path}': training_samples[{index}] is invalid: {ex.Message}", ex);
                }
                index++;
            }
            return samples;
        }
    }

    /// <summary>Writes samples in the earlier format; timestamps go back to naive local time, as the earlier service wrote them.</summary>
    public static async Task<int> WriteAsync(Stream output, IAsyncEnumerable<TrainingSample> samples, StoreStats stats,
        TimeZoneInfo naiveTimeZone, CancellationToken cancellationToken)
    {
        await using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        writer.WriteStartObject();
        writer.WriteStartArray("training_samples");
        var count = 0;
        await foreach (var s in samples.WithCancellation(cancellationToken))
        {
            writer.WriteStartObject();
            writer.WriteString("context_hash", s.ContextHash);
            writer.WriteString("ticket_key", s.Context.TicketKey); // null is written as null
            writer.WriteString("timestamp", FormatNaive(s.CreatedAt, naiveTimeZone));
            writer.WriteStartObject("input");
            SampleJson.WriteContextFields(writer, s.Context);
            writer.WriteNumber("comments_count", s.Context.Comments.Count);
            writer.WriteEndObject();
            writer.WriteStartObject("output");
            SampleJson.WriteSuggestions(writer, s.Suggestions);
            writer.WriteNumber("suggestions_count", s.Suggestions.Count);
            writer.WriteString("model", s.Model);
            writer.WriteEndObject();
            writer.WriteEndObject();
            count++;
            if (writer.BytesPending > 256 * 1024)
            {
                await writer.FlushAsync(cancellationToken);
            }
        }
        writer.WriteEndArray();
        writer.WriteStartObject("metadata");
        writer.WriteString("created", FormatNaive(stats.Created, naiveTimeZone));
        writer.WriteString("last_modified", FormatNaive(stats.LastModified, naiveTimeZone));
        writer.WriteNumber("total_samples", count);
        writer.WriteBoolean("compressed", stats.Compressed);
        writer.WriteString("version", "1.0");
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(cancellationToken);
        return count;
    }

    internal static DateTimeOffset ParseTimestamp(string value, TimeZoneInfo naiveTimeZone)
    {
        var parsed = DateTime.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
        return parsed.Kind switch
        {
            DateTimeKind.Unspecified => new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(parsed, naiveTimeZone), TimeSpan.Zero),
            _ => new DateTimeOffset(parsed.ToUniversalTime(), TimeSpan.Zero),
        };
    }

    // Python's isoformat(): microseconds, and no fraction at all when they are zero.
    internal static string FormatNaive(DateTimeOffset value, TimeZoneInfo naiveTimeZone)
    {
        var local = TimeZoneInfo.ConvertTimeFromUtc(value.UtcDateTime, naiveTimeZone);
        return local.ToString(local.Ticks % TimeSpan.TicksPerSecond == 0 ? LegacyTimestampFormatWhole : LegacyTimestampFormat, CultureInfo.InvariantCulture);
    }

    private static TrainingSample ReadSample(JsonElement item, TimeZoneInfo naiveTimeZone)
    {
        var hash = item.GetProperty("context_hash").GetString();
        if (!ContextHash.IsValid(hash))
        {
            throw new InvalidDataException($"context_hash '{hash}' is not 32 lower-case hex digits");
        }
        var input = item.GetProperty("input");
        var output = item.TryGetProperty("output", out var o) && o.ValueKind == JsonValueKind.Object ? o : default;
        var comments = input.TryGetProperty("comments", out var c) && c.ValueKind == JsonValueKind.Array
            ? c.EnumerateArray().Select(CommentText).ToList()
            : [];

        var suggestions = new List<Suggestion>();
        if (output.ValueKind == JsonValueKind.Object && output.TryGetProperty("suggestions", out var sug) && sug.ValueKind == JsonValueKind.Array)
        {
            foreach (var s in sug.EnumerateArray())
            {
                suggestions.Add(s.ValueKind == JsonValueKind.Object
                    ? new Suggestion(
                        OptionalString(s, "text") ?? "",
                        OptionalString(s, "type") ?? "",
                        s.TryGetProperty("confidence", out var conf) && conf.ValueKind == JsonValueKind.Number ? conf.GetDouble() : DefaultConfidence)
                    : new Suggestion(s.ValueKind == JsonValueKind.String ? s.GetString()! : s.GetRawText(), "", DefaultConfidence));
            }
        }

        return new TrainingSample
        {
            ContextHash = hash!,
            CreatedAt = ParseTimestamp(item.GetProperty("timestamp").GetString() ?? throw new InvalidDataException("timestamp is null"), naiveTimeZone),
            Context = new TicketContext
            {
                TicketKey = OptionalString(item, "ticket_key"),
                Summary = OptionalString(input, "summary") ?? "",
                Description = OptionalString(input, "description") ?? "",
                IssueType = OptionalString(input, "issue_type") ?? TicketContext.DefaultIssueType,
                Status = OptionalString(input, "status") ?? TicketContext.DefaultStatus,
                Priority = OptionalString(input, "priority") ?? TicketContext.DefaultPriority,
                Comments = comments,
            },
            Suggestions = suggestions,
            Model = output.ValueKind == JsonValueKind.Object ? OptionalString(output, "model") ?? LegacyModel : LegacyModel,
            Engine = LegacyModel,
        };
    }

    private static string? OptionalString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => v.GetRawText(),
        } : null;

    // The earlier service tolerated comments as objects ({"body": …}); it hashed the same text we take here.
    private static string CommentText(JsonElement comment)
    {
        if (comment.ValueKind == JsonValueKind.String)
        {
            return comment.GetString()!;
        }
        if (comment.ValueKind == JsonValueKind.Object)
        {
            foreach (var key in (string[])["body", "text", "comment"])
            {
                if (comment.TryGetProperty(key, out var v))
                {
                    return v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();
                }
            }
        }
        return comment.GetRawText();
    }

    private static Stream OpenMaybeGzip(string path)
    {
        var file = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[2];
        var read = file.Read(magic);
        file.Position = 0;
        return read == 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(file, CompressionMode.Decompress) : file;
    }
}
