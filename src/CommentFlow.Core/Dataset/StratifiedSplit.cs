namespace CommentFlow.Dataset;

/// <summary>
/// The one seeded, stratified hold-out the project uses: each label's items shuffled, the given fraction of each held
/// out (at least one when the label has two or more items, none when it has one). Callers that need the result to be
/// independent of input order sort the items first.
/// </summary>
internal static class StratifiedSplit
{
    public static (List<T> Kept, List<T> HeldOut) Split<T>(IEnumerable<T> items, Func<T, string> label, double fraction, int seed)
    {
        var random = new Random(seed);
        var kept = new List<T>();
        var heldOut = new List<T>();
        foreach (var group in items.GroupBy(label).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var shuffled = group.OrderBy(_ => random.Next()).ToList();
            var take = shuffled.Count < 2 ? 0 : Math.Max(1, (int)Math.Round(shuffled.Count * fraction));
            heldOut.AddRange(shuffled.Take(take));
            kept.AddRange(shuffled.Skip(take));
        }
        return (kept, heldOut);
    }

    /// <summary>Stratified k-fold: each label's items shuffled and dealt round-robin to the folds. Returns each item's fold.</summary>
    public static int[] Folds<T>(IReadOnlyList<T> items, Func<T, string> label, int folds, int seed)
    {
        var random = new Random(seed);
        var fold = new int[items.Count];
        foreach (var group in Enumerable.Range(0, items.Count).GroupBy(i => label(items[i])).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var position = 0;
            foreach (var i in group.OrderBy(_ => random.Next()))
            {
                fold[i] = position++ % folds;
            }
        }
        return fold;
    }
}
