using System.Text.RegularExpressions;

namespace CommentFlow.Training;

/// <summary>ROUGE-L F1 and token F1 over lower-cased <c>\w+</c> tokens, as the shared retrieval baseline computes them.</summary>
internal static partial class TextMetrics
{
    public static string[] Tokens(string text) => Word().Matches(text.ToLowerInvariant()).Select(m => m.Value).ToArray();

    public static double RougeL(string candidate, string reference) => RougeL(Tokens(candidate), Tokens(reference));

    public static double RougeL(string[] a, string[] b) => RougeL<string>(a, b);

    public static double RougeL<T>(T[] a, T[] b) where T : IEquatable<T>
    {
        if (a.Length == 0 || b.Length == 0)
        {
            return 0;
        }
        // Longest common subsequence, two rows.
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        foreach (var x in a)
        {
            cur[0] = 0;
            for (var j = 0; j < b.Length; j++)
            {
                cur[j + 1] = x.Equals(b[j]) ? prev[j] + 1 : Math.Max(prev[j + 1], cur[j]);
            }
            (prev, cur) = (cur, prev);
        }
        var lcs = prev[b.Length];
        if (lcs == 0)
        {
            return 0;
        }
        double p = (double)lcs / a.Length, r = (double)lcs / b.Length;
        return 2 * p * r / (p + r);
    }

    public static double TokenF1(string candidate, string reference)
    {
        var a = Tokens(candidate).CountBy(t => t).ToDictionary();
        var b = Tokens(reference).CountBy(t => t).ToDictionary();
        var overlap = a.Sum(kv => Math.Min(kv.Value, b.GetValueOrDefault(kv.Key)));
        if (overlap == 0)
        {
            return 0;
        }
        double p = (double)overlap / a.Values.Sum(), r = (double)overlap / b.Values.Sum();
        return 2 * p * r / (p + r);
    }

    /// <summary>The word pattern, for callers that enumerate matches over spans without allocating.</summary>
    internal static Regex WordPattern => Word();

    [GeneratedRegex(@"\w+")]
    private static partial Regex Word();
}
