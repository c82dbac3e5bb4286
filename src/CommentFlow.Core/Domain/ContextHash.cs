using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace CommentFlow.Domain;

/// <summary>
/// The duplicate key of a sample: lower-case hex MD5 of UTF-8 <c>summary|description|c1|c2|…</c>,
/// byte for byte what the earlier Python service computed, so stores can be merged.
/// MD5 is an identity here, not a security measure.
/// </summary>
internal static class ContextHash
{
    public static string Compute(string summary, string description, IReadOnlyList<string> comments)
    {
        // Two separators always, then one between comments: "s|d|" for none, "s|d|c1|c2" for two.
        var length = summary.Length + description.Length + 2 + Math.Max(0, comments.Count - 1);
        foreach (var c in comments)
        {
            length += c.Length;
        }

        var chars = ArrayPool<char>.Shared.Rent(length);
        try
        {
            var pos = 0;
            Append(chars, ref pos, summary);
            chars[pos++] = '|';
            Append(chars, ref pos, description);
            chars[pos++] = '|';
            for (var i = 0; i < comments.Count; i++)
            {
                if (i > 0)
                {
                    chars[pos++] = '|';
                }
                Append(chars, ref pos, comments[i]);
            }

            return HashUtf8(chars.AsSpan(0, pos));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    public static bool IsValid(string? hash) =>
        hash is { Length: 32 } && hash.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    private static void Append(char[] buffer, ref int pos, string value)
    {
        value.CopyTo(buffer.AsSpan(pos));
        pos += value.Length;
    }

    private static string HashUtf8(ReadOnlySpan<char> text)
    {
        // A lone surrogate (only possible through a JSON escape like "\ud800") encodes as U+FFFD here,
        // where Python would refuse to encode it; every well-formed text hashes identically.
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        var bytes = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            var written = Encoding.UTF8.GetBytes(text, bytes);
            Span<byte> digest = stackalloc byte[MD5.HashSizeInBytes];
            MD5.HashData(bytes.AsSpan(0, written), digest);
            return Convert.ToHexStringLower(digest);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
