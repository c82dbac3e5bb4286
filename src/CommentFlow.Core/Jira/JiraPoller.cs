using System.Globalization;
using CommentFlow.Domain;
using CommentFlow.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CommentFlow.Jira;

/// <summary>
/// For a Jira that cannot reach the service: every <c>Jira:PollSeconds</c> (0: off) asks the enhanced search for tickets
/// updated since the stored cursor (within <c>Jira:Jql</c>), reads their comments and hands the new ones to the
/// <see cref="AgentReplyRecorder"/>. The cursor (the poll's start, on this service's clock) is kept in the store's
/// <c>store_meta</c> and moves only after a pass that read every ticket, so a restart or a failed pass reads again what it
/// might have missed; comment ids make reading twice harmless. A failing Jira or store is logged and tried at the next tick.
/// </summary>
internal sealed partial class JiraPoller(JiraClient jira, ITrainingStore store, AgentReplyRecorder recorder, JiraCounters counters,
    IOptions<JiraOptions> options, TimeProvider time, ILogger<JiraPoller> logger) : BackgroundService
{
    public const string CursorKey = "jira_poll_cursor";

    /// <summary>Read this much before the cursor: Jira's clock and this one may differ, and JQL counts whole minutes.</summary>
    public static readonly TimeSpan Overlap = TimeSpan.FromMinutes(2);

    private const int PageSize = 50;
    private const int CommentPage = 100;

    public static readonly IReadOnlyList<string> Fields = ["summary", "description", "issuetype", "status", "priority", "reporter", "updated"];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (o.PollSeconds <= 0 || !o.IsConfigured)
        {
            return;
        }
        var interval = TimeSpan.FromSeconds(o.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PollOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Jira down, a token revoked, the store failing: the service goes on, the next tick tries again from the same cursor.
                counters.PollFailed();
                LogPollFailed(logger, ex.GetType().Name, ex is JiraException ? ex.Message : "see the exception", ex is JiraException ? null : ex);
            }
            try
            {
                await Task.Delay(interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One pass; returns how many comments were new.</summary>
    public async Task<int> PollOnceAsync(CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var cursor = await ReadCursorAsync(store, cancellationToken) ?? started - TimeSpan.FromSeconds(options.Value.PollSeconds);
        var since = cursor - Overlap;
        // A relative date: JQL reads absolute ones in the Jira user's time zone, which the service does not know.
        var minutes = (long)Math.Ceiling((started - since).TotalMinutes);
        var filter = string.IsNullOrWhiteSpace(options.Value.Jql) ? "" : $"({options.Value.Jql}) AND ";
        var jql = $"{filter}updated >= \"-{minutes.ToString(CultureInfo.InvariantCulture)}m\" ORDER BY updated ASC";

        var added = 0;
        await foreach (var issue in jira.SearchAllAsync(jql, Fields, PageSize, cancellationToken))
        {
            var comments = await ReadCommentsAsync(issue.Key, cancellationToken);
            for (var i = 0; i < comments.Count; i++)
            {
                var comment = comments[i];
                if (comment.Created is { } created && created < since)
                {
                    continue;
                }
                var before = comments.Take(i).ToList();
                var recorded = await recorder.RecordAsync(issue, comment, AgentReplySources.Poll, _ => Task.FromResult<IReadOnlyList<JiraComment>>(before), cancellationToken);
                if (!recorded.Duplicate)
                {
                    added++;
                    counters.Polled();
                }
            }
        }
        await store.WriteMetaAsync(CursorKey, started.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), new Dictionary<string, long>(), cancellationToken);
        counters.Poll();
        LogPolled(logger, added);
        return added;
    }

    public static async Task<DateTimeOffset?> ReadCursorAsync(ITrainingStore store, CancellationToken cancellationToken) =>
        await store.ReadMetaAsync(CursorKey, cancellationToken) is { } value
            && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at) ? at : null;

    /// <summary>Every comment of the ticket, oldest first, page after page.</summary>
    private async Task<List<JiraComment>> ReadCommentsAsync(string key, CancellationToken cancellationToken)
    {
        var comments = new List<JiraComment>();
        while (true)
        {
            var page = await jira.GetCommentsAsync(key, comments.Count, CommentPage, cancellationToken);
            comments.AddRange(page.Comments);
            if (page.Comments.Count == 0 || comments.Count >= page.Total)
            {
                return comments;
            }
        }
    }

    [LoggerMessage(EventId = 9104, Level = LogLevel.Debug, Message = "Jira poll: {Added} new comments")]
    private static partial void LogPolled(ILogger logger, int added);

    [LoggerMessage(EventId = 9105, Level = LogLevel.Warning, Message = "Jira poll failed ({Error}): {Message}; trying again at the next tick from the same cursor")]
    private static partial void LogPollFailed(ILogger logger, string error, string message, Exception? exception);
}
