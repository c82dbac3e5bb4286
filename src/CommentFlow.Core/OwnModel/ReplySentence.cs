
namespace CommentFlow.OwnModel;

/// <summary>
/// A sentence of a past answer: its characters in the answer's text (trimmed) and its tokens in the answer's token ids.
/// Sentences end at <c>.</c>, <c>!</c> or <c>?</c> before whitespace (not after a list's "1."), and at each line's end,
/// so a greeting line, a step and a closing are each one.
/// </summary>
internal readonly record struct ReplySentence(int Start, int End, int FirstToken, int TokenCount)
{
    /// <summary>The answer's word ids in text order and its sentences that have words.</summary>
    public static (int[] Tokens, ReplySentence[] Sentences) Split(string text, Func<ReadOnlySpan<char>, int> intern)
    {
        var lower = text.ToLowerInvariant();
        var tokens = new List<int>();
        var starts = new List<int>();
        foreach (var m in TicketText.WordPattern.EnumerateMatches(lower))
        {
            tokens.Add(intern(lower.AsSpan(m.Index, m.Length)));
            starts.Add(m.Index);
        }
        var sentences = new List<ReplySentence>();
        var next = 0; // first token not yet in a sentence
        void Add(int start, int end)
        {
            while (start < end && char.IsWhiteSpace(text[start]))
            {
                start++;
            }
            while (end > start && char.IsWhiteSpace(text[end - 1]))
            {
                end--;
            }
            var first = next;
            while (next < starts.Count && starts[next] < end)
            {
                next++;
            }
            if (next > first)
            {
                sentences.Add(new ReplySentence(start, end, first, next - first));
            }
        }
        for (var lineStart = 0; lineStart <= text.Length;)
        {
            var newline = text.IndexOf('\n', lineStart);
            var lineEnd = newline < 0 ? text.Length : newline;
            var start = lineStart;
            for (var i = lineStart; i + 1 < lineEnd; i++)
            {
                // A list's "1. " opens its step rather than ending a sentence: a step without its number reads as prose,
                // a number without its step as nothing.
                if (text[i] is '.' or '!' or '?' && char.IsWhiteSpace(text[i + 1]) && !IsListMarker(text.AsSpan(start, i - start)))
                {
                    Add(start, i + 1);
                    start = i + 1;
                }
            }
            Add(start, lineEnd);
            if (newline < 0)
            {
                break;
            }
            lineStart = newline + 1;
        }
        return ([.. tokens], [.. sentences]);
    }

    private static bool IsListMarker(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        return text.Length is > 0 and <= 3 && WordCounts.IsDigits(text);
    }
}
