using CommentFlow.OwnModel;

namespace CommentFlow.Tests.Training;

public sealed class PrefetchTableTests
{
    private readonly record struct Entry(ulong Key, int Value) : ITableEntry
    {
        public bool IsEmpty => Value == 0;
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1_000)]
    [InlineData(2, 50_000)]
    public void Find_EveryAddedKeyItsEntry_AnyOtherKeyAnEmptyOne(int seed, int count)
    {
        // Random 64-bit keys and small ones, up to ¾ of the table: many share a home, and a lookup must probe past them.
        var random = new Random(seed);
        var keys = new HashSet<ulong>();
        while (keys.Count < count)
        {
            keys.Add(random.Next(2) == 0 ? (ulong)random.NextInt64() : (ulong)random.Next(64));
        }
        var table = new PrefetchTable<Entry>(count);
        var values = keys.Select((key, i) => new Entry(key, i + 1)).ToList();
        foreach (var entry in values)
        {
            table.Add(entry);
        }

        foreach (var entry in values)
        {
            table.Prefetch(entry.Key);
            Assert.Equal(entry, table.Find(entry.Key));
        }
        for (var i = 0; i < 1_000; i++)
        {
            var absent = (ulong)random.NextInt64();
            if (!keys.Contains(absent))
            {
                Assert.True(table.Find(absent).IsEmpty);
            }
        }
    }
}
