using CommentFlow.Caching;
using CommentFlow.Domain;
using CommentFlow.Tests.Fakes;
using Microsoft.Extensions.Options;

namespace CommentFlow.Tests.Caching;

public sealed class SuggestionCacheTests
{
    private static CachedAnswer Answer(string text) => new([new Suggestion(text, "action", 0.5)], "rules", "rules-v1", 3);

    [Fact]
    public void Recent_SomeExpired_NewestUnexpiredFirstAndNoHitOrMissCounted()
    {
        var clock = new FakeClock(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));
        using var cache = new SuggestionCache(Options.Create(new CacheOptions { TtlSeconds = 60 }), clock);
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
        using var cache = new SuggestionCache(Options.Create(new CacheOptions()), TimeProvider.System);
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
        using var cache = new SuggestionCache(Options.Create(new CacheOptions { TtlSeconds = 0 }), TimeProvider.System);
        cache.Set("a", Answer("text"));
        Assert.Empty(cache.Recent());
        Assert.Equal((0, 0), (cache.Statistics().Held, cache.Statistics().Valid));
    }
}
