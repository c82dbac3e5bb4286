using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CommentFlow.Storage;

/// <summary>
/// Archives a SQLite store's settled samples (<see cref="StorageOptions.ArchiveAfter"/>) in whole blocks: once at start,
/// then every interval, a bounded number of blocks a run so a large import is archived over several runs instead of one
/// long burst of zstd 19 beside the requests. Nothing to do for PostgreSQL or with <c>ArchiveBlock</c> 0. A failed run is
/// logged and the next one tries again.
/// </summary>
internal sealed partial class ArchiveService(ITrainingStore store, IOptions<StorageOptions> options, TimeProvider time, ILogger<ArchiveService> logger)
    : BackgroundService
{
    /// <summary>Blocks a run archives at most: ~16 s of one core at zstd 19 (~1 ms a sample), ~16,000 samples every interval.</summary>
    internal const int BlocksPerRun = 16;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var storage = options.Value;
        if (store is not SqliteTrainingStore sqlite || storage.ArchiveBlock == 0)
        {
            return;
        }
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(storage.ArchiveIntervalMinutes), time);
        try
        {
            do
            {
                await RunOnceAsync(sqlite, storage, stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    private async Task RunOnceAsync(SqliteTrainingStore sqlite, StorageOptions storage, CancellationToken stoppingToken)
    {
        try
        {
            var started = time.GetTimestamp();
            var archived = await sqlite.ArchiveAsync(time.GetUtcNow() - storage.ArchiveAfter, storage.ArchiveBlock, partial: false, stoppingToken, BlocksPerRun);
            if (archived > 0)
            {
                LogArchived(logger, archived, time.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            LogArchiveFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Archive: {Samples} settled samples packed into blocks in {ElapsedMs:0} ms")]
    private static partial void LogArchived(ILogger logger, int samples, double elapsedMs);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Error, Message = "Archiving failed; the next interval tries again")]
    private static partial void LogArchiveFailed(ILogger logger, Exception exception);
}
