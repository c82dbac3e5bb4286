using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.Engines.Ollama;
using CommentFlow.Storage;
using CsvHelper;

namespace CommentFlow.Export;

/// <summary>
/// The formats the usual fine-tuning and analysis tools read, each streamed sample by sample:
/// JSON Lines (one sample per line), chat JSONL (<c>{"messages":[system, user, assistant]}</c>, the prompt exactly as
/// Ollama gets it and the suggestions as the answer) and CSV (one row per suggestion). All three carry the agents'
/// feedback: suggestions as reviewed (<see cref="TrainingSample.Reviewed"/>), the feedback itself in JSON Lines and CSV.
/// </summary>
internal static class SampleExporters
{
    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Task<(int Samples, int Rows)> WriteJsonLinesAsync(Stream output, IAsyncEnumerable<TrainingSample> samples, DatasetCleaner? cleaner, CancellationToken ct) =>
        WriteJsonLinesAsync(output, samples.Select(s => JsonLine(s, cleaner)), ct);

    /// <summary>
    /// JSON Lines made by <see cref="JsonLine"/>, null for a sample with nothing to export. Made where the store decodes
    /// (<see cref="ITrainingStore.ReadAllAsync{T}"/>), the lines are serialised on every core, and this only copies them.
    /// </summary>
    public static async Task<(int Samples, int Rows)> WriteJsonLinesAsync(Stream output, IAsyncEnumerable<byte[]?> lines, CancellationToken ct)
    {
        var jsonLines = new JsonLines(output);
        var count = 0;
        await foreach (var line in lines.WithCancellation(ct))
        {
            if (line is not null)
            {
                await jsonLines.WriteLineAsync(line, ct);
                count++;
            }
        }
        await jsonLines.FlushAsync(ct);
        return (count, count);
    }

    /// <summary>
    /// One sample's JSON Lines line, newline included; null when no suggestion is left to export. Thread-safe without a
    /// cleaner (which counts what it removes).
    /// </summary>
    public static byte[]? JsonLine(TrainingSample s, DatasetCleaner? cleaner)
    {
        var suggestions = cleaner?.Clean(s) ?? s.Reviewed();
        if (suggestions.Count == 0)
        {
            return null;
        }
        var writer = LineWriter();
        writer.WriteStartObject();
        writer.WriteString("context_hash", s.ContextHash);
        writer.WriteString("ticket_key", s.Context.TicketKey);
        writer.WriteString("created_at", s.CreatedAt);
        writer.WriteStartObject("input");
        SampleJson.WriteContextFields(writer, s.Context);
        writer.WriteString("language", s.Context.Language);
        writer.WriteString("queue", s.Context.Queue);
        writer.WriteEndObject();
        writer.WriteStartObject("output");
        SampleJson.WriteSuggestions(writer, suggestions);
        writer.WriteString("model", s.Model);
        writer.WriteString("engine", s.Engine);
        writer.WriteEndObject();
        WriteFeedback(writer, s);
        writer.WriteEndObject();
        return EndLine(writer);
    }

    /// <summary>
    /// A stored sample's line, byte for byte what <see cref="JsonLine(TrainingSample, DatasetCleaner?)"/> writes. A row
    /// without feedback is written from its payload's UTF-8 as read: the texts are copied (unescaped into a buffer
    /// where the payload escaped them, and escaped again as the export does) without making a .NET string of any, which
    /// was most of an export's work. Thread-safe.
    /// </summary>
    public static byte[]? JsonLine(StoredSample stored)
    {
        if (!stored.TryGetRow(out var row, out var payload))
        {
            return JsonLine(stored.Decode(), null);
        }
        var parts = SamplePayload.Locate(payload);
        var writer = LineWriter();
        writer.WriteStartObject();
        writer.WriteString("context_hash", row.ContextHash);
        writer.WriteString("ticket_key", row.TicketKey);
        writer.WriteString("created_at", row.CreatedAt);
        writer.WriteStartObject("input");
        WriteString(writer, "summary"u8, ref parts.Summary);
        WriteString(writer, "description"u8, ref parts.Description);
        writer.WriteString("issue_type", row.IssueType);
        writer.WriteString("status", row.Status);
        writer.WriteString("priority", row.Priority);
        writer.WriteStartArray("comments");
        if (SamplePayload.IsArray(ref parts.Comments))
        {
            while (parts.Comments.Read() && parts.Comments.TokenType != JsonTokenType.EndArray)
            {
                writer.WriteStringValue(Utf8(ref parts.Comments));
            }
        }
        writer.WriteEndArray();
        writer.WriteString("language", row.Language);
        writer.WriteString("queue", row.Queue);
        writer.WriteEndObject();
        writer.WriteStartObject("output");
        writer.WriteStartArray("suggestions");
        var written = 0;
        if (SamplePayload.IsArray(ref parts.Suggestions))
        {
            while (SamplePayload.NextSuggestion(ref parts.Suggestions, out var text, out var type, out var confidence))
            {
                writer.WriteStartObject();
                WriteString(writer, "text"u8, ref text);
                WriteString(writer, "type"u8, ref type);
                writer.WriteNumber("confidence"u8, confidence);
                writer.WriteEndObject();
                written++;
            }
        }
        if (written == 0)
        {
            return null;
        }
        writer.WriteEndArray();
        writer.WriteString("model", row.Model);
        writer.WriteString("engine", row.Engine);
        writer.WriteEndObject();
        writer.WriteStartArray("feedback");
        writer.WriteEndArray();
        writer.WriteEndObject();
        return EndLine(writer);
    }

    /// <summary>A string of the payload (null when it held none) under <paramref name="name"/>.</summary>
    private static void WriteString(Utf8JsonWriter writer, ReadOnlySpan<byte> name, ref Utf8JsonReader value)
    {
        if (value.TokenType == JsonTokenType.String)
        {
            writer.WriteString(name, Utf8(ref value));
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>The string token's text as UTF-8: the payload's own bytes, or unescaped into this thread's buffer.</summary>
    private static ReadOnlySpan<byte> Utf8(ref Utf8JsonReader value)
    {
        if (!value.ValueIsEscaped)
        {
            return value.ValueSpan;
        }
        // Unescaped text is never longer than escaped.
        var scratch = t_scratch is { } kept && kept.Length >= value.ValueSpan.Length ? kept : new byte[Math.Max(4096, value.ValueSpan.Length)];
        if (scratch.Length <= KeptLineBytes)
        {
            t_scratch = scratch;
        }
        return scratch.AsSpan(0, value.CopyString(scratch));
    }

    /// <summary>This thread's line writer, reset: a line is serialised into one buffer per thread, then copied out.</summary>
    private static Utf8JsonWriter LineWriter()
    {
        if (t_line is not { Capacity: <= KeptLineBytes } line)
        {
            // An unusually long sample's buffer is not kept alive by the thread afterwards.
            t_line = line = new ArrayBufferWriter<byte>(8 * 1024);
            t_writer = new Utf8JsonWriter(line, Compact);
        }
        line.ResetWrittenCount();
        var writer = t_writer!;
        writer.Reset(line);
        return writer;
    }

    private static byte[] EndLine(Utf8JsonWriter writer)
    {
        writer.Flush();
        var line = t_line!;
        line.Write("\n"u8);
        return line.WrittenSpan.ToArray();
    }

    private const int FlushBytes = 256 * 1024;
    private const int KeptLineBytes = 1 << 20;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_line;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    [ThreadStatic]
    private static byte[]? t_scratch;

    public static async Task<(int Samples, int Rows)> WriteChatAsync(Stream output, IAsyncEnumerable<TrainingSample> samples, DatasetCleaner? cleaner, CancellationToken ct)
    {
        var lines = new JsonLines(output);
        var writer = lines.Writer;
        var count = 0;
        await foreach (var s in samples.WithCancellation(ct))
        {
            var suggestions = ChatAnswer(s, cleaner?.Clean(s) ?? s.Reviewed());
            if (suggestions.Count == 0)
            {
                continue;
            }
            writer.WriteStartObject();
            writer.WriteStartArray("messages");
            foreach (var m in OllamaPrompt.Build(s.Context, suggestions.Count))
            {
                WriteMessage(writer, m.Role.Value, m.Text);
            }
            WriteMessage(writer, "assistant", SuggestionsJson(suggestions));
            writer.WriteEndArray();
            writer.WriteEndObject();
            await lines.EndLineAsync(ct);
            count++;
        }
        await lines.FlushAsync(ct);
        return (count, count);
    }

    public static async Task<(int Samples, int Rows)> WriteCsvAsync(Stream output, IAsyncEnumerable<TrainingSample> samples, DatasetCleaner? cleaner, CancellationToken ct)
    {
        await using var text = new StreamWriter(output, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        await using var csv = new CsvWriter(text, CultureInfo.InvariantCulture);
        string[] header = ["context_hash", "ticket_key", "created_at", "summary", "description", "comments", "issue_type", "status", "priority",
            "language", "queue", "suggestion_text", "suggestion_type", "confidence", "model", "engine", "feedback"];
        foreach (var h in header)
        {
            csv.WriteField(h);
        }
        await csv.NextRecordAsync();
        int count = 0, rows = 0;
        await foreach (var s in samples.WithCancellation(ct))
        {
            var suggestions = cleaner?.Clean(s) ?? s.Reviewed();
            if (suggestions.Count == 0)
            {
                continue;
            }
            count++;
            var verdicts = Verdicts(s);
            foreach (var g in suggestions)
            {
                // Comments go in one cell as a JSON array: no separator can be confused with comment text.
                object?[] fields = [s.ContextHash, s.Context.TicketKey, s.CreatedAt.ToString("O", CultureInfo.InvariantCulture), s.Context.Summary, s.Context.Description,
                    JsonSerializer.Serialize(s.Context.Comments, ExportJsonContext.Default.IReadOnlyListString), s.Context.IssueType, s.Context.Status, s.Context.Priority,
                    s.Context.Language, s.Context.Queue, g.Text, g.Type, g.Confidence.ToString(CultureInfo.InvariantCulture), s.Model, s.Engine,
                    verdicts.GetValueOrDefault(g.Text)];
                foreach (var f in fields)
                {
                    csv.WriteField(f);
                }
                await csv.NextRecordAsync();
                rows++;
            }
        }
        await csv.FlushAsync();
        return (count, rows);
    }

    /// <summary>
    /// What a chat example teaches. When agents kept some of the context's suggestions, those alone, an edited one with
    /// the agent's text: a demonstration of what they post. Otherwise every suggestion no agent dismissed.
    /// </summary>
    internal static IReadOnlyList<Suggestion> ChatAnswer(TrainingSample sample, IReadOnlyList<Suggestion> suggestions)
    {
        if (sample.Feedback.Count == 0)
        {
            return suggestions;
        }
        var verdicts = Verdicts(sample);
        var anyKept = verdicts.Values.Any(FeedbackActions.IsKept);
        return suggestions.Where(g => verdicts.GetValueOrDefault(g.Text) is { } action
            ? FeedbackActions.IsKept(action)
            : !anyKept).ToList();
    }

    /// <summary>The latest feedback action by the reviewed text it applies to (the agent's text for an edit).</summary>
    private static Dictionary<string, string> Verdicts(TrainingSample sample)
    {
        var verdicts = new Dictionary<string, string>(StringComparer.Ordinal);
        if (sample.Feedback.Count == 0)
        {
            return verdicts;
        }
        var latest = sample.LatestFeedback();
        var reviewed = sample.Reviewed();
        for (var i = 0; i < latest.Length; i++)
        {
            if (latest[i] is { } f)
            {
                verdicts[reviewed[i].Text] = f.Action;
            }
        }
        for (var i = latest.Length; i < reviewed.Count; i++)
        {
            verdicts[reviewed[i].Text] = FeedbackActions.Written;
        }
        return verdicts;
    }

    /// <summary>Every agent's feedback on the sample, as given: who, what, when, and the edited text.</summary>
    private static void WriteFeedback(Utf8JsonWriter writer, TrainingSample sample)
    {
        writer.WriteStartArray("feedback");
        foreach (var f in sample.Feedback)
        {
            writer.WriteStartObject();
            writer.WriteString("suggestion_id", f.SuggestionId);
            writer.WriteNumber("position", f.Position);
            writer.WriteString("action", f.Action);
            writer.WriteString("final_text", f.FinalText);
            writer.WriteString("agent", f.Agent);
            writer.WriteString("created_at", f.CreatedAt);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    /// <summary>The assistant's answer in the shape Ollama is asked for: <c>{"suggestions":[{text,type,confidence}]}</c>.</summary>
    public static string SuggestionsJson(IReadOnlyList<Suggestion> suggestions)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Compact))
        {
            writer.WriteStartObject();
            SampleJson.WriteSuggestions(writer, suggestions);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteMessage(Utf8JsonWriter writer, string role, string? content)
    {
        writer.WriteStartObject();
        writer.WriteString("role", role);
        writer.WriteString("content", content);
        writer.WriteEndObject();
    }

    /// <summary>
    /// One JSON object per line. The writer fills a memory buffer, which goes to the stream every 256 KB: flushing the
    /// writer after each line cost more than the JSON itself, and never flushing grows the buffer with the export.
    /// The newline goes into the buffer between objects, where the writer never sees it as part of a value.
    /// </summary>
    private sealed class JsonLines
    {
        private readonly Stream _output;
        private readonly ArrayBufferWriter<byte> _buffer = new(FlushBytes + 64 * 1024);

        public JsonLines(Stream output)
        {
            _output = output;
            Writer = new Utf8JsonWriter(_buffer, Compact);
        }

        public Utf8JsonWriter Writer { get; }

        public async ValueTask EndLineAsync(CancellationToken ct)
        {
            Writer.Flush();
            _buffer.GetSpan(1)[0] = (byte)'\n';
            _buffer.Advance(1);
            Writer.Reset(_buffer);
            await FlushWhenFullAsync(ct);
        }

        /// <summary>A line made elsewhere (see <see cref="JsonLine(TrainingSample, DatasetCleaner?)"/>), newline included.</summary>
        public ValueTask WriteLineAsync(byte[] line, CancellationToken ct)
        {
            _buffer.Write(line);
            return FlushWhenFullAsync(ct);
        }

        private ValueTask FlushWhenFullAsync(CancellationToken ct) => _buffer.WrittenCount >= FlushBytes ? FlushAsync(ct) : ValueTask.CompletedTask;

        public async ValueTask FlushAsync(CancellationToken ct)
        {
            Writer.Flush();
            // Asynchronously: the output may be an HTTP response, where synchronous writes are refused.
            await _output.WriteAsync(_buffer.WrittenMemory, ct);
            _buffer.ResetWrittenCount();
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class ExportJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
