namespace CommentFlow.Dataset;

internal static class BalanceModes
{
    public const string None = "none";
    public const string Undersample = "undersample";
    public const string Oversample = "oversample";
}

/// <summary>Equal counts per class, seeded: undersampling drops from the larger classes, oversampling repeats from the smaller.</summary>
internal static class Balancer
{
    public static List<T> Balance<T>(IReadOnlyList<T> items, Func<T, string> label, string mode, int seed)
    {
        if (mode == BalanceModes.None || items.Count == 0)
        {
            return [.. items];
        }
        var random = new Random(seed);
        var groups = items.GroupBy(label).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToList()).ToList();
        var target = mode == BalanceModes.Undersample ? groups.Min(g => g.Count) : groups.Max(g => g.Count);
        var result = new List<T>(target * groups.Count);
        foreach (var group in groups)
        {
            var shuffled = group.OrderBy(_ => random.Next()).ToList();
            for (var i = 0; i < target; i++)
            {
                result.Add(shuffled[i % shuffled.Count]);
            }
        }
        return result;
    }
}
