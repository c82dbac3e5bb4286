using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CommentFlow.OwnModel;

/// <summary>
/// Length of the longest common subsequence of two token-id sequences, 64 positions of the first at a time
/// (Hyyrö's bit-vector algorithm): for two agent answers of ~100 tokens, ~200 word operations instead of the
/// 10,000 cells of the dynamic programme. Exact; <c>TextMetrics.RougeL</c> stays the reference.
/// One instance is reset for each pattern and keeps its buffers: a query compares dozens of answers.
/// </summary>
internal sealed class BitParallelLcs
{
    private readonly Dictionary<int, int> _rows = [];
    private ulong[] _masks = [];
    private ulong[] _v = [];
    private int _length;
    private int _words;

    public BitParallelLcs()
    {
    }

    public BitParallelLcs(int[] pattern) => Reset(pattern);

    public int Length => _length;

    /// <summary>Prepares the match masks of <paramref name="pattern"/>, one row of words per distinct token.</summary>
    public void Reset(ReadOnlySpan<int> pattern)
    {
        _length = pattern.Length;
        _words = (pattern.Length + 63) / 64;
        _rows.Clear();
        if (_masks.Length < pattern.Length * _words)
        {
            _masks = new ulong[BitOperations.RoundUpToPowerOf2((uint)(pattern.Length * _words))];
        }
        if (_v.Length < _words)
        {
            _v = new ulong[_words];
        }
        for (var i = 0; i < pattern.Length; i++)
        {
            if (!_rows.TryGetValue(pattern[i], out var row))
            {
                _rows[pattern[i]] = row = _rows.Count;
                _masks.AsSpan(row * _words, _words).Clear();
            }
            _masks[(row * _words) + (i >> 6)] |= 1UL << (i & 63);
        }
    }

    public int Lcs(ReadOnlySpan<int> text)
    {
        if (_length == 0 || text.Length == 0)
        {
            return 0;
        }
        var v = _v.AsSpan(0, _words);
        v.Fill(ulong.MaxValue);
        foreach (var symbol in text)
        {
            if (!_rows.TryGetValue(symbol, out var row))
            {
                continue; // no match in the pattern: V is unchanged
            }
            Advance(v, row);
        }
        return LcsOf(v);
    }

    /// <summary>The number of 64-bit words of the state vector <see cref="Advance"/> keeps for this pattern.</summary>
    public int Words => _words;

    /// <summary>
    /// Each distinct token of the pattern with its match-mask row (a token the pattern lacks would not change the state):
    /// looked up once per token, a text seen many times against one pattern is then advanced by rows alone.
    /// </summary>
    public Dictionary<int, int> Rows => _rows;

    /// <summary>Sets a state to "nothing read yet".</summary>
    public static void Start(Span<ulong> state) => state.Fill(ulong.MaxValue);

    /// <summary>Reads one matching token of the text (its row in <see cref="Rows"/>) into the state.</summary>
    public void Advance(Span<ulong> state, int row) => Advance(state, [row]);

    /// <summary>
    /// Reads matching tokens of the text (their rows in <see cref="Rows"/>), in order, into the state. A pattern of up to
    /// 64 tokens (most sentences and short comments) keeps its one word in a register and needs no carry between words.
    /// </summary>
    public void Advance(Span<ulong> state, ReadOnlySpan<int> rows)
    {
        ref var masks = ref MemoryMarshal.GetArrayDataReference(_masks);
        if (_words == 1)
        {
            var x = state[0];
            foreach (var row in rows)
            {
                var m = Unsafe.Add(ref masks, row);
                x = (x + (x & m)) | (x & ~m);
            }
            state[0] = x;
            return;
        }
        ref var v = ref MemoryMarshal.GetReference(state[.._words]);
        foreach (var row in rows)
        {
            ref var m = ref Unsafe.Add(ref masks, row * _words);
            ulong carry = 0;
            for (var w = 0; w < _words; w++)
            {
                var x = Unsafe.Add(ref v, w);
                var mw = Unsafe.Add(ref m, w);
                var u = x & mw;
                var sum = x + u;
                var c1 = sum < x ? 1UL : 0UL;
                var total = sum + carry;
                var c2 = total < sum ? 1UL : 0UL;
                carry = c1 | c2;
                Unsafe.Add(ref v, w) = total | (x & ~mw);
            }
        }
    }

    /// <summary>The LCS length of the text read into the state so far.</summary>
    public int LcsOf(ReadOnlySpan<ulong> state)
    {
        var zeros = 0;
        for (var w = 0; w < _words; w++)
        {
            var bits = w == _words - 1 && (_length & 63) != 0 ? (1UL << (_length & 63)) - 1 : ulong.MaxValue;
            zeros += BitOperations.PopCount(~state[w] & bits);
        }
        return zeros;
    }

    /// <summary>ROUGE-L F1 against <paramref name="text"/>: 2 · LCS / (|pattern| + |text|).</summary>
    public double RougeL(ReadOnlySpan<int> text)
    {
        var lcs = Lcs(text);
        return lcs == 0 ? 0 : 2.0 * lcs / (_length + text.Length);
    }
}
