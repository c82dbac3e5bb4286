using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CommentFlow.Domain;

namespace CommentFlow.Storage;

/// <summary>
/// <c>commentflow migrate</c>: copies a SQLite store into another store (PostgreSQL, so several instances can share it).
/// A copy of the data, not the schema migration (<see cref="StoreMigrator"/> applies the SQL files of <c>Migrations/</c>).
/// <list type="bullet">
/// <item>Samples go in source row order, a batch per transaction, through the destination's own write path with no
/// masker (they were masked when first stored): the payload text is the same, the stats are counted as the rows land,
/// and a context hash already there is skipped by the unique constraint.</item>
/// <item>The progress marker (<c>store_meta</c> key <c>migration:&lt;source id&gt;</c>) records the last source row
/// copied, after each batch commits. Killed between a commit and the marker, a re-run sends that batch again and the
/// unique constraint skips it: resuming never duplicates.</item>
/// <item>The source's newest zstd payload dictionary is copied first, under its id, when the destination has none.</item>
/// <item>Feedback rows are upserted as they are, a batch per transaction (timestamps kept, the same agent's feedback on a
/// suggestion replaced unless the destination's is newer), so copying them again changes nothing. The source's masked counts are added once, with the marker, in one transaction.</item>
/// <item>A destination holding samples that did not come from this source is refused unless merging is asked for.</item>
/// </list>
/// </summary>
internal sealed class StoreCopy(SqliteTrainingStore source, ITrainingStore destination, TimeProvider time)
{
    public const int DefaultBatchSize = 1_000;
    public const string MarkerPrefix = "migration:";

    /// <summary>Differences listed in a failed verification's message; the counts say how many there were.</summary>
    private const int DifferencesShown = 5;

    public int BatchSize { get; init; } = DefaultBatchSize;

    /// <summary>Allow a destination that already holds other samples; verification then checks that every source sample and feedback row is there.</summary>
    public bool Merge { get; init; }

    public async Task<StoreCopyResult> RunAsync(IProgress<StoreCopyProgress>? progress, CancellationToken cancellationToken)
    {
        await source.MigrateAsync(cancellationToken);
        await destination.MigrateAsync(cancellationToken);

        var sourceId = await SourceIdAsync(cancellationToken);
        var key = MarkerPrefix + sourceId;
        var marker = await ReadMarkerAsync(key, cancellationToken);
        var resumed = marker is not null;
        if (marker is null)
        {
            var held = await destination.GetStatsAsync(cancellationToken);
            var empty = held.TotalSamples == 0 && held.Feedback.Total == 0;
            if (!empty && !Merge)
            {
                throw new StoreCopyRefusedException(
                    $"The destination already holds {held.TotalSamples:N0} samples and {held.Feedback.Total:N0} feedback rows that did not come from this source. " +
                    "Migrate into an empty database, or pass --merge to add this store's samples to them (verification then checks that every source sample is present).");
            }
            marker = new StoreCopyMarker { SourcePath = source.DataSource, EmptyAtStart = empty, StartedAt = time.GetUtcNow() };
            await WriteMarkerAsync(key, marker, null, cancellationToken);
        }

        // The source's newest payload dictionary goes first, so the copied payloads are compressed with it from the first
        // batch instead of waiting for the destination to hold enough to train its own (a destination with one keeps it).
        if (source.Codec.Current is { } dictionary && destination is DbTrainingStore store)
        {
            await store.AdoptDictionaryAsync(dictionary, cancellationToken);
        }

        // Samples, a batch per transaction from the last source row the marker names.
        var total = await source.CountAfterAsync(SqliteTrainingStore.BeforeFirst, cancellationToken);
        var done = total - await source.CountAfterAsync(marker.LastId, cancellationToken);
        int written = 0, duplicates = 0;
        progress?.Report(new StoreCopyProgress(StoreCopyPhase.Samples, done, total));
        while (true)
        {
            var batch = await source.ReadBatchAfterAsync(marker.LastId, BatchSize, cancellationToken);
            if (batch.Count == 0)
            {
                break;
            }
            var result = await destination.WriteAsync([.. batch.Select(b => b.Sample)], null, cancellationToken);
            (written, duplicates) = (written + result.Written, duplicates + result.Duplicates);
            marker = marker with { LastId = batch[^1].Id };
            await WriteMarkerAsync(key, marker, null, CancellationToken.None); // the batch is committed: record it even when cancelled now
            done += batch.Count;
            progress?.Report(new StoreCopyProgress(StoreCopyPhase.Samples, done, total));
            cancellationToken.ThrowIfCancellationRequested();
        }

        // Feedback is small beside the samples, and copying a row again changes nothing: all of it is copied on every run.
        var feedback = await source.ReadFeedbackRowsAsync(cancellationToken);
        var copied = 0;
        foreach (var chunk in feedback.Chunk(BatchSize))
        {
            await destination.CopyFeedbackAsync(chunk, cancellationToken);
            copied += chunk.Length;
            progress?.Report(new StoreCopyProgress(StoreCopyPhase.Feedback, copied, feedback.Count));
        }

        // Jira comment ids (no text) go too, so deliveries and the poller stay deduplicated after the move; so does the
        // poller's cursor, unless a server on the destination has moved it already.
        foreach (var reply in await source.ReadAgentRepliesAsync(cancellationToken))
        {
            await destination.RecordAgentReplyAsync(reply, cancellationToken);
        }
        if (await source.ReadMetaAsync(Jira.JiraPoller.CursorKey, cancellationToken) is { } cursor
            && await destination.ReadMetaAsync(Jira.JiraPoller.CursorKey, cancellationToken) is null)
        {
            await destination.WriteMetaAsync(Jira.JiraPoller.CursorKey, cursor, new Dictionary<string, long>(), cancellationToken);
        }

        var sourceStats = await source.GetStatsAsync(cancellationToken);
        if (!marker.MaskedCopied)
        {
            marker = marker with { MaskedCopied = true };
            await WriteMarkerAsync(key, marker, sourceStats.Masked, cancellationToken);
        }

        // Equality is checked until the first verified run: after it, servers may write to the destination. --merge
        // asks for presence only, for servers that started writing before the copy was verified.
        progress?.Report(new StoreCopyProgress(StoreCopyPhase.Verifying, 0, 1));
        var verification = await VerifyAsync(marker.EmptyAtStart && marker.VerifiedAt is null && !Merge, feedback, sourceStats, cancellationToken);
        if (verification.Verified && marker.VerifiedAt is null)
        {
            await WriteMarkerAsync(key, marker with { VerifiedAt = time.GetUtcNow() }, null, cancellationToken);
        }
        progress?.Report(new StoreCopyProgress(StoreCopyPhase.Verifying, 1, 1));
        return verification with { SourceId = sourceId, Resumed = resumed, Written = written, Duplicates = duplicates, FeedbackCopied = feedback.Count };
    }

    /// <summary>
    /// Every source context hash and feedback row (context hash, position, agent) must be in the destination. When the
    /// destination was empty before, it must hold nothing else and its stats must equal the source's (the store's
    /// <c>created</c> and <c>last_modified</c> are its own).
    /// </summary>
    private async Task<StoreCopyResult> VerifyAsync(bool exact, IReadOnlyList<SuggestionFeedback> sourceFeedback, StoreStats sourceStats, CancellationToken cancellationToken)
    {
        var sourceHashes = await ReadHashesAsync(source, cancellationToken);
        var destinationHashes = await ReadHashesAsync(destination, cancellationToken);
        var missing = sourceHashes.Where(h => !destinationHashes.Contains(h)).Order(StringComparer.Ordinal).ToList();
        var extra = destinationHashes.Count - (sourceHashes.Count - missing.Count);

        static string FeedbackKey(SuggestionFeedback f) => $"{f.ContextHash}:{f.Position.ToString(CultureInfo.InvariantCulture)}:{f.Agent}";
        var destinationFeedback = await destination.ReadFeedbackRowsAsync(cancellationToken);
        var destinationKeys = destinationFeedback.Select(FeedbackKey).ToHashSet(StringComparer.Ordinal);
        var missingFeedback = sourceFeedback.Count(f => !destinationKeys.Contains(FeedbackKey(f)));

        var statsDifferences = exact
            ? StatsLines(sourceStats).Except(StatsLines(await destination.GetStatsAsync(cancellationToken)), StringComparer.Ordinal).ToList()
            : [];

        var problems = new List<string>();
        if (missing.Count > 0)
        {
            problems.Add($"{missing.Count:N0} source samples are missing from the destination (e.g. context hash {string.Join(", ", missing.Take(DifferencesShown))})");
        }
        if (missingFeedback > 0)
        {
            problems.Add($"{missingFeedback:N0} source feedback rows are missing from the destination");
        }
        if (exact && extra > 0)
        {
            problems.Add($"the destination, empty before the migration, holds {extra:N0} samples the source does not (if servers write to it already, run again with --merge to check only that every source sample is there)");
        }
        if (exact && destinationFeedback.Count != sourceFeedback.Count)
        {
            problems.Add($"the destination holds {destinationFeedback.Count:N0} feedback rows, the source {sourceFeedback.Count:N0}");
        }
        if (statsDifferences.Count > 0)
        {
            problems.Add($"{statsDifferences.Count} stats differ from the source's (source: {string.Join("; ", statsDifferences.Take(DifferencesShown))})");
        }

        return new StoreCopyResult
        {
            Exact = exact,
            SourceSamples = sourceHashes.Count,
            DestinationSamples = destinationHashes.Count,
            SourceFeedback = sourceFeedback.Count,
            DestinationFeedback = destinationFeedback.Count,
            SourceChecksum = Checksum(sourceHashes),
            DestinationChecksum = Checksum(destinationHashes),
            MissingSamples = missing.Count,
            MissingFeedback = missingFeedback,
            Problems = problems,
        };
    }

    private static async Task<HashSet<string>> ReadHashesAsync(ITrainingStore store, CancellationToken cancellationToken)
    {
        var hashes = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var hash in store.ReadContextHashesAsync(cancellationToken))
        {
            hashes.Add(hash);
        }
        return hashes;
    }

    /// <summary>SHA-256 over the sorted context hashes, one a line: equal sets of samples, equal checksums, whatever the row order.</summary>
    public static string Checksum(IEnumerable<string> contextHashes)
    {
        var text = string.Join('\n', contextHashes.Order(StringComparer.Ordinal));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    /// <summary>The stats as comparable lines: totals, per-value counts, masked counts and feedback, not the store's own dates.</summary>
    public static IEnumerable<string> StatsLines(StoreStats stats)
    {
        yield return $"samples={stats.TotalSamples}";
        yield return $"suggestions={stats.TotalSuggestions}";
        yield return $"comments={stats.TotalComments}";
        foreach (var (name, counts) in new[]
                 {
                     ("issue_type", stats.ByIssueType), ("status", stats.ByStatus), ("priority", stats.ByPriority), ("engine", stats.ByEngine),
                     ("model", stats.ByModel), ("language", stats.ByLanguage), ("masked", stats.Masked), ("feedback", stats.Feedback.ByAction),
                 })
        {
            foreach (var (value, n) in counts.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                yield return $"{name}[{value}]={n}";
            }
        }
        foreach (var (name, counts) in new[] { ("feedback_engine", stats.Feedback.ByEngine), ("feedback_type", stats.Feedback.ByType), ("feedback_model", stats.Feedback.ByModel) })
        {
            foreach (var (value, c) in counts.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                yield return $"{name}[{value}]={c.Shown}/{c.Accepted}/{c.Edited}/{c.Dismissed}";
            }
        }
    }

    /// <summary>A store's identity across runs and file moves: its creation time, which never changes.</summary>
    private async Task<string> SourceIdAsync(CancellationToken cancellationToken)
    {
        var created = await source.ReadMetaAsync("created", cancellationToken) ?? throw new InvalidDataException($"{source.DataSource} is not a CommentFlow store.");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"sqlite:{created}")))[..16];
    }

    private async Task<StoreCopyMarker?> ReadMarkerAsync(string key, CancellationToken cancellationToken) =>
        await destination.ReadMetaAsync(key, cancellationToken) is { } json
            ? JsonSerializer.Deserialize(json, StoreCopyJsonContext.Default.StoreCopyMarker)
            : null;

    private Task WriteMarkerAsync(string key, StoreCopyMarker marker, IReadOnlyDictionary<string, long>? addMasked, CancellationToken cancellationToken) =>
        destination.WriteMetaAsync(key, JsonSerializer.Serialize(marker, StoreCopyJsonContext.Default.StoreCopyMarker),
            addMasked ?? new Dictionary<string, long>(), cancellationToken);
}

/// <summary>What a migration has done so far, kept in the destination's <c>store_meta</c>.</summary>
internal sealed record StoreCopyMarker
{
    public required string SourcePath { get; init; }

    /// <summary>The cursor of the last source sample copied and committed (see <see cref="SqliteTrainingStore.ReadBatchAfterAsync"/>).</summary>
    public long LastId { get; init; } = SqliteTrainingStore.BeforeFirst;

    /// <summary>The destination held nothing when the migration started: it must end equal to the source.</summary>
    public bool EmptyAtStart { get; init; }

    /// <summary>The source's masked counts were added to the destination's (once: they are not derived from the rows).</summary>
    public bool MaskedCopied { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? VerifiedAt { get; init; }
}

internal enum StoreCopyPhase
{
    Samples,
    Feedback,
    Verifying,
}

internal readonly record struct StoreCopyProgress(StoreCopyPhase Phase, long Done, long Total);

internal sealed record StoreCopyResult
{
    public string SourceId { get; init; } = "";

    /// <summary>A marker of an earlier run was found and the copy continued from it.</summary>
    public bool Resumed { get; init; }

    /// <summary>
    /// Checked for equality with the source: the destination was empty at the start and no earlier run was verified
    /// (after that, servers may have written to it). Otherwise every source sample and feedback row must be in it.
    /// </summary>
    public bool Exact { get; init; }
    public int Written { get; init; }
    public int Duplicates { get; init; }
    public int FeedbackCopied { get; init; }
    public long SourceSamples { get; init; }
    public long DestinationSamples { get; init; }
    public long SourceFeedback { get; init; }
    public long DestinationFeedback { get; init; }
    public required string SourceChecksum { get; init; }
    public required string DestinationChecksum { get; init; }
    public int MissingSamples { get; init; }
    public int MissingFeedback { get; init; }
    public required IReadOnlyList<string> Problems { get; init; }
    public bool Verified => Problems.Count == 0;
}

/// <summary>The destination holds other data and merging was not asked for.</summary>
internal sealed class StoreCopyRefusedException(string message) : Exception(message);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StoreCopyMarker))]
internal sealed partial class StoreCopyJsonContext : JsonSerializerContext;
