using System.Text.Encodings.Web;
using System.Text.Json;
using CommentFlow.Domain;
using CommentFlow.OwnModel;

namespace CommentFlow.Export;

/// <summary>
/// The training dataset of the earlier service: a JSON array with one row per suggestion,
/// <c>{input, metadata:{issue_type,status,priority}, output_text, output_type, confidence}</c>.
/// Streamed with periodic flushes, so memory stays flat however large the store.
/// </summary>
internal static class TrainingDatasetWriter
{
    private const int FlushBytes = 256 * 1024;

    public static async Task<(int Samples, int Rows)> WriteAsync(Stream output, IAsyncEnumerable<TrainingSample> samples, CancellationToken cancellationToken)
    {
        await using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        writer.WriteStartArray();
        int sampleCount = 0, rows = 0;
        await foreach (var s in samples.WithCancellation(cancellationToken))
        {
            sampleCount++;
            var input = TicketText.Of(s.Context);
            foreach (var suggestion in s.Suggestions)
            {
                writer.WriteStartObject();
                writer.WriteString("input", input);
                writer.WriteStartObject("metadata");
                writer.WriteString("issue_type", s.Context.IssueType);
                writer.WriteString("status", s.Context.Status);
                writer.WriteString("priority", s.Context.Priority);
                writer.WriteEndObject();
                writer.WriteString("output_text", suggestion.Text);
                writer.WriteString("output_type", suggestion.Type);
                writer.WriteNumber("confidence", suggestion.Confidence);
                writer.WriteEndObject();
                rows++;
            }
            if (writer.BytesPending > FlushBytes)
            {
                await writer.FlushAsync(cancellationToken);
            }
        }
        writer.WriteEndArray();
        await writer.FlushAsync(cancellationToken);
        return (sampleCount, rows);
    }
}
