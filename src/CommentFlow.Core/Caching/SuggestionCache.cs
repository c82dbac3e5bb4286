using CommentFlow.Domain;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CommentFlow.Caching;

/// <summary>Answers already given, keyed by context hash, so a repeated request costs no engine call.</summary>
internal sealed class SuggestionCache : IDisposable
{
    private readonly MemoryCache _cache;
    private readonly CacheOptions _options;

    public SuggestionCache(IOptions<CacheOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _cache = new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = _options.MaxEntries,
            TrackStatistics = true,
            Clock = new TimeProviderClock(time),
        });
    }

    public bool Enabled => _options.TtlSeconds > 0;

    public bool TryGet(string contextHash, int maxSuggestions, out CachedAnswer answer)
    {
        if (Enabled && _cache.TryGetValue(contextHash, out CachedAnswer? found) && found!.CoversRequest(maxSuggestions))
        {
            answer = found;
            return true;
        }
        answer = null!;
        return false;
    }

    /// <summary>The answer given for this context, if still cached, whatever number of suggestions was asked for.</summary>
    public CachedAnswer? Find(string contextHash) => Enabled && _cache.TryGetValue(contextHash, out CachedAnswer? found) ? found : null;

    public void Set(string contextHash, CachedAnswer answer)
    {
        if (Enabled)
        {
            _cache.Set(contextHash, answer, new MemoryCacheEntryOptions
            {
                Size = 1,
                AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(_options.TtlSeconds),
            });
        }
    }

    /// <summary>Forgets the answer for one context (an erased ticket's). No lookup first: that would count as a hit or a miss.</summary>
    public void Remove(string contextHash) => _cache.Remove(contextHash);

    public CacheStatistics Statistics()
    {
        var s = _cache.GetCurrentStatistics();
        return new CacheStatistics(s?.CurrentEntryCount ?? 0, s?.TotalHits ?? 0, s?.TotalMisses ?? 0, _options.TtlSeconds, _options.MaxEntries);
    }

    public int Clear()
    {
        var count = _cache.Count;
        _cache.Clear();
        return count;
    }

    public void Dispose() => _cache.Dispose();

#pragma warning disable CS0618 // ISystemClock is the only clock MemoryCache takes; TimeProvider keeps tests on a fake clock.
    private sealed class TimeProviderClock(TimeProvider time) : Microsoft.Extensions.Internal.ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
#pragma warning restore CS0618
}

/// <summary>What the cache keeps: the engine's answer and how many suggestions were asked for.</summary>
internal sealed record CachedAnswer(IReadOnlyList<Suggestion> Suggestions, string Engine, string Model, int Requested, string? TicketKey = null)
{
    /// <summary>A cached answer serves a request for as many suggestions or fewer, or when the engine had no more to give.</summary>
    public bool CoversRequest(int maxSuggestions) => maxSuggestions <= Requested || Suggestions.Count < Requested;
}

internal sealed record CacheStatistics(long Entries, long Hits, long Misses, int TtlSeconds, int MaxEntries)
{
    public double HitRate => Hits + Misses == 0 ? 0 : Math.Round((double)Hits / (Hits + Misses), 4);
}
