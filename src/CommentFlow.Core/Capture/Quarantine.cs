using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CommentFlow.Configuration;
using CommentFlow.Domain;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using Microsoft.Extensions.Options;

namespace CommentFlow.Capture;

/// <summary>
/// Samples the store refused for what they hold (see <see cref="StoreFaults.IsContentFault"/>), kept instead of lost or
/// retried forever: <c>DataDir/quarantine/samples.jsonl</c>, one JSON line each with the store's error, masked as the
/// store masks. <c>commentflow quarantine replay</c> writes them to the store once the cause is fixed.
/// </summary>
internal sealed class Quarantine(IOptions<CommentFlowOptions> root, PersonalDataMasker masker, TimeProvider time)
{
    public const string FileName = "samples.jsonl";
    private readonly SemaphoreSlim _lock = new(1, 1);

    public string Directory { get; } = Path.Combine(root.Value.ResolveDataDir(), "quarantine");
    public string FilePath => Path.Combine(Directory, FileName);

    /// <summary>Appends the sample, flushed to disk before returning: the writer lets go of it only then.</summary>
    public async Task AddAsync(TrainingSample sample, Exception error, CancellationToken cancellationToken)
    {
        var entry = new QuarantinedSample(time.GetUtcNow(), error.GetBaseException().Message, Masked(sample));
        var line = JsonSerializer.SerializeToUtf8Bytes(entry, QuarantineJsonContext.Default.QuarantinedSample);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            await using var file = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.Read, 4096, useAsync: true);
            await file.WriteAsync(line, cancellationToken);
            await file.WriteAsync("\n"u8.ToArray(), cancellationToken);
            await file.FlushAsync(cancellationToken);
            file.Flush(flushToDisk: true);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Masked as the store would have masked it. A sample that cannot even be masked is kept without its texts: never
    /// unmasked on disk, and its hash and fields still say what it was.
    /// </summary>
    private TrainingSample Masked(TrainingSample sample)
    {
        try
        {
            return masker.Mask(sample).Sample;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var redacted = $"<{SampleMasking.Redacted}>";
            return sample with { Context = sample.Context with { Summary = redacted, Description = redacted, Comments = [] }, Suggestions = [] };
        }
    }

    /// <summary>What is quarantined, oldest first; a line cut short by a crash mid-append is skipped.</summary>
    public async Task<IReadOnlyList<QuarantinedSample>> ListAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(FilePath))
        {
            return [];
        }
        var entries = new List<QuarantinedSample>();
        foreach (var line in await File.ReadAllLinesAsync(FilePath, Encoding.UTF8, cancellationToken))
        {
            try
            {
                if (line.Length > 0 && JsonSerializer.Deserialize(line, QuarantineJsonContext.Default.QuarantinedSample) is { } entry)
                {
                    entries.Add(entry);
                }
            }
            catch (JsonException)
            {
            }
        }
        return entries;
    }

    /// <summary>
    /// Writes each quarantined sample to the store; those it still refuses stay quarantined (with the new error). The file
    /// is replaced atomically, so a crash mid-replay leaves it whole (a sample written twice is then a duplicate, not lost).
    /// </summary>
    public async Task<QuarantineReplay> ReplayAsync(ITrainingStore store, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var entries = await ListAsync(cancellationToken);
            var kept = new List<QuarantinedSample>();
            int written = 0, duplicates = 0;
            foreach (var entry in entries)
            {
                try
                {
                    var result = await store.WriteAsync([entry.Sample], null, cancellationToken);
                    (written, duplicates) = (written + result.Written, duplicates + result.Duplicates);
                }
                catch (Exception ex) when (StoreFaults.IsContentFault(ex))
                {
                    kept.Add(entry with { Error = ex.GetBaseException().Message });
                }
            }
            if (entries.Count > 0)
            {
                await AtomicFile.WriteAsync(FilePath, async stream =>
                {
                    foreach (var entry in kept)
                    {
                        await stream.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(entry, QuarantineJsonContext.Default.QuarantinedSample), cancellationToken);
                        await stream.WriteAsync("\n"u8.ToArray(), cancellationToken);
                    }
                    return kept.Count;
                });
            }
            return new QuarantineReplay(written, duplicates, kept.Count);
        }
        finally
        {
            _lock.Release();
        }
    }
}

internal sealed record QuarantinedSample(DateTimeOffset At, string Error, TrainingSample Sample);

internal sealed record QuarantineReplay(int Written, int Duplicates, int StillRefused);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(QuarantinedSample))]
internal sealed partial class QuarantineJsonContext : JsonSerializerContext;
