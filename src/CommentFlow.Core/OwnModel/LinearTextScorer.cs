using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
                WriteUnits(writer, word);
            }
            writer.Write(WordIdf[i]);
        }
        writer.Write(CharGrams.Length);
        for (var i = 0; i < CharGrams.Length; i++)
        {
            WriteUnits(writer, CharGrams[i]);
            writer.Write(CharIdf[i]);
        }
    }

    // Text as UTF-16 units, not BinaryWriter's UTF-8: a character n-gram may hold half of a surrogate pair (and a word a
    // lone one), which UTF-8 would replace.
    private static void WriteUnits(BinaryWriter writer, string text)
    {
        writer.Write7BitEncodedInt(text.Length);
        foreach (var c in text)
        {
            writer.Write((ushort)c);
        }
    }

    private static string ReadUnits(BinaryReader reader)
    {
        var length = reader.Read7BitEncodedInt();
        return string.Create(length, reader, (units, r) =>
        {
            for (var i = 0; i < units.Length; i++)
            {
                units[i] = (char)r.ReadUInt16();
            }
        });
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
                gram[j] = ReadUnits(reader);
            }
            wordGrams[i] = gram;
            wordIdf[i] = reader.ReadDouble();
        }
        var charGrams = new string[reader.ReadInt32()];
        var charIdf = new double[charGrams.Length];
        for (var i = 0; i < charGrams.Length; i++)
        {
            charGrams[i] = ReadUnits(reader);
            charIdf[i] = reader.ReadDouble();
        }
        return new ScorerVocabulary(wordGrams, wordIdf, charGrams, charIdf);
    }
}

/// <summary>
/// The classifier's served path without ML.NET: the same normalisation, word 1–2-grams and character 1–5-grams (with the
/// tokenizer's markers), TF-IDF (float, as ML.NET stores it), each block scaled to unit L2 norm, then each member's
/// weights and biases and its softmax; the members' probabilities are summed. ML.NET's featurizer allocates and walks
/// its pipeline per row (~0.5 ms); here a prediction is one pass over the text, a dictionary lookup per word and a
/// walk down a trie per character position, with no allocation.
/// Thread-safe: the tables are read-only and the per-call scratch is per thread.
/// </summary>
internal sealed class LinearTextScorer
{
    private const int NoSlot = -1;

    private readonly Dictionary<string, int> _unigrams;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _unigramLookup;
    private readonly PrefetchTable<Bigram> _bigrams;

    // Every feature's row: its idf, then its weight for each member and class. Word rows are by slot. Character n-grams
    // form a trie (ML.NET's dictionary holds every prefix of its n-grams) numbered breadth first, siblings together and
    // sorted by character: a node's children are _nodeChars[_firstChild[node].._firstChild[node + 1]], and its row is at
    // its number, so the n-grams a text shares with many others sit close together (fewer cache and TLB misses than rows
    // scattered by a hash).
    private readonly float[] _wordRows;
    private readonly int[] _charRoots;
    private readonly char[] _nodeChars;
    private readonly int[] _firstChild;
    private readonly float[] _nodeRows;

    private readonly int _stride;
    private readonly float[] _biases;
    private readonly int _members;
    private readonly int _classes;

    /// <summary><paramref name="weights"/>[member][class] spans the word features then the character features, as ML.NET's concatenation does.</summary>
    public LinearTextScorer(ScorerVocabulary vocabulary, float[][][] weights, float[][] biases)
    {
        _members = weights.Length;
        _classes = biases[0].Length;
        var wordCount = vocabulary.WordGrams.Length;
        var features = wordCount + vocabulary.CharGrams.Length;
        foreach (var member in weights)
        {
            if (member.Length != _classes || member.Any(w => w.Length != features))
            {
                throw new InvalidDataException($"the scorer's {features} features do not match the model's weights");
            }
        }
        _stride = 1 + _members * _classes;
        _biases = [.. biases.SelectMany(b => b)];
        void Fill(Span<float> row, double idf, int feature)
        {
            row[0] = (float)idf;
            for (var m = 0; m < _members; m++)
            {
                for (var k = 0; k < _classes; k++)
                {
                    row[1 + m * _classes + k] = weights[m][k][feature];
                }
            }
        }

        _unigrams = new Dictionary<string, int>(StringComparer.Ordinal);
        var bigrams = new Dictionary<ulong, int>();
        _wordRows = new float[wordCount * _stride];
        for (var slot = 0; slot < wordCount; slot++)
        {
            Fill(_wordRows.AsSpan(slot * _stride, _stride), vocabulary.WordIdf[slot], slot);
            var gram = vocabulary.WordGrams[slot];
            if (gram.Length == 1)
            {
                _unigrams[gram[0]] = slot;
            }
        }
        for (var slot = 0; slot < wordCount; slot++)
        {
            var gram = vocabulary.WordGrams[slot];
            if (gram.Length == 2)
            {
                bigrams[BigramKey(_unigrams[gram[0]], _unigrams[gram[1]])] = slot;
            }
        }
        _unigramLookup = _unigrams.GetAlternateLookup<ReadOnlySpan<char>>();
        _bigrams = new PrefetchTable<Bigram>(bigrams.Count);
        foreach (var (key, slot) in bigrams)
        {
            _bigrams.Add(new Bigram(key, slot + 1));
        }

        var grams = vocabulary.CharGrams;
        var nodes = grams.Length;
        var ids = new Dictionary<string, int>(nodes, StringComparer.Ordinal);
        var parents = new int[nodes];
        _charRoots = new int[char.MaxValue + 1];
        Array.Fill(_charRoots, NoSlot);
        _nodeChars = new char[nodes];
        _nodeRows = GC.AllocateArray<float>(nodes * _stride, pinned: true);
        var next = 0;
        // Level by level; within a level by parent, then character.
        foreach (var level in Enumerable.Range(0, nodes).GroupBy(i => grams[i].Length).OrderBy(g => g.Key))
        {
            var ordered = level.Select(slot => (Slot: slot, Parent: level.Key == 1 ? NoSlot : ids[grams[slot][..^1]]))
                .OrderBy(n => n.Parent).ThenBy(n => grams[n.Slot][^1]).ToList();
            foreach (var (slot, parent) in ordered)
            {
                var gram = grams[slot];
                ids[gram] = next;
                parents[next] = parent;
                _nodeChars[next] = gram[^1];
                Fill(_nodeRows.AsSpan(next * _stride, _stride), vocabulary.CharIdf[slot], wordCount + slot);
                if (parent == NoSlot)
                {
                    _charRoots[gram[0]] = next;
                }
                next++;
            }
        }
        // Children follow their parents' order, so a node's children start where the previous node's end.
        _firstChild = new int[nodes + 1];
        var roots = parents.Count(p => p == NoSlot);
        var childCounts = new int[nodes];
        foreach (var parent in parents)
        {
            if (parent != NoSlot)
            {
                childCounts[parent]++;
            }
        }
        _firstChild[0] = roots;
        for (var i = 0; i < nodes; i++)
        {
            _firstChild[i + 1] = _firstChild[i] + childCounts[i];
        }
    }

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

    /// <summary>
    /// The members' probabilities summed, by class position, for a raw text (cleaned and normalised here in one pass).
    /// Each block's w·x is accumulated per occurrence (TF-IDF is linear in the count) and its squared norm as
    /// idf² × (2c − 1) at the c-th occurrence of an n-gram (the squares of the counts, telescoped).
    /// </summary>
    public void Score(string text, Span<float> summed)
    {
        var scratch = Scratch.For(text.Length);
        var chars = scratch.Chars;
        var length = NormalizeInto(text, chars.AsSpan(1));
        Span<double> totals = stackalloc double[_members * _classes];
        totals.Clear();
        Span<double> block = stackalloc double[_members * _classes];
        var counts = scratch.Counts;

        // Words: split on spaces; a bigram needs both words known, as a missing key matches no learnt bigram.
        counts.Clear();
        block.Clear();
        double norm = 0;
        var wordRows = _wordRows.AsSpan();
        var words = chars.AsSpan(1, length);
        // The words' slots first, so that each bigram's cell can be fetched a few words before it is looked up: the
        // table is large, and a Dictionary's lookups, one miss after the other, were 3.7 % of the own model's CPU samples
        // at 100,000 tickets; PredictOne's p50 fell from 148–155 to 97–102 µs (bench/README.md, 2026-12-07, afternoon).
        // The features are then added in the text's order, as before, so the sums are the same.
        var slots = scratch.WordSlots;
        var count = 0;
        var start = 0;
        for (var i = 0; i <= words.Length; i++)
        {
            if (i < words.Length && words[i] != ' ')
            {
                continue;
            }
            if (i > start)
            {
                slots[count++] = _unigramLookup.TryGetValue(words[start..i], out var found) ? found : NoSlot;
            }
            start = i + 1;
        }
        for (var w = 0; w < count; w++)
        {
            if (w + BigramsAhead < count)
            {
                if (slots[w + BigramsAhead - 1] != NoSlot && slots[w + BigramsAhead] != NoSlot)
                {
                    _bigrams.Prefetch(BigramKey(slots[w + BigramsAhead - 1], slots[w + BigramsAhead]));
                }
            }
            var slot = slots[w];
            if (slot != NoSlot)
            {
                norm += Occur(counts.Increment(slot), wordRows.Slice(slot * _stride, _stride), block);
                if (w > 0 && slots[w - 1] != NoSlot && _bigrams.Find(BigramKey(slots[w - 1], slot)) is { IsEmpty: false } bigram)
                {
                    var row = bigram.SlotPlusOne - 1;
                    norm += Occur(counts.Increment(row), wordRows.Slice(row * _stride, _stride), block);
                }
            }
        }
        AddBlock(block, norm, totals);

        // Characters: STX text ETX, every n-gram up to five long starting at each position, walked down the trie.
        counts.Clear();
        block.Clear();
        norm = 0;
        if (length > 0)
        {
            chars[0] = ScorerVocabulary.StartMarker;
            chars[length + 1] = ScorerVocabulary.EndMarker;
            var framed = chars.AsSpan(0, length + 2);
            var rows = _nodeRows.AsSpan();
            // The walks first, then the rows in the same order, each fetched a few n-grams ahead (as the bigrams' cells):
            // PredictOne's p50 82–87 µs against 102–103 (bench/README.md, 2026-12-07, afternoon).
            var nodes = scratch.Nodes;
            var found = 0;
            for (var p = 0; p < framed.Length; p++)
            {
                var end = Math.Min(framed.Length, p + ScorerVocabulary.CharGramLength);
                for (int q = p + 1, node = _charRoots[framed[p]]; node != NoSlot; node = q < end ? Child(node, framed[q++]) : NoSlot)
                {
                    nodes[found++] = node;
                }
            }
            for (var i = 0; i < found; i++)
            {
                if (i + RowsAhead < found)
                {
                    PrefetchRow(nodes[i + RowsAhead]);
                }
                norm += Occur(counts.Increment(nodes[i]), rows.Slice(nodes[i] * _stride, _stride), block);
            }
        }
        AddBlock(block, norm, totals);

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

    /// <summary>The <paramref name="count"/>-th occurrence of a feature: its idf times its weights into the block; returns its share of the squared norm.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Occur(int count, ReadOnlySpan<float> row, Span<double> block)
    {
        double idf = row[0];
        var j = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            // Four weights at a time, widened to double as the scalar loop does.
            var scale = Vector128.Create(idf);
            ref var weights = ref MemoryMarshal.GetReference(row);
            ref var sums = ref MemoryMarshal.GetReference(block);
            for (; j + 4 <= block.Length; j += 4)
            {
                var four = Vector128.LoadUnsafe(ref weights, (nuint)(1 + j));
                (Vector128.LoadUnsafe(ref sums, (nuint)j) + Vector128.WidenLower(four) * scale).StoreUnsafe(ref sums, (nuint)j);
                (Vector128.LoadUnsafe(ref sums, (nuint)(j + 2)) + Vector128.WidenUpper(four) * scale).StoreUnsafe(ref sums, (nuint)(j + 2));
            }
        }
        for (; j < block.Length; j++)
        {
            block[j] += idf * row[1 + j];
        }
        return idf * idf * (2 * count - 1);
    }

    /// <summary>A block's w·x scaled by its L2 norm (ML.NET's per-block normalisation; a zero vector stays zero).</summary>
    private static void AddBlock(ReadOnlySpan<double> block, double norm, Span<double> totals)
    {
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

    /// <summary>
    /// The child of <paramref name="parent"/> by <paramref name="c"/>: a binary search of its sorted children whose steps
    /// depend only on their number (conditional moves, not branches a new text would mispredict).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Child(int parent, char c)
    {
        int first = _firstChild[parent], count = _firstChild[parent + 1] - first;
        if (count == 0)
        {
            return NoSlot;
        }
        var chars = _nodeChars;
        while (count > 1)
        {
            var half = count >> 1;
            first = chars[first + half] <= c ? first + half : first;
            count -= half;
        }
        return chars[first] == c ? first : NoSlot;
    }

    private static ulong BigramKey(int first, int second) => (ulong)(uint)first << 32 | (uint)second;

    private const int BigramsAhead = 4;
    private const int RowsAhead = 8;

    private void PrefetchRow(int node) => CacheLine.Fetch(ref _nodeRows[node * _stride]);

    /// <summary>A word bigram's slot by its words' slots; stored + 1, so that the default entry is empty.</summary>
    private readonly record struct Bigram(ulong Key, int SlotPlusOne) : ITableEntry
    {
        public bool IsEmpty => SlotPlusOne == 0;
    }

    /// <summary>Per-thread buffers, grown to the longest text seen.</summary>
    private sealed class Scratch
    {
        [ThreadStatic]
        private static Scratch? _current;

        public char[] Chars { get; private set; } = new char[1024];

        /// <summary>The character n-grams' trie nodes, in text order: at most five a position.</summary>
        public int[] Nodes { get; private set; } = new int[ScorerVocabulary.CharGramLength * 1026];

        /// <summary>Each word's slot, in text order: at most one word per two characters.</summary>
        public int[] WordSlots { get; private set; } = new int[513];

        public SlotCounts Counts { get; } = new();

        public static Scratch For(int textLength)
        {
            var scratch = _current ??= new Scratch();
            if (scratch.Chars.Length < textLength + 2)
            {
                scratch.Chars = new char[textLength * 2 + 2];
            }
            if (scratch.Nodes.Length < ScorerVocabulary.CharGramLength * (textLength + 2))
            {
                scratch.Nodes = new int[ScorerVocabulary.CharGramLength * (textLength * 2 + 2)];
            }
            if (scratch.WordSlots.Length < textLength / 2 + 1)
            {
                scratch.WordSlots = new int[textLength + 1];
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

        /// <summary>Counts one more occurrence of <paramref name="slot"/>; returns its count so far.</summary>
        public int Increment(int slot)
        {
            var key = slot + 1;
            var mask = _keys.Length - 1;
            for (var at = (int)(((uint)key * 0x9E3779B9u) >> _shift); ; at = (at + 1) & mask)
            {
                if (_keys[at] == key)
                {
                    return ++_counts[at];
                }
                if (_keys[at] == 0)
                {
                    _keys[at] = key;
                    _used[_usedCount++] = at;
                    return _counts[at] = 1;
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
    }
}
