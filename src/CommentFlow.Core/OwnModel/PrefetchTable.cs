using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace CommentFlow.OwnModel;

/// <summary>An entry of a <see cref="PrefetchTable{T}"/>; its default value must be empty.</summary>
internal interface ITableEntry
{
    ulong Key { get; }

    bool IsEmpty { get; }
}

/// <summary>
/// An open-addressing table (linear probing, at most ¾ full) of entries stored in place, in a pinned array so that a
/// cell can be fetched ahead of its lookup. The search's lexicon and posting lists and the classifier's bigrams look up
/// hundreds of keys a request, each a cache miss in a table of megabytes; a <c>Dictionary</c>'s buckets and entries
/// cannot be fetched ahead, so its misses came one after the other (bench/README.md, 2026-12-07, afternoon).
/// </summary>
internal sealed class PrefetchTable<T> where T : struct, ITableEntry
{
    private readonly T[] _cells;
    private readonly int _shift;

    public PrefetchTable(int count)
    {
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, count + (count / 3) + 1));
        _cells = GC.AllocateArray<T>(size, pinned: true);
        _shift = 64 - BitOperations.Log2((uint)size);
    }

    /// <summary>Adds an entry whose key is not in the table yet.</summary>
    public void Add(in T entry)
    {
        var mask = _cells.Length - 1;
        var at = Home(entry.Key);
        while (!_cells[at].IsEmpty)
        {
            at = (at + 1) & mask;
        }
        _cells[at] = entry;
    }

    /// <summary>The entry of <paramref name="key"/>, or an empty one.</summary>
    public ref readonly T Find(ulong key)
    {
        var mask = _cells.Length - 1;
        for (var at = Home(key); ; at = (at + 1) & mask)
        {
            ref readonly var cell = ref _cells[at];
            if (cell.IsEmpty || cell.Key == key)
            {
                return ref cell;
            }
        }
    }

    /// <summary>Asks for the cache line where <paramref name="key"/>'s lookup starts.</summary>
    public void Prefetch(ulong key) => CacheLine.Fetch(ref _cells[Home(key)]);

    /// <summary>Fibonacci hashing: the top bits of the key times 2^64 / φ.</summary>
    private int Home(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);
}

/// <summary>Asks the processor for the cache line holding a value of a pinned array, so that a later read finds it there.</summary>
internal static class CacheLine
{
    public static unsafe void Fetch<T>(ref T value)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref value));
        }
    }
}
