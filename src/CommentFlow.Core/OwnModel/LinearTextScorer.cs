using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace CommentFlow.OwnModel;

/// <summary>
/// The n-gram dictionaries and inverse document frequencies of the classifier's two <c>FeaturizeText</c> blocks, as ML.NET
/// builds them: neither is public API, so they are learnt again from the same cleaned training texts, in ML.NET's order.
/// Slot i of a block is the i-th new n-gram met reading the rows in order and, in each row, every start position in turn,
/// shortest n-gram first (NgramBufferBuilder); idf = ln(rows / rows containing the n-gram). <see cref="Mismatch"/> checks
/// the result against the featurizer's slot names, so a dictionary that is not ML.NET's is never saved.
/// </summary>
internal sealed record ScorerVocabulary(string[][] WordGrams, double[] WordIdf, string[] CharGrams, double[] CharIdf)
{
    public const int WordGramLength = 2;
    public const int CharGramLength = 5;

    /// <summary>ML.NET's character tokenizer frames a non-empty text with STX and ETX.</summary>
    public const char StartMarker = '\u0002', EndMarker = '\u0003';

    private const int FormatVersion = 1;

    public static ScorerVocabulary Learn(IReadOnlyList<string> cleanedTexts)
    {
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        var wordGrams = new List<string[]>();
        var wordDf = new List<double>();
        var chars = new Dictionary<string, int>(StringComparer.Ordinal);
        var charLookup = chars.GetAlternateLookup<ReadOnlySpan<char>>();
        var charDf = new List<double>();
        var seen = new HashSet<int>();
        foreach (var text in cleanedTexts)
        {
            var normalized = LinearTextScorer.Normalize(text);
            var tokens = normalized.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            seen.Clear();
            for (var p = 0; p < tokens.Length; p++)
            {
                for (var n = 1; n <= WordGramLength && p + n <= tokens.Length; n++)
                {
                    var gram = tokens[p..(p + n)];
                    var key = string.Join(' ', gram);
                    if (!words.TryGetValue(key, out var slot))
                    {
                        slot = words[key] = wordGrams.Count;
                        wordGrams.Add(gram);
                        wordDf.Add(0);
                    }
                    if (seen.Add(slot))
                    {
                        wordDf[slot]++;
                    }
                }
            }
            seen.Clear();
            if (normalized.Length > 0)
            {
                var framed = StartMarker + normalized + EndMarker;
                for (var p = 0; p < framed.Length; p++)
                {
                    for (var n = 1; n <= CharGramLength && p + n <= framed.Length; n++)
                    {
                        var gram = framed.AsSpan(p, n);
                        if (!charLookup.TryGetValue(gram, out var slot))
                        {
                            slot = charLookup[gram] = charDf.Count;
                            charDf.Add(0);
                        }
                        if (seen.Add(slot))
                        {
                            charDf[slot]++;
                        }
                    }
                }
            }
        }
        double rows = cleanedTexts.Count;
        return new ScorerVocabulary([.. wordGrams], [.. wordDf.Select(df => Math.Log(rows / df))],
            [.. chars.OrderBy(kv => kv.Value).Select(kv => kv.Key)], [.. charDf.Select(df => Math.Log(rows / df))]);
    }

    /// <summary>
    /// Null when every slot is the n-gram ML.NET named there, else the first difference. <paramref name="charNames"/>: the
    /// character tokenizer's key values, where key k (char k; 0 is missing, named "*") is at k − 1.
    /// </summary>
    public string? Mismatch(IReadOnlyList<string> wordSlots, IReadOnlyList<string> charSlots, IReadOnlyList<string> charNames)
    {
        if (wordSlots.Count != WordGrams.Length || charSlots.Count != CharGrams.Length)
        {
            return $"slot counts: ML.NET {wordSlots.Count} words, {charSlots.Count} characters; learnt {WordGrams.Length}, {CharGrams.Length}";
        }
        for (var i = 0; i < WordGrams.Length; i++)
        {
            var name = string.Join('|', WordGrams[i]);
            if (!string.Equals(name, wordSlots[i], StringComparison.Ordinal))
            {
                return $"word slot {i}: ML.NET '{wordSlots[i]}', learnt '{name}'";
            }
        }
        var builder = new StringBuilder();
        for (var i = 0; i < CharGrams.Length; i++)
        {
            builder.Clear();
            foreach (var c in CharGrams[i])
            {
                builder.Append(builder.Length == 0 ? "" : "|").Append(c == 0 ? "*" : charNames[c - 1]);
            }
            if (!builder.Equals(charSlots[i].AsSpan()))
            {
                return $"character slot {i}: ML.NET '{charSlots[i]}', learnt '{builder}'";
            }
        }
        return null;
    }

    public void Write(Stream stream)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(FormatVersion);
        writer.Write(WordGrams.Length);
        for (var i = 0; i < WordGrams.Length; i++)
        {
            writer.Write((byte)WordGrams[i].Length);
            foreach (var word in WordGrams[i])
            {
                writer.Write(word);
            }
            writer.Write(WordIdf[i]);
        }
        writer.Write(CharGrams.Length);
        for (var i = 0; i < CharGrams.Length; i++)
        {
            // Characters as UTF-16 units: a gram may hold half of a surrogate pair, which UTF-8 strings would mangle.
            writer.Write((byte)CharGrams[i].Length);
            foreach (var c in CharGrams[i])
            {
                writer.Write((ushort)c);
            }
            writer.Write(CharIdf[i]);
        }
    }

    public static ScorerVocabulary Read(Stream stream)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        var version = reader.ReadInt32();
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"scorer data version {version}, expected {FormatVersion}");
        }
        var wordGrams = new string[reader.ReadInt32()][];
        var wordIdf = new double[wordGrams.Length];
        for (var i = 0; i < wordGrams.Length; i++)
        {
            var gram = new string[reader.ReadByte()];
            for (var j = 0; j < gram.Length; j++)
            {
                gram[j] = reader.ReadString();
            }
            wordGrams[i] = gram;
            wordIdf[i] = reader.ReadDouble();
        }
        var charGrams = new string[reader.ReadInt32()];
        var charIdf = new double[charGrams.Length];
        Span<char> buffer = stackalloc char[byte.MaxValue];
        for (var i = 0; i < charGrams.Length; i++)
        {
            int length = reader.ReadByte();
            for (var j = 0; j < length; j++)
            {
                buffer[j] = (char)reader.ReadUInt16();
            }
            charGrams[i] = new string(buffer[..length]);
            charIdf[i] = reader.ReadDouble();
        }
        return new ScorerVocabulary(wordGrams, wordIdf, charGrams, charIdf);
    }
}

/// <summary>
/// The classifier's served path without ML.NET: the same normalisation, word 1–2-grams and character 1–5-grams (with the
/// tokenizer's markers), TF-IDF (float, as ML.NET stores it), each block scaled to unit L2 norm, then each member's
/// weights and biases and its softmax; the members' probabilities are summed. ML.NET's featurizer allocates and walks
/// its pipeline per row (~0.5 ms); here a prediction is one pass over the text with lookups in flat tables.
/// Thread-safe: the tables are read-only and the per-call scratch is per thread.
/// </summary>
internal sealed class LinearTextScorer
{
    private const int NoSlot = -1;

    private readonly Dictionary<string, int> _unigrams;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _unigramLookup;
    private readonly Dictionary<long, int> _bigrams;

    // Character n-grams as a trie whose node ids are their slots: ML.NET's dictionary holds every prefix of its n-grams.
    private readonly int[] _charRoots;
    private readonly ulong[] _edgeKeys;
    private readonly int[] _edgeSlots;
    private readonly int _edgeShift;

    private readonly int _wordCount;

    // Per feature (word slots, then character slots): its idf, then its weight for each member and class.
    private readonly int _stride;
    private readonly float[] _rows;
    private readonly float[] _biases;
    private readonly int _members;
    private readonly int _classes;

    /// <summary><paramref name="weights"/>[member][class] spans the word features then the character features, as ML.NET's concatenation does.</summary>
    public LinearTextScorer(ScorerVocabulary vocabulary, float[][][] weights, float[][] biases)
    {
        _members = weights.Length;
        _classes = biases[0].Length;
        _wordCount = vocabulary.WordGrams.Length;
        var features = _wordCount + vocabulary.CharGrams.Length;
        foreach (var member in weights)
        {
            if (member.Length != _classes || member.Any(w => w.Length != features))
            {
                throw new InvalidDataException($"the scorer's {features} features do not match the model's weights");
            }
        }

        _unigrams = new Dictionary<string, int>(StringComparer.Ordinal);
        _bigrams = [];
        for (var slot = 0; slot < _wordCount; slot++)
        {
            var gram = vocabulary.WordGrams[slot];
            if (gram.Length == 1)
            {
                _unigrams[gram[0]] = slot;
            }
        }
        for (var slot = 0; slot < _wordCount; slot++)
        {
            var gram = vocabulary.WordGrams[slot];
            if (gram.Length == 2)
            {
                _bigrams[BigramKey(_unigrams[gram[0]], _unigrams[gram[1]])] = slot;
            }
        }
        _unigramLookup = _unigrams.GetAlternateLookup<ReadOnlySpan<char>>();

        _charRoots = new int[char.MaxValue + 1];
        Array.Fill(_charRoots, NoSlot);
        var edges = vocabulary.CharGrams.Count(g => g.Length > 1);
        var bits = Math.Max(4, BitOperations.Log2((uint)Math.Max(1, edges)) + 2);
        _edgeKeys = new ulong[1 << bits];
        _edgeSlots = new int[1 << bits];
        _edgeShift = 64 - bits;
        var byGram = new Dictionary<string, int>(vocabulary.CharGrams.Length, StringComparer.Ordinal);
        for (var slot = 0; slot < vocabulary.CharGrams.Length; slot++)
        {
            byGram[vocabulary.CharGrams[slot]] = slot;
        }
        for (var slot = 0; slot < vocabulary.CharGrams.Length; slot++)
        {
            var gram = vocabulary.CharGrams[slot];
            if (gram.Length == 1)
            {
                _charRoots[gram[0]] = slot;
                continue;
            }
            var key = EdgeKey(byGram[gram[..^1]], gram[^1]);
            var at = (int)((key * 0x9E3779B97F4A7C15UL) >> _edgeShift);
            while (_edgeKeys[at] != 0)
            {
                at = (at + 1) & (_edgeKeys.Length - 1);
            }
            _edgeKeys[at] = key;
            _edgeSlots[at] = slot;
        }

        _stride = 1 + _members * _classes;
        _rows = new float[features * _stride];
        for (var f = 0; f < features; f++)
        {
            var idf = f < _wordCount ? vocabulary.WordIdf[f] : vocabulary.CharIdf[f - _wordCount];
            _rows[f * _stride] = (float)idf;
            for (var m = 0; m < _members; m++)
            {
                for (var k = 0; k < _classes; k++)
                {
                    _rows[f * _stride + 1 + m * _classes + k] = weights[m][k][f];
                }
            }
        }
        _biases = [.. biases.SelectMany(b => b)];
    }

    public int Classes => _classes;

    /// <summary>TextNormalizingTransformer with lower case, punctuation removed, numbers and diacritics kept (after <see cref="TextClassifier.Clean"/>).</summary>
    public static string Normalize(string cleaned)
    {
        var builder = new StringBuilder(cleaned.Length);
        foreach (var c in cleaned)
        {
            if (!char.IsPunctuation(c))
            {
                builder.Append(char.ToLowerInvariant(c));
            }
        }
        return builder.ToString();
    }

    /// <summary>The members' probabilities summed, by class position, for a raw text (cleaned and normalised here in one pass).</summary>
    public void Score(string text, Span<float> summed)
    {
        var scratch = Scratch.For(text.Length);
        var chars = scratch.Chars;
        var length = NormalizeInto(text, chars.AsSpan(1));
        Span<double> totals = stackalloc double[_members * _classes];
        totals.Clear();
        Span<double> block = stackalloc double[_members * _classes];

        // Words: split on spaces; a bigram needs both words known, as a missing key matches no learnt bigram.
        var counts = scratch.Counts;
        counts.Clear();
        var previous = NoSlot;
        var words = chars.AsSpan(1, length);
        var start = 0;
        for (var i = 0; i <= words.Length; i++)
        {
            if (i < words.Length && words[i] != ' ')
            {
                continue;
            }
            if (i > start)
            {
                var slot = _unigramLookup.TryGetValue(words[start..i], out var found) ? found : NoSlot;
                if (slot != NoSlot)
                {
                    counts.Add(slot);
                    if (previous != NoSlot && _bigrams.TryGetValue(BigramKey(previous, slot), out var bigram))
                    {
                        counts.Add(bigram);
                    }
                }
                previous = slot;
            }
            start = i + 1;
        }
        AddBlock(counts, 0, block, totals);

        // Characters: STX text ETX, every n-gram up to five long starting at each position, walked down the trie.
        counts.Clear();
        if (length > 0)
        {
            chars[0] = ScorerVocabulary.StartMarker;
            chars[length + 1] = ScorerVocabulary.EndMarker;
            var framed = chars.AsSpan(0, length + 2);
            for (var p = 0; p < framed.Length; p++)
            {
                var node = _charRoots[framed[p]];
                var end = Math.Min(framed.Length, p + ScorerVocabulary.CharGramLength);
                for (var q = p + 1; node != NoSlot; q++)
                {
                    counts.Add(node);
                    if (q == end)
                    {
                        break;
                    }
                    node = Child(node, framed[q]);
                }
            }
        }
        AddBlock(counts, _wordCount, block, totals);

        summed[.._classes].Clear();
        for (var m = 0; m < _members; m++)
        {
            // MaximumEntropyModelParameters: softmax of bias + w·x.
            var max = double.NegativeInfinity;
            for (var k = 0; k < _classes; k++)
            {
                var i = m * _classes + k;
                totals[i] += _biases[i];
                max = Math.Max(max, totals[i]);
            }
            double sum = 0;
            for (var k = 0; k < _classes; k++)
            {
                sum += Math.Exp(totals[m * _classes + k] - max);
            }
            for (var k = 0; k < _classes; k++)
            {
                summed[k] += (float)(Math.Exp(totals[m * _classes + k] - max) / sum);
            }
        }
    }

    /// <summary>One block's TF-IDF dotted with every member's weights, then scaled by the block's L2 norm (a zero vector stays zero).</summary>
    private void AddBlock(SlotCounts counts, int offset, Span<double> block, Span<double> totals)
    {
        block.Clear();
        double norm = 0;
        var rows = _rows.AsSpan();
        foreach (var (slot, count) in counts)
        {
            var row = rows.Slice((offset + slot) * _stride, _stride);
            var value = (float)(count * (double)row[0]);
            norm += (double)value * value;
            for (var j = 0; j < block.Length; j++)
            {
                block[j] += value * (double)row[1 + j];
            }
        }
        if (norm > 0)
        {
            var scale = 1 / Math.Sqrt(norm);
            for (var j = 0; j < block.Length; j++)
            {
                totals[j] += block[j] * scale;
            }
        }
    }

    /// <summary>
    /// <see cref="TextClassifier.Clean"/> (whitespace runs to one space, trimmed) and <see cref="Normalize"/> in one pass:
    /// punctuation is dropped after the whitespace is collapsed, so "a . b" keeps both spaces, as the two steps do.
    /// </summary>
    private static int NormalizeInto(string text, Span<char> destination)
    {
        var length = 0;
        var pendingSpace = false;
        var started = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                pendingSpace = started;
                continue;
            }
            if (pendingSpace)
            {
                destination[length++] = ' ';
                pendingSpace = false;
            }
            started = true;
            if (!char.IsPunctuation(c))
            {
                destination[length++] = char.ToLowerInvariant(c);
            }
        }
        return length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Child(int parent, char c)
    {
        var key = EdgeKey(parent, c);
        var mask = _edgeKeys.Length - 1;
        for (var at = (int)((key * 0x9E3779B97F4A7C15UL) >> _edgeShift); ; at = (at + 1) & mask)
        {
            var stored = _edgeKeys[at];
            if (stored == key)
            {
                return _edgeSlots[at];
            }
            if (stored == 0)
            {
                return NoSlot;
            }
        }
    }

    // The top bit keeps every key non-zero, zero marking an empty cell.
    private static ulong EdgeKey(int parent, char c) => 1UL << 63 | (ulong)(uint)parent << 16 | c;

    private static long BigramKey(int first, int second) => (long)first << 32 | (uint)second;

    /// <summary>Per-thread buffers, grown to the longest text seen.</summary>
    private sealed class Scratch
    {
        [ThreadStatic]
        private static Scratch? _current;

        public char[] Chars { get; private set; } = new char[1024];

        public SlotCounts Counts { get; } = new();

        public static Scratch For(int textLength)
        {
            var scratch = _current ??= new Scratch();
            if (scratch.Chars.Length < textLength + 2)
            {
                scratch.Chars = new char[textLength * 2 + 2];
            }
            scratch.Counts.Reserve(textLength * ScorerVocabulary.CharGramLength + 2 * ScorerVocabulary.CharGramLength);
            return scratch;
        }
    }

    /// <summary>Occurrences per slot: an open-addressing table at most half full, cleared through the list of its used cells.</summary>
    private sealed class SlotCounts
    {
        private int[] _keys = new int[8192];
        private int[] _counts = new int[8192];
        private int[] _used = new int[4096];
        private int _shift = 32 - 13;
        private int _usedCount;

        public void Reserve(int occurrences)
        {
            if (_used.Length >= occurrences)
            {
                return;
            }
            var size = (int)BitOperations.RoundUpToPowerOf2((uint)occurrences * 2);
            (_keys, _counts, _used, _usedCount) = (new int[size], new int[size], new int[size / 2], 0);
            _shift = 32 - BitOperations.Log2((uint)size);
        }

        public void Add(int slot)
        {
            var key = slot + 1;
            var mask = _keys.Length - 1;
            for (var at = (int)(((uint)key * 0x9E3779B9u) >> _shift); ; at = (at + 1) & mask)
            {
                if (_keys[at] == key)
                {
                    _counts[at]++;
                    return;
                }
                if (_keys[at] == 0)
                {
                    _keys[at] = key;
                    _counts[at] = 1;
                    _used[_usedCount++] = at;
                    return;
                }
            }
        }

        public void Clear()
        {
            for (var i = 0; i < _usedCount; i++)
            {
                _keys[_used[i]] = 0;
            }
            _usedCount = 0;
        }

        public Enumerator GetEnumerator() => new(this);

        public struct Enumerator(SlotCounts owner)
        {
            private int _index = -1;

            public readonly (int Slot, int Count) Current => (owner._keys[owner._used[_index]] - 1, owner._counts[owner._used[_index]]);

            public bool MoveNext() => ++_index < owner._usedCount;
        }
    }
}
