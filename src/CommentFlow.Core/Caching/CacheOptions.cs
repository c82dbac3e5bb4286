using System.ComponentModel.DataAnnotations;

namespace CommentFlow.Caching;

internal sealed class CacheOptions
{
    public const string Section = "CommentFlow:Cache";

    /// <summary>How long an answer is reused for the same context. 0 turns the cache off.</summary>
    [Range(0, 86_400)]
    public int TtlSeconds { get; set; } = 300;

    /// <summary>Answers kept at most; the least recently used makes room for a new one. At least 3 (the LRU's three queues).</summary>
    [Range(3, 10_000_000)]
    public int MaxEntries { get; set; } = 10_000;
}
