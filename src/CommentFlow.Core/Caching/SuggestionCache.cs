using System.Collections.Concurrent;
using CommentFlow.Domain;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CommentFlow.Caching;

/// <summary>Answers already given, keyed by context hash, so a repeated request costs no engine call.</summary>
internal sealed class SuggestionCache : IDisposable
{
    private readonly MemoryCache _cache;
    private readonly CacheOptions _options;
    private readonly TimeProvider _time;

    // A mirror of what the cache holds, because MemoryCache can neither be searched nor read without counting a hit or a
    // miss: the earlier front end's save names a text, not a context, and its stats count expired entries. An entry is
    // added here before it is set in the cache and leaves by the cache's eviction callback, compared by reference, so a
    // replaced or rejected (over capacity) entry never lingers; two concurrent sets of one context may leave it out,
    // which only costs a search the store answers instead.
    private readonly ConcurrentDictionary<string, Held> _held = new(StringComparer.Ordinal);
    private long _sets; // orders the mirror newest first where the clock may not move (a fake one, or two sets in one tick)

    public SuggestionCache(IOptions<CacheOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
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
        if (Enabled && _cache.TryGetValue(contextHash, out Held? found) && found!.Answer.CoversRequest(maxSuggestions))
        {
            answer = found.Answer;
            return true;
        }
        answer = null!;
        return false;
    }

    /// <summary>The answer given for this context, if still cached, whatever number of suggestions was asked for.</summary>
    public CachedAnswer? Find(string contextHash) => Enabled && _cache.TryGetValue(contextHash, out Held? found) ? found!.Answer : null;

    /// <summary>The unexpired answers, newest first, without counting hits or misses.</summary>
    public IEnumerable<(string ContextHash, CachedAnswer Answer)> Recent()
    {
        var now = _time.GetUtcNow();
        return _held.Where(h => h.Value.ExpiresAt > now).OrderByDescending(h => h.Value.Sequence).Select(h => (h.Key, h.Value.Answer));
    }

    public void Set(string contextHash, CachedAnswer answer)
    {
        if (!Enabled)
        {
            return;
        }
        var now = _time.GetUtcNow();
        var ttl = TimeSpan.FromSeconds(_options.TtlSeconds);
        var held = new Held(answer, Interlocked.Increment(ref _sets), now + ttl);
        _held[contextHash] = held;
        var entry = new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = ttl };
        entry.RegisterPostEvictionCallback(static (key, value, _, state) =>
            ((ConcurrentDictionary<string, Held>)state!).TryRemove(KeyValuePair.Create((string)key, (Held)value!)), _held);
        _cache.Set(contextHash, held, entry);
    }

    /// <summary>Forgets the answer for one context (an erased ticket's). No lookup first: that would count as a hit or a miss.</summary>
    public void Remove(string contextHash)
    {
        _cache.Remove(contextHash);
        _held.TryRemove(contextHash, out _);
    }

    public CacheStatistics Statistics()
    {
        var s = _cache.GetCurrentStatistics();
        var now = _time.GetUtcNow();
        var held = _held.Values.ToList();
        var valid = held.Count(h => h.ExpiresAt > now);
        return new CacheStatistics(s?.CurrentEntryCount ?? 0, s?.TotalHits ?? 0, s?.TotalMisses ?? 0, _options.TtlSeconds, _options.MaxEntries)
        {
            Held = held.Count,
            Valid = valid,
        };
    }

    public int Clear()
    {
        var count = _cache.Count;
        _held.Clear(); // first: an entry set in between is then cleared from the cache and its callback takes it out here
        _cache.Clear();
        return count;
    }

    public void Dispose() => _cache.Dispose();

    /// <summary>A class, not a record: the eviction callback must remove this very entry, not an equal one set since.</summary>
    private sealed class Held(CachedAnswer answer, long sequence, DateTimeOffset expiresAt)
    {
        public CachedAnswer Answer { get; } = answer;
        public long Sequence { get; } = sequence;
        public DateTimeOffset ExpiresAt { get; } = expiresAt;
    }

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

/// <summary>
/// <see cref="Entries"/> is the cache's own count; <see cref="Held"/> and <see cref="Valid"/> are the earlier service's
/// figures: entries held, expired or not (expired ones go at the cache's next scan), and those not yet expired.
/// </summary>
internal sealed record CacheStatistics(long Entries, long Hits, long Misses, int TtlSeconds, int MaxEntries)
{
    public long Held { get; init; }
    public long Valid { get; init; }
    public long Expired => Held - Valid;
    public double HitRate => Hits + Misses == 0 ? 0 : Math.Round((double)Hits / (Hits + Misses), 4);
}
