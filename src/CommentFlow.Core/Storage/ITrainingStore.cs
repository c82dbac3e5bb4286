using System.Data.Common;
using Dapper;
using CommentFlow.Domain;

namespace CommentFlow.Storage;

/// <summary>
/// The training store. One implementation per database; every implementation must pass the same store tests:
/// duplicates rejected by the database's unique constraint, a batch written in one transaction,
/// aggregates updated in that same transaction so stats never scan samples.
/// </summary>
internal interface ITrainingStore
{
    string Provider { get; }

    /// <summary>Creates or migrates the schema. Safe to call from several processes at once.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Writes the batch in one transaction; samples whose context hash is already stored are skipped and counted.</summary>
    Task<WriteResult> WriteAsync(IReadOnlyList<TrainingSample> samples, IProgress<int>? progress, CancellationToken cancellationToken);

    /// <summary>
    /// The CPU half of a write (masking, payload encoding), done before any lock, so the capture writer can prepare the
    /// next batch while the current one is written. A store without such a half returns the samples as they are.
    /// </summary>
    PreparedBatch Prepare(IReadOnlyList<TrainingSample> samples) => new(samples);

    /// <summary>Writes a batch <see cref="Prepare"/> returned, exactly as <c>WriteAsync(samples)</c> would; it can be called again after a failure.</summary>
    Task<WriteResult> WriteAsync(PreparedBatch batch, IProgress<int>? progress, CancellationToken cancellationToken) =>
        WriteAsync(batch.Samples, progress, cancellationToken);

    Task<StoreStats> GetStatsAsync(CancellationToken cancellationToken);

    /// <summary>Every sample, oldest first, streamed: memory stays flat however large the store.</summary>
    IAsyncEnumerable<TrainingSample> ReadAllAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Every sample as <paramref name="map"/> makes it, oldest first. The stores run the map on every core at once, on
    /// samples not yet decoded (an export can write a row without making the sample's strings), so it must be
    /// thread-safe.
    /// </summary>
    IAsyncEnumerable<T> ReadAllAsync<T>(Func<StoredSample, T> map, CancellationToken cancellationToken) =>
        ReadAllAsync(cancellationToken).Select(s => map(StoredSample.Of(s)));

    Task PingAsync(CancellationToken cancellationToken);

    /// <summary>The stored sample with this context hash, without its feedback; null when it is not (yet) stored.</summary>
    Task<TrainingSample?> FindSampleAsync(string contextHash, CancellationToken cancellationToken);

    /// <summary>
    /// The newest samples by creation time (imported history keeps its old times), a ticket's or, with a null key, any:
    /// the legacy save call names a text, and a ticket key its front end did not send with the suggestions.
    /// </summary>
    Task<IReadOnlyList<TrainingSample>> FindRecentAsync(string? ticketKey, int limit, CancellationToken cancellationToken);

    /// <summary>Stores feedback (its final text masked), replacing the same agent's earlier feedback on that suggestion; true when it replaced one.</summary>
    Task<bool> WriteFeedbackAsync(SuggestionFeedback feedback, CancellationToken cancellationToken);

    /// <summary>
    /// Erasure: deletes every sample of the ticket, and the feedback given on it (by ticket key and by the samples' context
    /// hashes), in one transaction with the stats adjusted; then leaves no copy of the deleted bytes in the store's files.
    /// </summary>
    Task<ErasureResult> ForgetTicketAsync(string ticketKey, CancellationToken cancellationToken);

    /// <summary>
    /// One page of samples, newest first (by creation time), each with its feedback, for browsing. <paramref name="query"/>
    /// matches a ticket key anywhere (case-insensitive) or the start of a context hash; null or empty lists everything.
    /// </summary>
    Task<SamplePage> ListSamplesAsync(int page, int size, string? query, CancellationToken cancellationToken);

    /// <summary>Samples stored per UTC day of their creation, oldest day first.</summary>
    Task<IReadOnlyList<DailyCount>> CountSamplesPerDayAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Retention: deletes the samples created before <paramref name="cutoff"/> and their feedback (and feedback older than
    /// the cutoff) in bounded transactions, so a large purge never holds the write lock for long.
    /// </summary>
    Task<ErasureResult> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);

    // What `commentflow migrate` needs beyond the above: its progress marker, the masked counts it carries over, and
    // cheap reads to verify the copy with.

    /// <summary>A value of <c>store_meta</c>; null when absent.</summary>
    Task<string?> ReadMetaAsync(string key, CancellationToken cancellationToken);

    /// <summary>Sets a <c>store_meta</c> value and adds <paramref name="addMasked"/> to the masked counts, in one transaction.</summary>
    Task WriteMetaAsync(string key, string value, IReadOnlyDictionary<string, long> addMasked, CancellationToken cancellationToken);

    /// <summary>Every stored context hash, in storage order, without decoding payloads.</summary>
    IAsyncEnumerable<string> ReadContextHashesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores feedback rows as they are (already masked, timestamps kept) in one transaction; a row replaces the same
    /// agent's feedback on that suggestion unless that one is newer, so copying again never undoes later feedback.
    /// </summary>
    Task CopyFeedbackAsync(IReadOnlyList<SuggestionFeedback> feedback, CancellationToken cancellationToken);

    /// <summary>Every feedback row, in the order it was first given.</summary>
    Task<IReadOnlyList<SuggestionFeedback>> ReadFeedbackRowsAsync(CancellationToken cancellationToken);

    // Jira comments taken in (webhook, poller, posting back): the dedup key of deliveries, and which sample each reply answers.

    /// <summary>Whether this Jira comment was taken in already.</summary>
    Task<bool> HasAgentReplyAsync(string commentId, CancellationToken cancellationToken);

    /// <summary>Records the comment unless its id is recorded already; true when this call recorded it.</summary>
    Task<bool> RecordAgentReplyAsync(AgentReply reply, CancellationToken cancellationToken);

    /// <summary>Every Jira comment taken in, oldest first (rows without text: one per comment).</summary>
    Task<IReadOnlyList<AgentReply>> ReadAgentRepliesAsync(CancellationToken cancellationToken);

    /// <summary>Jira comments taken in, by outcome and internal or public.</summary>
    Task<IReadOnlyList<AgentReplyCount>> CountAgentRepliesAsync(CancellationToken cancellationToken);
}

/// <summary>Feedback by action, and the acceptance rate's parts by engine, suggestion type and model version.</summary>
internal sealed record FeedbackStats(
    IReadOnlyDictionary<string, long> ByAction,
    IReadOnlyDictionary<string, AcceptanceCounts> ByEngine,
    IReadOnlyDictionary<string, AcceptanceCounts> ByType,
    IReadOnlyDictionary<string, AcceptanceCounts> ByModel)
{
    public long Total => ByAction.Values.Sum();

    /// <summary>
    /// Reads them with SQL both stores run unchanged: the suggestions shown from the running totals, the feedback from a
    /// GROUP BY over the (small) feedback table.
    /// </summary>
    public static async Task<FeedbackStats> ReadAsync(DbConnection connection, DbTransaction? tx, CancellationToken cancellationToken)
    {
        var shown = (await connection.QueryAsync<(string Dimension, string Value, long Count)>(new CommandDefinition(
            $"SELECT * FROM ({StatsDelta.CountsSql}) AS counts WHERE dimension IN (@e, @t, @m)",
            new { e = StatsDelta.ShownEngine, t = StatsDelta.ShownType, m = StatsDelta.ShownModel }, tx, cancellationToken: cancellationToken))).ToList();
        var given = (await connection.QueryAsync<(string Engine, string Type, string Model, string Action, long Count)>(new CommandDefinition(
            "SELECT engine, suggestion_type, model, action, COUNT(*) FROM feedback GROUP BY engine, suggestion_type, model, action",
            transaction: tx, cancellationToken: cancellationToken))).ToList();

        IReadOnlyDictionary<string, AcceptanceCounts> By(string dimension, Func<(string Engine, string Type, string Model, string Action, long Count), string> key)
        {
            var values = shown.Where(s => s.Dimension == dimension).Select(s => s.Value).Concat(given.Select(key)).Distinct();
            return values.Order(StringComparer.Ordinal).ToDictionary(v => v, v =>
            {
                var rows = given.Where(g => key(g) == v).ToList();
                long Of(string action) => rows.Where(r => r.Action == action).Sum(r => r.Count);
                return new AcceptanceCounts(shown.FirstOrDefault(s => s.Dimension == dimension && s.Value == v).Count,
                    Of(FeedbackActions.Accepted), Of(FeedbackActions.Edited), Of(FeedbackActions.Dismissed));
            });
        }

        return new FeedbackStats(
            FeedbackActions.All.ToDictionary(a => a, a => given.Where(g => g.Action == a).Sum(g => g.Count)),
            By(StatsDelta.ShownEngine, g => g.Engine),
            By(StatsDelta.ShownType, g => g.Type),
            By(StatsDelta.ShownModel, g => g.Model));
    }
}

/// <summary>
/// Suggestions shown (stored) and what agents did with them. The rate is (accepted + edited) / shown; feedback from
/// several agents on one suggestion counts once per agent.
/// </summary>
internal sealed record AcceptanceCounts(long Shown, long Accepted, long Edited, long Dismissed)
{
    public double AcceptanceRate => Shown == 0 ? 0 : Math.Round((double)(Accepted + Edited) / Shown, 4);
}

/// <param name="Total">Samples matching the query, over all pages.</param>
internal sealed record SamplePage(long Total, IReadOnlyList<TrainingSample> Samples);

/// <param name="Day">UTC date, <c>yyyy-MM-dd</c>.</param>
internal sealed record DailyCount(string Day, long Samples);

/// <summary>The search of <see cref="ITrainingStore.ListSamplesAsync"/> as LIKE patterns, the same in both stores (escape character <c>\</c>).</summary>
internal static class SampleSearch
{
    public static (string Anywhere, string Prefix) Patterns(string query)
    {
        var escaped = query.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal);
        return ($"%{escaped}%", $"{escaped.ToLowerInvariant()}%");
    }
}

internal readonly record struct WriteResult(int Written, int Duplicates);

/// <param name="Scrubbed">
/// The files were rewritten so no deleted byte is left in them; false when a long-running reader (an export) kept the
/// final checkpoint from completing in time: the bytes go at the next erasure or retention run.
/// </param>
internal sealed record ErasureResult(int Samples, int Feedback, bool Scrubbed)
{
    /// <summary>The erased samples' context hashes, for a ticket erasure (to evict them from caches); empty for retention.</summary>
    public IReadOnlyList<string> ContextHashes { get; init; } = [];
}

internal sealed record StoreStats
{
    public required long TotalSamples { get; init; }
    public required long TotalSuggestions { get; init; }
    public required long TotalComments { get; init; }
    public required bool Compressed { get; init; }

    /// <summary>Of the samples, those in the archive's blocks (SQLite archives settled samples; 0 on PostgreSQL).</summary>
    public required long ArchivedSamples { get; init; }
    public required DateTimeOffset Created { get; init; }
    public required DateTimeOffset LastModified { get; init; }
    public required IReadOnlyDictionary<string, long> ByIssueType { get; init; }
    public required IReadOnlyDictionary<string, long> ByStatus { get; init; }
    public required IReadOnlyDictionary<string, long> ByPriority { get; init; }
    public required IReadOnlyDictionary<string, long> ByEngine { get; init; }
    public required IReadOnlyDictionary<string, long> ByModel { get; init; }

    /// <summary>Only samples whose language is known (imports) are counted here.</summary>
    public required IReadOnlyDictionary<string, long> ByLanguage { get; init; }

    /// <summary>Personal data replaced before storing, by kind.</summary>
    public required IReadOnlyDictionary<string, long> Masked { get; init; }

    public required FeedbackStats Feedback { get; init; }

    public double AvgSuggestionsPerSample => TotalSamples == 0 ? 0 : Math.Round((double)TotalSuggestions / TotalSamples, 2);
    public double AvgCommentsPerSample => TotalSamples == 0 ? 0 : Math.Round((double)TotalComments / TotalSamples, 2);
}
