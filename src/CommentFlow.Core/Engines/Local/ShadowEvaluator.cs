using System.Threading.Channels;
using CommentFlow.Domain;
using CommentFlow.Training;
using Microsoft.Extensions.Hosting;

namespace CommentFlow.Engines.Local;

/// <summary>
/// Shadow mode: whenever Ollama answers, the own model also answers the same ticket, off the request path, and the two
/// are compared (type of the first suggestion, ROUGE-L of the first texts). A live accuracy figure that needs no
/// labelling. Offers beyond the small queue are dropped and counted: the shadow must never slow a request.
/// </summary>
internal sealed class ShadowEvaluator(LocalEngine local, ActivitySeries activity) : BackgroundService
{
    private const int Capacity = 1_000;
    private readonly Channel<(TicketContext Context, EngineResult Ollama)> _queue =
        Channel.CreateBounded<(TicketContext, EngineResult)>(new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private long _compared;
    private long _typeAgreements;
    private long _rougeMicros; // sum of ROUGE-L × 1e6, so it can be added atomically
    private long _skipped;

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
            Interlocked.Read(ref _skipped));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (context, ollama) in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                var own = local.Suggest(context, 1);
                if (!own.Succeeded)
                {
                    Interlocked.Increment(ref _skipped);
                    continue;
                }
                Interlocked.Increment(ref _compared);
                var agreed = own.Suggestions[0].Type == ollama.Suggestions[0].Type;
                if (agreed)
                {
                    Interlocked.Increment(ref _typeAgreements);
                }
                activity.Compared(agreed);
                Interlocked.Add(ref _rougeMicros, (long)(TextMetrics.RougeL(own.Suggestions[0].Text, ollama.Suggestions[0].Text) * 1e6));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

/// <summary>How often the own model agreed with Ollama on the requests Ollama answered.</summary>
internal sealed record ShadowStats(long Compared, double? TypeAgreement, double? TextRougeL, long Skipped);
