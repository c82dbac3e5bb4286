using System.Diagnostics.CodeAnalysis;
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
    /// Every sample of a whole-store read, in row order, with its feedback, as <paramref name="map"/> makes it. Decoding
    /// the payloads and an export's serialisation (both in the map) are most of an export's work:
    /// <paramref name="readBatch"/> reads rows a few at a time on the caller's side (a data reader is not thread-safe),
    /// and they are mapped on every core while the caller consumes the ones before; batches
    /// are handed out in the order they were read. The batches are small on purpose: samples that outlive a gen-0
    /// collection pile up in the older generations. Exporting 800k samples from SQLite on 2 cores: one decoding thread
    /// 19.5–21.0 s at 92 MB peak RSS; two, 16 rows a batch, 12.7–14.5 s at 98–102 MB; two, 8 rows, 13.3–13.8 s at 93 MB.
    /// </summary>
    /// <param name="readBatch">Up to the given number of rows; fewer only at the end.</param>
    public static async IAsyncEnumerable<T> DecodeAheadAsync<T>(Func<int, CancellationToken, ValueTask<List<StoredRow>>> readBatch,
        IReadOnlyDictionary<string, IReadOnlyList<SuggestionFeedback>> feedback, PayloadCodec codec, Func<StoredSample, T> map,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var decoding = new Queue<Task<T[]>>();
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
                        decoding.Enqueue(Task.Run(() => rows.Select(r => map(new StoredSample(r, codec, feedback.GetValueOrDefault(r.ContextHash)))).ToArray(), cancellationToken));
                    }
                }
                if (decoding.Count == 0)
                {
                    yield break;
                }
                foreach (var item in await decoding.Dequeue())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return item;
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

/// <summary>
/// A sample of a whole-store read, not decoded until asked: a store's row with the codec and feedback to decode it, or a
/// sample already decoded (<see cref="Of"/>, for stores that have no rows to give).
/// </summary>
internal sealed class StoredSample
{
    private readonly StoredRow? _row;
    private readonly PayloadCodec? _codec;
    private readonly IReadOnlyList<SuggestionFeedback>? _feedback;
    private TrainingSample? _sample;

    public StoredSample(StoredRow row, PayloadCodec codec, IReadOnlyList<SuggestionFeedback>? feedback) =>
        (_row, _codec, _feedback) = (row, codec, feedback);

    private StoredSample(TrainingSample sample) => _sample = sample;

    public static StoredSample Of(TrainingSample sample) => new(sample);

    /// <summary>The sample with its feedback.</summary>
    public TrainingSample Decode()
    {
        if (_sample is null)
        {
            var sample = _row!.ToSample(_codec!);
            _sample = _feedback is { } given ? sample with { Feedback = given } : sample;
        }
        return _sample;
    }

    /// <summary>
    /// The row and its payload's JSON, when the row alone is the whole sample (no feedback was given on it). The JSON
    /// is valid until this thread decodes the next payload.
    /// </summary>
    public bool TryGetRow([NotNullWhen(true)] out StoredRow? row, out ReadOnlySpan<byte> payloadJson)
    {
        row = _feedback is null ? _row : null;
        payloadJson = row is null ? default : _codec!.Decompress(row.Payload, row.PayloadEncoding);
        return row is not null;
    }
}
