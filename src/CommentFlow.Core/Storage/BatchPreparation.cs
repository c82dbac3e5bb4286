using System.IO.Compression;
using CommentFlow.Domain;
using CommentFlow.Privacy;

namespace CommentFlow.Storage;

/// <summary>
/// The CPU half of a batch write, done before a store takes its write lock: every sample masked and its payload
/// serialised (and compressed when compression is known to be on). Masking and compression cost tens of microseconds a sample
/// against a few for the insert itself, so a batch is prepared on every core: the writer is then paced by the disk.
/// Once compression is on, a sample that repeats one earlier in the batch or one the store lately held
/// (<see cref="RecentHashes"/>) is left unprepared: the write confirms it is stored, or prepares it then.
/// </summary>
internal static class BatchPreparation
{
    // Below this a batch is prepared inline: handing a few samples to other threads costs more than it saves.
    private const int ParallelFrom = 32;

    /// <param name="Masked">Null for a sample left unprepared, with its payload.</param>
    /// <param name="Encodings">Each payload's encoding (a dictionary can take over while a batch is prepared).</param>
    /// <param name="Compressed">The payloads are compressed already (compression was known to be on when prepared).</param>
    public sealed record Prepared(IReadOnlyList<TrainingSample> Samples, Dictionary<string, int>?[] Masked, byte[]?[] Payloads, int[] Encodings, bool Compressed);

    /// <param name="level">Null stores the payloads plain (and prepares every sample); otherwise the codec compresses them.</param>
    public static Prepared Prepare(PersonalDataMasker? masker, IReadOnlyList<TrainingSample> samples, PayloadCodec codec, CompressionLevel? level,
        RecentHashes? recent = null)
    {
        var clean = new TrainingSample[samples.Count];
        var masked = new Dictionary<string, int>?[samples.Count];
        var payloads = new byte[]?[samples.Count];
        var encodings = new int[samples.Count];
        var repeat = new bool[samples.Count];
        if (level is not null && recent is not null)
        {
            var seen = new HashSet<string>(samples.Count, StringComparer.Ordinal);
            for (var i = 0; i < samples.Count; i++)
            {
                repeat[i] = !seen.Add(samples[i].ContextHash) || recent.Contains(samples[i].ContextHash);
            }
        }
        void One(int i)
        {
            if (repeat[i])
            {
                clean[i] = samples[i];
                return;
            }
            (clean[i], masked[i], encodings[i], payloads[i]) = PrepareOne(masker, samples[i], codec, level);
        }
        if (samples.Count < ParallelFrom)
        {
            for (var i = 0; i < samples.Count; i++)
            {
                One(i);
            }
        }
        else
        {
            Parallel.For(0, samples.Count, One);
        }
        return new Prepared(clean, masked, payloads, encodings, level is not null);
    }

    public static (TrainingSample Clean, Dictionary<string, int> Masked, int Encoding, byte[] Payload) PrepareOne(
        PersonalDataMasker? masker, TrainingSample sample, PayloadCodec codec, CompressionLevel? level)
    {
        var (clean, masked) = masker is null ? (sample, []) : masker.Mask(sample);
        var json = SamplePayload.Of(clean).Utf8Json();
        var (encoding, payload) = level is { } l ? codec.Compress(json, l) : (PayloadCodec.Plain, json.ToArray());
        return (clean, masked, encoding, payload);
    }
}

/// <summary>
/// A batch as the capture writer hands it to a store: the samples, and (from a store that prepares) their masked and
/// encoded form. A prepared batch can be written again after a failed attempt: writing never changes it.
/// </summary>
internal sealed record PreparedBatch(IReadOnlyList<TrainingSample> Samples, BatchPreparation.Prepared? Prepared = null)
{
    public int Count => Samples.Count;
}
