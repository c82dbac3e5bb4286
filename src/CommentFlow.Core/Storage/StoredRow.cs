using System.Runtime.CompilerServices;
using CommentFlow.Domain;

namespace CommentFlow.Storage;

/// <summary>A sample as both stores keep it: the short columns as read, the payload not yet decoded.</summary>
internal sealed record StoredRow(string ContextHash, string? TicketKey, DateTimeOffset CreatedAt, string IssueType, string Status, string Priority,
    string Model, string Engine, double LatencyMs, int PayloadEncoding, byte[] Payload, string? Language, string? Queue)
{
    public TrainingSample ToSample(PayloadCodec codec)
    {
        var payload = SamplePayload.Parse(codec.Decompress(Payload, PayloadEncoding));
        return new TrainingSample
        {
            ContextHash = ContextHash,
            CreatedAt = CreatedAt,
            Context = new TicketContext
            {
                TicketKey = TicketKey,
                Summary = payload.Summary,
                Description = payload.Description,
                IssueType = IssueType,
                Status = Status,
                Priority = Priority,
                Comments = payload.Comments,
                Language = Language,
                Queue = Queue,
            },
            Suggestions = payload.Suggestions,
            Model = Model,
            Engine = Engine,
            LatencyMs = LatencyMs,
        };
    }

    /// <summary>Rows per batch of <see cref="DecodeAheadAsync"/>.</summary>
    internal const int BatchRows = 8;

    // One batch decoding per core, so decoding uses them all while the caller writes.
    private static readonly int DecodeAhead = Math.Max(2, Environment.ProcessorCount);

    /// <summary>
    /// Every sample of a whole-store read, in row order, with its feedback attached. Inflating and parsing the payloads is
    /// most of an export's work: <paramref name="readBatch"/> reads rows a few at a time on the caller's side (a data
    /// reader is not thread-safe), and they are decoded on every core while the caller consumes the ones before; batches
    /// are handed out in the order they were read. The batches are small on purpose: samples that outlive a gen-0
    /// collection pile up in the older generations. Exporting 800k samples from SQLite on 2 cores: one decoding thread
    /// 19.5–21.0 s at 92 MB peak RSS; two, 16 rows a batch, 12.7–14.5 s at 98–102 MB; two, 8 rows, 13.3–13.8 s at 93 MB.
    /// </summary>
    /// <param name="readBatch">Up to the given number of rows; fewer only at the end.</param>
    public static async IAsyncEnumerable<TrainingSample> DecodeAheadAsync(Func<int, CancellationToken, ValueTask<List<StoredRow>>> readBatch,
        IReadOnlyDictionary<string, IReadOnlyList<SuggestionFeedback>> feedback, PayloadCodec codec, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var decoding = new Queue<Task<TrainingSample[]>>();
        try
        {
            var more = true;
            while (true)
            {
                while (more && decoding.Count < DecodeAhead)
                {
                    var rows = await readBatch(BatchRows, cancellationToken);
                    more = rows.Count == BatchRows;
                    if (rows.Count > 0)
                    {
                        decoding.Enqueue(Task.Run(() => rows.Select(r => r.ToSample(codec)).ToArray(), cancellationToken));
                    }
                }
                if (decoding.Count == 0)
                {
                    yield break;
                }
                foreach (var sample in await decoding.Dequeue())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return feedback.TryGetValue(sample.ContextHash, out var given) ? sample with { Feedback = given } : sample;
                }
            }
        }
        finally
        {
            // Never left running behind a caller that stopped early.
            foreach (var task in decoding)
            {
                await ((Task)task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }
}
