using CommentFlow.Caching;
using CommentFlow.Domain;
using CommentFlow.Tests.Fakes;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CommentFlow.Tests.Caching;

public sealed class SuggestionCacheTests
{
    private static CachedAnswer Answer(string text) => new([new Suggestion(text, "action", 0.5)], "rules", "rules-v1", 3);

    [Fact]
    public void Recent_SomeExpired_NewestUnexpiredFirstAndNoHitOrMissCounted()
    {
        var clock = new FakeClock(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));
        var cache = new SuggestionCache(Options.Create(new CacheOptions { TtlSeconds = 60 }), clock);
        cache.Set("a", Answer("first"));
        clock.Advance(TimeSpan.FromSeconds(30));
        cache.Set("b", Answer("second"));
        cache.Set("c", Answer("third")); // same instant as b: the order of the sets decides
        clock.Advance(TimeSpan.FromSeconds(40)); // a is past its 60 s

        Assert.Equal(["c", "b"], cache.Recent().Select(r => r.ContextHash));
        Assert.Equal("third", cache.Recent().First().Answer.Suggestions[0].Text);
        var stats = cache.Statistics();
        Assert.Equal((0, 0), (stats.Hits, stats.Misses));
        Assert.Equal((3, 2, 1), (stats.Held, stats.Valid, stats.Expired));
    }

    [Fact]
    public void Recent_SetAgainRemovedOrCleared_FollowsTheCache()
    {
        var cache = new SuggestionCache(Options.Create(new CacheOptions()), TimeProvider.System);
        cache.Set("a", Answer("old"));
        cache.Set("b", Answer("other"));
        cache.Set("a", Answer("new"));
        Assert.Equal([("a", "new"), ("b", "other")], cache.Recent().Select(r => (r.ContextHash, r.Answer.Suggestions[0].Text)));

        cache.Remove("a");
        Assert.Equal(["b"], cache.Recent().Select(r => r.ContextHash));
        Assert.Equal(1, cache.Clear());
        Assert.Empty(cache.Recent());
        Assert.Equal(0, cache.Statistics().Held);
    }

    [Fact]
    public void Set_CacheOff_NothingHeldOrFound()
    {
        var cache = new SuggestionCache(Options.Create(new CacheOptions { TtlSeconds = 0 }), TimeProvider.System);
        cache.Set("a", Answer("text"));
        Assert.Empty(cache.Recent());
        Assert.Equal((0, 0), (cache.Statistics().Held, cache.Statistics().Valid));
    }

    [Fact]
    public void TryGet_TtlReached_HitUpToTheLastTickThenMiss()
    {
        const int Ttl = 60;
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));
        var cache = new SuggestionCache(Options.Create(new CacheOptions { TtlSeconds = Ttl }), clock);
        cache.Set("a", Answer("first"));

        clock.Advance(TimeSpan.FromSeconds(Ttl) - TimeSpan.FromTicks(1));
        Assert.True(cache.TryGet("a", 3, out var hit));
        Assert.Equal("first", hit.Suggestions[0].Text);
        Assert.Equal(["a"], cache.Recent().Select(r => r.ContextHash));

        clock.Advance(TimeSpan.FromTicks(1)); // exactly the TTL after the set: expired
        Assert.False(cache.TryGet("a", 3, out _));
        Assert.Null(cache.Find("a"));
        Assert.Empty(cache.Recent());
        Assert.Equal((1, 2), (cache.Statistics().Hits, cache.Statistics().Misses)); // TryGet and Find both missed

        // A new answer for the context starts a new TTL from its own set.
        cache.Set("a", Answer("second"));
        clock.Advance(TimeSpan.FromSeconds(Ttl - 1));
        Assert.True(cache.TryGet("a", 3, out var again));
        Assert.Equal("second", again.Suggestions[0].Text);
    }

    [Fact]
    public void TryGet_TtlOfOneEntry_OthersSetLaterStillServed()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));
        var cache = new SuggestionCache(Options.Create(new CacheOptions { TtlSeconds = 10 }), clock);
        cache.Set("early", Answer("early"));
        clock.Advance(TimeSpan.FromSeconds(6));
        cache.Set("late", Answer("late"));
        clock.Advance(TimeSpan.FromSeconds(4)); // early's 10 s are up, late has 6 s left

        Assert.False(cache.TryGet("early", 3, out _));
        Assert.True(cache.TryGet("late", 3, out var late));
        Assert.Equal("late", late.Suggestions[0].Text);
    }

    [Fact]
    public void Set_BeyondMaxEntries_EveryNewAnswerTaken_ReadOnesKeptRatherThanUnread_NeverMoreThanMax()
    {
        const int Max = 30;
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));
        var cache = new SuggestionCache(Options.Create(new CacheOptions { TtlSeconds = 3600, MaxEntries = Max }), clock);
        var first = Enumerable.Range(0, Max).Select(i => $"first-{i}").ToList();
        foreach (var key in first)
        {
            cache.Set(key, Answer(key));
        }
        Assert.Equal(Max, cache.Statistics().Entries);
        // An agent comes back to a third of them: those are the ones to keep.
        var read = first.Take(Max / 3).ToList();
        Assert.All(read, key => Assert.True(cache.TryGet(key, 3, out _), key));

        // Full: each new answer is taken at once (a full MemoryCache refused it until a background compaction).
        var next = Enumerable.Range(0, Max / 3).Select(i => $"next-{i}").ToList();
        foreach (var key in next)
        {
            cache.Set(key, Answer(key));
            Assert.True(cache.TryGet(key, 3, out var taken) && taken.Suggestions[0].Text == key, key);
            Assert.InRange(cache.Statistics().Entries, 0, Max);
        }
        // The room came from the first answers: ten of them went. The LRU's queues are approximate (TU-Q: a read answer
        // is promoted when its queue next moves), so a read answer is kept more often, not always.
        var readKept = read.Count(key => cache.Find(key) is not null);
        var unreadKept = first.Skip(read.Count).Count(key => cache.Find(key) is not null);
        Assert.Equal(Max - next.Count, readKept + unreadKept);
        Assert.True(readKept / (double)read.Count > unreadKept / (double)(Max - read.Count), $"{readKept} of {read.Count} read kept, {unreadKept} of {Max - read.Count} unread");
        Assert.Equal(Max, cache.Statistics().Entries);
    }
}
