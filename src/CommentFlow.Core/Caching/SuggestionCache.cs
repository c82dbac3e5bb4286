using BitFaster.Caching.Lru;
using CommentFlow.Domain;
using Microsoft.Extensions.Options;

namespace CommentFlow.Caching;

/// <summary>
/// Answers already given, keyed by context hash, so a repeated request costs no engine call. Bounded by
/// <see cref="CacheOptions.MaxEntries"/>: a new answer is always taken, and the least recently used one makes room
/// (BitFaster's <c>ConcurrentLru</c>, no background thread, no sorting). Expiry is read from each entry against the
/// injected clock: an expired answer is a miss, and leaves when looked up or pushed out by newer ones.
/// </summary>
internal sealed class SuggestionCache
{
    private readonly ConcurrentLru<string, Held> _cache;
    private readonly CacheOptions _options;
    private readonly TimeProvider _time;
    private long _sets; // orders Recent newest first where the clock may not move (a fake one, or two sets in one tick)
    private long _hits;
    private long _misses;

    public SuggestionCache(IOptions<CacheOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        _cache = new ConcurrentLru<string, Held>(Environment.ProcessorCount, _options.MaxEntries, StringComparer.Ordinal);
    }

    public bool Enabled => _options.TtlSeconds > 0;

    public bool TryGet(string contextHash, int maxSuggestions, out CachedAnswer answer)
    {
        if (Lookup(contextHash) is { } found && found.CoversRequest(maxSuggestions))
        {
            answer = found;
            return true;
        }
        answer = null!;
        return false;
    }

    /// <summary>The answer given for this context, if still cached, whatever number of suggestions was asked for.</summary>
    public CachedAnswer? Find(string contextHash) => Lookup(contextHash);

    /// <summary>A lookup, counted as a hit or a miss.</summary>
    private CachedAnswer? Lookup(string contextHash)
    {
        if (!Enabled)
        {
            return null;
        }
        if (_cache.TryGet(contextHash, out var held))
        {
            if (held.ExpiresAt > _time.GetUtcNow())
            {
                Interlocked.Increment(ref _hits);
                return held.Answer;
            }
            _cache.TryRemove(KeyValuePair.Create(contextHash, held)); // this entry only, not one set since
        }
        Interlocked.Increment(ref _misses);
        return null;
    }

    /// <summary>The unexpired answers, newest first, without counting hits or misses.</summary>
    public IEnumerable<(string ContextHash, CachedAnswer Answer)> Recent()
    {
        var now = _time.GetUtcNow();
        return _cache.Where(h => h.Value.ExpiresAt > now).OrderByDescending(h => h.Value.Sequence).Select(h => (h.Key, h.Value.Answer));
    }

    public void Set(string contextHash, CachedAnswer answer)
    {
        if (!Enabled)
        {
            return;
        }
        var expiresAt = _time.GetUtcNow() + TimeSpan.FromSeconds(_options.TtlSeconds);
        _cache.AddOrUpdate(contextHash, new Held(answer, Interlocked.Increment(ref _sets), expiresAt));
    }

    /// <summary>Forgets the answer for one context (an erased ticket's). No lookup first: that would count as a hit or a miss.</summary>
    public void Remove(string contextHash) => _cache.TryRemove(contextHash);

    public CacheStatistics Statistics()
    {
        var now = _time.GetUtcNow();
        var held = _cache.Select(h => h.Value).ToList();
        return new CacheStatistics(held.Count, Interlocked.Read(ref _hits), Interlocked.Read(ref _misses), _options.TtlSeconds, _options.MaxEntries)
        {
            Valid = held.Count(h => h.ExpiresAt > now),
        };
    }

    public int Clear()
    {
        var count = _cache.Count;
        _cache.Clear();
        return count;
    }

    /// <summary>A class, not a record: an expired entry is removed as this very entry, not an equal one set since.</summary>
    private sealed class Held(CachedAnswer answer, long sequence, DateTimeOffset expiresAt)
    {
        public CachedAnswer Answer { get; } = answer;
        public long Sequence { get; } = sequence;
        public DateTimeOffset ExpiresAt { get; } = expiresAt;
    }
}

/// <summary>What the cache keeps: the engine's answer and how many suggestions were asked for.</summary>
internal sealed record CachedAnswer(IReadOnlyList<Suggestion> Suggestions, string Engine, string Model, int Requested, string? TicketKey = null)
{
    /// <summary>A cached answer serves a request for as many suggestions or fewer, or when the engine had no more to give.</summary>
    public bool CoversRequest(int maxSuggestions) => maxSuggestions <= Requested || Suggestions.Count < Requested;
}

/// <summary>
/// <see cref="Entries"/>: the answers held, expired or not (an expired one goes when looked up or pushed out);
/// <see cref="Held"/> and <see cref="Valid"/> are the earlier service's names for it and for those not yet expired.
/// </summary>
internal sealed record CacheStatistics(long Entries, long Hits, long Misses, int TtlSeconds, int MaxEntries)
{
    public long Held => Entries;
    public long Valid { get; init; }
    public long Expired => Held - Valid;
    public double HitRate => Hits + Misses == 0 ? 0 : Math.Round((double)Hits / (Hits + Misses), 4);
}
