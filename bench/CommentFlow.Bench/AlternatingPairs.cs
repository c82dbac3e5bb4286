namespace CommentFlow.Bench;

/// <summary>
/// A measurement and its reference, run in alternating pairs (reference first, then the measurement first, and so on), so
/// that the machine's drift within a run (20–35 % within an hour here) falls on both sides alike. The pair whose ratio is
/// the median is the one reported; every pair is kept for the results' details. One pair's ratio moved by ±0.1 between
/// runs an hour apart, as much as the gaps the targets measure (bench/README.md, 2026-12-08).
/// </summary>
internal static class AlternatingPairs
{
    /// <summary>Pairs a target ratio is taken from: three, or one in quick mode (its figures mean nothing anyway).</summary>
    public static int Count(BenchEnvironment env) => env.Quick ? 1 : 3;

    public sealed record Pair<T>(T Subject, T Reference, double Ratio);

    public static async Task<(Pair<T> Median, List<Pair<T>> All)> RunAsync<T>(
        int pairs, Func<Task<T>> subject, Func<Task<T>> reference, Func<T, double> rate, Action<int, Pair<T>>? onPair = null)
    {
        var all = new List<Pair<T>>();
        for (var i = 0; i < pairs; i++)
        {
            T s, r;
            if (i % 2 == 0)
            {
                r = await reference();
                s = await subject();
            }
            else
            {
                s = await subject();
                r = await reference();
            }
            var pair = new Pair<T>(s, r, rate(s) / rate(r));
            all.Add(pair);
            onPair?.Invoke(i + 1, pair);
        }
        // With an even count the lower of the two middle ratios: the report never rounds in the measurement's favour.
        var median = all.OrderBy(p => p.Ratio).ElementAt((all.Count - 1) / 2);
        return (median, all);
    }
}
