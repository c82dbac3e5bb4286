using System.Threading.Channels;
using CommentFlow.Domain;
using CommentFlow.Training;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CommentFlow.Engines.Local;

/// <summary>
/// Shadow mode: whenever Ollama answers, the own model also answers the same ticket, off the request path, and the two
/// are compared (type of the first suggestion, ROUGE-L of the first texts). A live accuracy figure that needs no
/// labelling. Offers beyond the small queue are dropped and counted: the shadow must never slow a request, and a
/// comparison that fails is logged and counted: it must never end the loop (nor, escaping it, stop the host).
/// </summary>
internal sealed partial class ShadowEvaluator(LocalEngine local, ActivitySeries activity, ILogger<ShadowEvaluator> logger) : BackgroundService
{
    private const int Capacity = 1_000;
    private readonly Channel<(TicketContext Context, EngineResult Ollama)> _queue =
        Channel.CreateBounded<(TicketContext, EngineResult)>(new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private long _compared;
    private long _typeAgreements;
    private long _rougeMicros; // sum of ROUGE-L × 1e6, so it can be added atomically
    private long _skipped;
    private long _failed;

    public void Offer(TicketContext context, EngineResult ollama)
    {
        if (!_queue.Writer.TryWrite((context, ollama)))
        {
            Interlocked.Increment(ref _skipped);
        }
    }

    public ShadowStats Stats()
    {
        var compared = Interlocked.Read(ref _compared);
        return new ShadowStats(compared,
            compared == 0 ? null : Math.Round((double)Interlocked.Read(ref _typeAgreements) / compared, 4),
            compared == 0 ? null : Math.Round(Interlocked.Read(ref _rougeMicros) / 1e6 / compared, 4),
            Interlocked.Read(ref _skipped),
            Interlocked.Read(ref _failed));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (context, ollama) in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    Compare(context, ollama);
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref _failed);
                    LogCompareFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Compare(TicketContext context, EngineResult ollama)
    {
        var own = local.Suggest(context, 1);
        if (!own.Succeeded)
        {
            Interlocked.Increment(ref _skipped);
            return;
        }
        var agreed = own.Suggestions[0].Type == ollama.Suggestions[0].Type;
        var rougeL = TextMetrics.RougeL(own.Suggestions[0].Text, ollama.Suggestions[0].Text);
        Interlocked.Increment(ref _compared);
        if (agreed)
        {
            Interlocked.Increment(ref _typeAgreements);
        }
        activity.Compared(agreed);
        Interlocked.Add(ref _rougeMicros, (long)(rougeL * 1e6));
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Error, Message = "A shadow comparison failed; the next ones go on")]
    private static partial void LogCompareFailed(ILogger logger, Exception exception);
}

/// <summary>How often the own model agreed with Ollama on the requests Ollama answered.</summary>
/// <param name="Failed">Comparisons that threw (logged): a shadow that fails must show it.</param>
internal sealed record ShadowStats(long Compared, double? TypeAgreement, double? TextRougeL, long Skipped, long Failed);
