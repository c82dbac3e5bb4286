using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace CommentFlow.OwnModel;

/// <summary>
/// The own generator: past tickets indexed by TF-IDF over word 1–2-grams and character 3–5-grams (sublinear tf, smoothed
/// idf, each part L2-normalised: the features of the shared scikit-learn baseline), per language in an inverted index.
/// For a new ticket the nearest past tickets of its language are found, and among their comments the one with the
/// highest expected agreement with the unknown right answer wins (see <see cref="Rank"/>). That beats the single
/// nearest answer.
/// <para>
/// Sized for 100,000+ comments: a ticket's whole vector is kept compactly (term ids as varint deltas, weights quantised to
/// a byte against the ticket's largest weight: ~3 bytes a term instead of 8), but only its <see cref="PostingsPerDocument"/>
/// heaviest terms are posted (5 bytes each, a ticket id and a byte of weight, heaviest first). A query reads up to <see cref="PostingsScanned"/> postings of
/// each of its <see cref="QueryTerms"/> heaviest terms, re-ranks the best <see cref="Candidates"/> exactly against the
/// whole vectors (one hash probe per ticket term), and compares answers by ROUGE-L over interned token ids, 64 tokens at a time.
/// Dropping terms from the vectors themselves measurably cost retrieval quality; the pruning of the search costs recall
/// at scale, measured by the bench (bench/README.md).
/// </para>
/// </summary>
internal sealed class RetrievalIndex
{
    /// <summary>
    /// Postings kept per ticket (its heaviest terms): enough to find candidates; the re-rank uses every term. 320 and
    /// 200 candidates find what 200 and 300 found (recall@10 .909 at 100,000 tickets) with a third fewer re-ranked, for
    /// ~570 B more a ticket (bench/README.md, 2026-12-07, afternoon).
    /// </summary>
    public const int PostingsPerDocument = 320;
    public const int QueryTerms = 120;
    public const int Candidates = 200;

    /// <summary>Postings read per query term, heaviest first: a common term's long tail adds little to any score.</summary>
    public const int PostingsScanned = 3_000;
    private const string WordPrefix = "w:";
    private const string CharPrefix = "c:";

    private readonly PrefetchTable<LexiconEntry> _lexicon;
    private readonly Vectors _vectors;
    private readonly Document[] _documents;
    private readonly Answer[] _answers;
    private readonly Dictionary<string, Postings> _postings;
    private readonly Postings[] _all;
    private readonly int[] _items;

    [ThreadStatic]
    private static float[]? s_scores;

    [ThreadStatic]
    private static (int Doc, float Score)[]? s_offered;

    [ThreadStatic]
    private static BitParallelLcs? s_lcs;

    [ThreadStatic]
    private static List<(int Term, int Count, float Idf, bool IsChar)>? s_counts;

    [ThreadStatic]
    private static TermCounts? s_hashes;

    [ThreadStatic]
    private static List<(int Term, float Weight)>? s_query;

    private RetrievalIndex(PrefetchTable<LexiconEntry> lexicon, Vectors vectors, Document[] documents, Answer[] answers, Dictionary<string, Postings> postings,
        int[] items, Dictionary<string, int> words, Particulars particulars)
    {
        _items = items;
        _lexicon = lexicon;
        _vectors = vectors;
        _documents = documents;
        _answers = answers;
        _postings = postings;
        _all = [.. postings.Values];
        Words = words.GetAlternateLookup<ReadOnlySpan<char>>();
        Particulars = particulars;
    }

    /// <summary>Every word of the training tickets and answers, lower-cased, by id: answers' tokens and tickets' word sets use these ids.</summary>
    internal Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> Words { get; }

    /// <summary>Which words are particular to their ticket, learnt from this index's (ticket, answer) pairs.</summary>
    internal Particulars Particulars { get; }

    public int Count => _documents.Length;

    /// <summary>The position among the items it was built from of the ticket numbered <paramref name="doc"/> (see <see cref="Build"/>).</summary>
    internal int ItemOf(int doc) => _items[doc];

    /// <summary>
    /// How much of a ticket's text is kept to show it (the Ollama examples show up to 600 characters): a long thread's
    /// whole text would add kilobytes a ticket to an index of ~16 KB a comment. Longer than what is shown, so the reader
    /// can still cut at a word and tell that the text went on.
    /// </summary>
    public const int TicketTextKept = 1_000;

    /// <summary>
    /// A past ticket: which answer it had, its language, the start of its text and its words. Its vector is in
    /// <see cref="_vectors"/>.
    /// </summary>
    private sealed record Document(int Answer, string Language, byte[] Ticket, int[] TicketWords);

    /// <summary>
    /// A distinct comment: its text, type, source confidence, its tokens as interned word ids in text order (for agreement),
    /// and its sentences (for composition). Texts are kept as UTF-8, half the bytes of a string, and decoded for the few
    /// neighbours a request reads. <c>Kind</c>: its stored type, or for history replies (which have none) what its text
    /// says, found once here rather than for every neighbour of every request.
    /// </summary>
    private sealed record Answer(byte[] Text, string Type, string Kind, double Confidence, int[] Tokens, ReplySentence[] Sentences);

    public sealed record Candidate(string Answer, string Type, double Similarity, double Score);

    internal string AnswerOf(int doc) => Encoding.UTF8.GetString(_answers[_documents[doc].Answer].Text);

    /// <summary>The same text decoded into <paramref name="buffer"/> (grown when too small): no string for a read.</summary>
    internal ReadOnlySpan<char> AnswerChars(int doc, ref char[]? buffer)
    {
        var bytes = _answers[_documents[doc].Answer].Text;
        var chars = PerThread.Buffer(ref buffer, bytes.Length); // UTF-8 never decodes to more chars than bytes
        return chars.AsSpan(0, Encoding.UTF8.GetChars(bytes, chars));
    }

    internal string TypeOf(int doc) => _answers[_documents[doc].Answer].Type;

    /// <summary>The answer's type: stored, or read from its text (<see cref="OwnSuggestions.TypeOf"/>).</summary>
    internal string KindOf(int doc) => _answers[_documents[doc].Answer].Kind;

    internal double ConfidenceOf(int doc) => _answers[_documents[doc].Answer].Confidence;

    /// <summary>Which distinct answer a ticket had: tickets with the same reply share one.</summary>
    internal int AnswerIdOf(int doc) => _documents[doc].Answer;

    internal int[] AnswerTokensOf(int doc) => _answers[_documents[doc].Answer].Tokens;

    internal ReplySentence[] SentencesOf(int doc) => _answers[_documents[doc].Answer].Sentences;

    /// <summary>The distinct word ids of the ticket's whole text, ascending.</summary>
    internal int[] TicketWordsOf(int doc) => _documents[doc].TicketWords;

    /// <summary>The start of the ticket's text (at most <see cref="TicketTextKept"/> characters), as trained on: masked by the store.</summary>
    internal string TicketOf(int doc) => Encoding.UTF8.GetString(_documents[doc].Ticket);

    public static RetrievalIndex Build(IReadOnlyList<RetrievalItem> items)
    {
        // A language's tickets are numbered consecutively, in their order among the items, so that a query's selection
        // pass reads only its language's part of the scores (a stable sort: ties between tickets still go to the earlier).
        var itemOf = Enumerable.Range(0, items.Count).OrderBy(i => items[i].Language, StringComparer.Ordinal).ToArray();
        items = [.. itemOf.Select(i => items[i])];
        var vocabulary = new Dictionary<ulong, int>();
        var documentFrequency = new List<int>();
        var charTerm = new List<bool>();
        var termCounts = new List<Dictionary<int, int>>(items.Count);
        foreach (var item in items)
        {
            var counts = new Dictionary<int, int>();
            foreach (var term in Terms(item.Text))
            {
                ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(vocabulary, term, out var exists);
                if (!exists)
                {
                    id = vocabulary.Count - 1;
                    documentFrequency.Add(0);
                    charTerm.Add(IsCharTerm(term));
                }
                if (counts.TryAdd(id, 1))
                {
                    documentFrequency[id]++;
                }
                else
                {
                    counts[id]++;
                }
            }
            termCounts.Add(counts);
        }

        var n = items.Count;
        var df = documentFrequency.ToArray();
        var idf = df.Select(d => (float)(Math.Log((1.0 + n) / (1.0 + d)) + 1)).ToArray();
        var isChar = charTerm.ToArray();
        // Terms are numbered by falling document frequency: the terms most tickets share get the low ids, which a query
        // looks up in a dense array (see QueryTable), and a ticket's vector steps through them in one-byte deltas.
        var byFrequency = Enumerable.Range(0, df.Length).OrderByDescending(t => df[t]).ToArray();
        var rank = new int[df.Length];
        for (var i = 0; i < byFrequency.Length; i++)
        {
            rank[byFrequency[i]] = i;
        }

        var answerIds = new Dictionary<(string, string), int>();
        var answers = new List<Answer>();
        var words = new WordCounts();
        var documents = new Document[n];
        var vectors = new Vectors(n);
        var building = new Dictionary<string, (int First, Dictionary<int, (List<int> Docs, List<float> Weights)> Lists)>();
        var weighted = new List<(int Term, float Weight)>();
        var counted = new List<(int Term, int Count, float Idf, bool IsChar)>();
        for (var d = 0; d < n; d++)
        {
            var item = items[d];
            ref var answer = ref CollectionsMarshal.GetValueRefOrAddDefault(answerIds, (item.Answer, item.Type), out var known);
            if (!known)
            {
                answer = answers.Count;
                var (tokens, sentences) = ReplySentence.Split(item.Answer, words.Intern);
                answers.Add(new Answer(Encoding.UTF8.GetBytes(item.Answer), item.Type, OwnSuggestions.TypeOf(item.Type, item.Answer), item.Confidence,
                    tokens, sentences));
            }

            counted.Clear();
            counted.AddRange(termCounts[d].Where(c => !isChar[c.Key] || df[c.Key] >= MinCharFrequency).Select(c => (c.Key, c.Value, idf[c.Key], isChar[c.Key])));
            Vector(CollectionsMarshal.AsSpan(counted), weighted);
            var vector = weighted.Select(t => (Term: rank[t.Term], t.Weight)).OrderBy(t => t.Term).ToArray();
            termCounts[d] = null!; // release as we go: the counts of 100,000 tickets are the build's largest cost
            var scale = vector.Length == 0 ? 1f : vector.Max(v => v.Weight);
            // A ticket's comments are consecutive items with equal texts: they share one string and one word set.
            var sameTicket = d > 0 && items[d - 1].Text == item.Text;
            var ticket = sameTicket ? documents[d - 1].Ticket
                : Encoding.UTF8.GetBytes(item.Text.Length <= TicketTextKept ? item.Text : item.Text[..TicketTextKept]);
            var ticketWords = sameTicket ? documents[d - 1].TicketWords : words.Ticket(item.Text, item.Language);
            words.Pair(ticketWords, answers[answer].Tokens);
            documents[d] = new Document(answer, item.Language, ticket, ticketWords);
            vectors.Add(d, Encode(vector, scale), scale);
            if (!building.TryGetValue(item.Language, out var part))
            {
                building[item.Language] = part = (d, []);
            }
            var language = part.Lists;
            foreach (var (term, weight) in vector.OrderByDescending(v => v.Weight).Take(PostingsPerDocument))
            {
                if (!language.TryGetValue(term, out var list))
                {
                    language[term] = list = ([], []);
                }
                list.Docs.Add(d);
                list.Weights.Add(weight);
            }
        }
        var sizes = items.CountBy(i => i.Language).ToDictionary();
        var postings = building.ToDictionary(l => l.Key, l => Postings.Of(l.Value.Lists, l.Value.First, l.Value.First + sizes[l.Key]));
        // What a query looks up: each term it can weigh, by hash, with its id and idf (a rare character n-gram weighs nothing).
        var lexicon = new PrefetchTable<LexiconEntry>(vocabulary.Count(v => !isChar[v.Value] || df[v.Value] >= MinCharFrequency));
        foreach (var (term, id) in vocabulary)
        {
            if (!isChar[id] || df[id] >= MinCharFrequency)
            {
                lexicon.Add(new LexiconEntry(term, rank[id] + 1, idf[id]));
            }
        }
        vectors.Seal();
        return new RetrievalIndex(lexicon, vectors, documents, [.. answers], postings, itemOf, words.Ids, words.Particulars());
    }

    /// <summary>Candidate answers for a ticket, best first, from tickets of the same language (all languages when none match).</summary>
    public IReadOnlyList<Candidate> Query(string text, string language, RetrievalSettings settings, int take = 1)
    {
        var neighbours = Nearest(text, language, settings.Neighbours);
        return Rank(neighbours, settings, AgreementMatrix(neighbours)).Take(take).ToList();
    }

    /// <summary>The nearest training tickets by cosine, best first.</summary>
    internal List<(int Doc, float Similarity)> Nearest(string text, string language, int k)
    {
        var query = QueryVector(text);

        // Candidates from the heaviest query terms only: light terms are common, their postings long and their say small.
        // Scores accumulate in a per-thread array as long as the index, cleared by the selection pass below.
        var scores = PerThread.Buffer(ref s_scores, _documents.Length);
        // A language's own lists (and only its tickets' scores to select from), or every language's when it has none.
        var (lists, from, to) = _postings.TryGetValue(language, out var own) ? (own.Alone, own.First, own.End) : (_all, 0, _documents.Length);
        var table = QueryTable.For(query);
        SelectHeaviest(CollectionsMarshal.AsSpan(query), QueryTerms);
        ref var score = ref MemoryMarshal.GetArrayDataReference(scores);
        var heaviest = CollectionsMarshal.AsSpan(query)[..Math.Min(QueryTerms, query.Count)];
        for (var t = 0; t < heaviest.Length; t++)
        {
            var (term, weight) = heaviest[t];
            foreach (var postings in lists)
            {
                if (t + ListsAhead < heaviest.Length)
                {
                    postings.Prefetch(heaviest[t + ListsAhead].Term);
                }
                if (postings.TryGet(term, out var start, out var length, out var listScale))
                {
                    var scaled = weight * listScale;
                    // No branch in the hot loop: which tickets were touched is found by the scan below.
                    ref var docs = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(postings.Documents), start);
                    ref var weights = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(postings.Weights), start);
                    for (int i = 0, end = Math.Min(length, PostingsScanned); i < end; i++)
                    {
                        Unsafe.Add(ref score, Unsafe.Add(ref docs, i)) += scaled * Unsafe.Add(ref weights, i);
                    }
                }
            }
        }
        var candidates = Best(scores.AsSpan(from, to - from), Candidates, from);

        // Exact re-rank of the best candidates against the whole query vector: its frequent terms in a dense array, the
        // rest in a small open-addressing table (a merge of two sorted vectors costs a step per term of either; this one
        // load or probe per ticket term).
        // The next candidates' bytes are fetched while this one is read: ~1.7 KB each, scattered over the index.
        var exact = new List<(int Doc, float Similarity)>(candidates.Length);
        for (var c = 0; c < candidates.Length; c++)
        {
            if (c + 2 < candidates.Length)
            {
                _vectors.PrefetchPlace(candidates[c + 2].Doc);
            }
            if (c + 1 < candidates.Length)
            {
                _vectors.Prefetch(candidates[c + 1].Doc);
            }
            exact.Add((candidates[c].Doc, Cosine(_vectors.Of(candidates[c].Doc, out var scale), scale, table)));
        }
        CollectionsMarshal.AsSpan(exact).Sort(default(Heaviest));
        if (exact.Count > k)
        {
            exact.RemoveRange(k, exact.Count - k);
        }
        return exact;
    }

    /// <summary>
    /// Puts the <paramref name="count"/> heaviest terms first, in <see cref="Heaviest"/> order, and the rest after them in
    /// no order: a quickselect, then a sort of those few. Sorting all of a query's ~2,000 terms for the 120 the search reads
    /// was 7 % of the own model's server CPU (bench/README.md, 2026-12-07).
    /// </summary>
    internal static void SelectHeaviest(Span<(int Term, float Weight)> terms, int count)
    {
        Partition(terms, count);
        terms[..Math.Min(count, terms.Length)].Sort(default(Heaviest));
    }

    /// <summary>Puts the <paramref name="count"/> heaviest first in no order, the lightest of them at <c>count - 1</c>: a quickselect.</summary>
    private static void Partition(Span<(int Term, float Weight)> terms, int count)
    {
        var order = default(Heaviest);
        if (terms.Length > count)
        {
            // Hoare's partition around the middle element, narrowed to the side holding position count - 1, until that
            // position holds what a sort would put there and everything before it comes before it.
            int lo = 0, hi = terms.Length - 1, k = count - 1;
            while (lo < hi)
            {
                var pivot = terms[lo + (hi - lo) / 2];
                int i = lo, j = hi;
                while (i <= j)
                {
                    while (order.Compare(terms[i], pivot) < 0)
                    {
                        i++;
                    }
                    while (order.Compare(terms[j], pivot) > 0)
                    {
                        j--;
                    }
                    if (i <= j)
                    {
                        (terms[i], terms[j]) = (terms[j], terms[i]);
                        i++;
                        j--;
                    }
                }
                if (k <= j)
                {
                    hi = j;
                }
                else if (k >= i)
                {
                    lo = i;
                }
                else
                {
                    break;
                }
            }
        }
    }

    /// <summary>Heaviest first, then the lower id: a total order, so equal weights always come out the same way.</summary>
    private readonly struct Heaviest : IComparer<(int Id, float Weight)>
    {
        public int Compare((int Id, float Weight) x, (int Id, float Weight) y) =>
            x.Weight != y.Weight ? y.Weight.CompareTo(x.Weight) : x.Id.CompareTo(y.Id);
    }

    /// <summary>
    /// The best <paramref name="take"/> tickets by score (in no order), in one sequential pass that also clears the scores
    /// for the next query. Eight scores at a time: a block with none above the floor (most of them) costs one comparison;
    /// a ticket above it is appended to a buffer, which is cut to the best when full, raising the floor. The scores are
    /// those of tickets <paramref name="firstDoc"/> onwards (a language's). Best means the
    /// higher score, then the lower id: tickets are offered in ascending id, so one that only equals the floor would lose
    /// to what set it. A bounded heap instead cost ~10,000 heap steps a query at 100,000 tickets (bench/README.md,
    /// 2026-12-07, noon).
    /// </summary>
    internal static ReadOnlySpan<(int Doc, float Score)> Best(Span<float> scores, int take, int firstDoc = 0)
    {
        var offered = PerThread.Buffer(ref s_offered, 4 * take);
        ref var score = ref MemoryMarshal.GetReference(scores);
        var count = 0;
        var floor = 0f;
        var d = 0;
        for (; d + Vector256<float>.Count <= scores.Length; d += Vector256<float>.Count)
        {
            var block = Vector256.LoadUnsafe(ref score, (nuint)d);
            if (Vector256.GreaterThanAny(block, Vector256.Create(floor)))
            {
                for (var j = d; j < d + Vector256<float>.Count; j++)
                {
                    if (Unsafe.Add(ref score, j) > floor)
                    {
                        offered[count++] = (firstDoc + j, Unsafe.Add(ref score, j));
                    }
                }
                if (count > offered.Length - Vector256<float>.Count)
                {
                    Partition(offered.AsSpan(0, count), take);
                    (count, floor) = (take, offered[take - 1].Score);
                }
            }
            Vector256<float>.Zero.StoreUnsafe(ref score, (nuint)d);
        }
        for (; d < scores.Length; d++)
        {
            if (Unsafe.Add(ref score, d) > floor)
            {
                offered[count++] = (firstDoc + d, Unsafe.Add(ref score, d));
            }
            Unsafe.Add(ref score, d) = 0;
        }
        if (count > take)
        {
            Partition(offered.AsSpan(0, count), take);
            count = take;
        }
        return offered.AsSpan(0, count);
    }

    /// <summary>The nearest tickets by an exact scan of every ticket of the language: the reference the bench measures recall against.</summary>
    internal List<(int Doc, float Similarity)> NearestExhaustive(string text, string language, int k)
    {
        var table = QueryTable.For(QueryVector(text));
        return Enumerable.Range(0, _documents.Length)
            .Where(d => _documents[d].Language == language)
            .Select(d => (d, Cosine(_vectors.Of(d, out var scale), scale, table)))
            .OrderByDescending(e => e.Item2).Take(k).ToList();
    }

    private const int LexiconAhead = 16;
    private const int ListsAhead = 4;

    /// <summary>The query's weighted terms, in a per-thread list reused by the next query.</summary>
    private List<(int Term, float Weight)> QueryVector(string text)
    {
        // Counted by hash in a small per-thread table first, then each distinct term looked up once in the lexicon, whose
        // size puts most lookups out of cache (10 % of the own model's server CPU when every n-gram looked it up): one
        // cache line gives its id and idf.
        var hashes = s_hashes ??= new TermCounts();
        hashes.Clear();
        foreach (var term in Terms(text))
        {
            hashes.Add(term);
        }
        // The lexicon's slots are fetched a few terms ahead: each is a cache miss of its own, and waiting for them one
        // after the other was 6.4 % of the own model's CPU samples at 100,000 tickets (bench/README.md, 2026-12-07, afternoon).
        var counts = s_counts ??= [];
        counts.Clear();
        for (var i = 0; i < hashes.Distinct; i++)
        {
            if (i + LexiconAhead < hashes.Distinct)
            {
                _lexicon.Prefetch(hashes.At(i + LexiconAhead).Term);
            }
            var (term, count) = hashes.At(i);
            ref readonly var entry = ref _lexicon.Find(term);
            if (!entry.IsEmpty)
            {
                counts.Add((entry.Id, count, entry.Idf, IsCharTerm(term)));
            }
        }
        var vector = s_query ??= new List<(int Term, float Weight)>(4_096);
        Vector(CollectionsMarshal.AsSpan(counts), vector);
        return vector;
    }

    /// <summary>A ticket's vector (<see cref="Encode"/>) times the query's, both of unit length in each part.</summary>
    private static float Cosine(ReadOnlySpan<byte> bytes, float scale, QueryTable query)
    {
        var position = 0;
        var end = ReadVarint(bytes, ref position);
        end += position;
        // The frequent terms (most of a ticket's): (delta, weight) byte pairs, each a plain load from the query's dense
        // array, eight at a time where the machine can gather.
        var dot = Avx2.IsSupported ? FrequentDotAvx2(bytes, ref position, end, query) : FrequentDot(bytes, ref position, end, query);
        // The rare terms: varint deltas, each looked up in the query's small open-addressing table.
        var (keys, tableWeights, mask, shift) = (query.Keys, query.Weights, query.Mask, query.Shift);
        var term = QueryTable.DenseTerms;
        while (position < bytes.Length)
        {
            term += ReadVarint(bytes, ref position);
            var weight = bytes[position++];
            for (var slot = QueryTable.Slot(term, shift); ; slot = (slot + 1) & mask)
            {
                var key = keys[slot];
                if (key == term)
                {
                    dot += weight * tableWeights[slot];
                    break;
                }
                if (key < 0)
                {
                    break;
                }
            }
        }
        return dot * scale / 255f;
    }

    /// <summary>
    /// The frequent terms' part of the dot product, one pair at a time. The loop carries only an integer addition; the
    /// products go to two sums that add in parallel.
    /// </summary>
    internal static float FrequentDot(ReadOnlySpan<byte> bytes, ref int position, int end, QueryTable query)
    {
        ref var data = ref MemoryMarshal.GetReference(bytes);
        ref var dense = ref MemoryMarshal.GetArrayDataReference(query.Dense);
        float a0 = 0, a1 = 0;
        var term = 0;
        while (position < end)
        {
            term = NextDense(ref data, ref position, term);
            a0 += Unsafe.Add(ref data, position++) * Unsafe.Add(ref dense, term);
            if (position == end)
            {
                break;
            }
            term = NextDense(ref data, ref position, term);
            a1 += Unsafe.Add(ref data, position++) * Unsafe.Add(ref dense, term);
        }
        return a0 + a1;
    }

    /// <summary>
    /// <see cref="FrequentDot"/> eight pairs at a time: the deltas' running sum in 16-bit lanes (three shifted adds),
    /// the query's weights gathered, multiplied by the ticket's. Eight pairs holding an escaped id (a zero delta) are
    /// read one by one up to it (about one pair in eight on real tickets). The nearest stage 2–4 % faster than pair by pair
    /// at 100,000 tickets (bench/README.md, 2026-12-07, noon): the gather, not the decoding, is most of its time.
    /// </summary>
    internal static unsafe float FrequentDotAvx2(ReadOnlySpan<byte> bytes, ref int position, int end, QueryTable query)
    {
        ref var data = ref MemoryMarshal.GetReference(bytes);
        var dense = query.DensePointer;
        var deltasFirst = Vector128.Create((byte)0, 2, 4, 6, 8, 10, 12, 14, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80);
        var weightsFirst = Vector128.Create((byte)1, 3, 5, 7, 9, 11, 13, 15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80);
        var sums = Vector256<float>.Zero;
        float rest = 0;
        var term = 0;
        while (position + 16 <= end)
        {
            var pairs = Vector128.LoadUnsafe(ref data, (nuint)position);
            var deltas = Ssse3.Shuffle(pairs, deltasFirst);
            var escaped = Vector128.Equals(deltas, Vector128<byte>.Zero).ExtractMostSignificantBits() & 0xFF;
            if (escaped != 0)
            {
                for (var i = BitOperations.TrailingZeroCount(escaped); i >= 0; i--)
                {
                    term = NextDense(ref data, ref position, term);
                    rest += Unsafe.Add(ref data, position++) * dense[term];
                }
                continue;
            }
            var running = Sse41.ConvertToVector128Int16(deltas);
            running += Sse2.ShiftLeftLogical128BitLane(running, 2);
            running += Sse2.ShiftLeftLogical128BitLane(running, 4);
            running += Sse2.ShiftLeftLogical128BitLane(running, 8);
            var ids = Avx2.ConvertToVector256Int32(running) + Vector256.Create(term);
            var weights = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Ssse3.Shuffle(pairs, weightsFirst)));
            sums += weights * Avx2.GatherVector256(dense, ids, sizeof(float));
            term += running.GetElement(7);
            position += 16;
        }
        while (position < end)
        {
            term = NextDense(ref data, ref position, term);
            rest += Unsafe.Add(ref data, position++) * dense[term];
        }
        return Vector256.Sum(sums) + rest;
    }

    /// <summary>A frequent term's id: its delta from the previous one in a byte, or after a zero byte the id in two.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int NextDense(ref byte data, ref int position, int term)
    {
        int delta = Unsafe.Add(ref data, position);
        if (delta != 0)
        {
            position++;
            return term + delta;
        }
        position += 3;
        return Unsafe.Add(ref data, position - 2) | (Unsafe.Add(ref data, position - 1) << 8);
    }

    /// <summary>
    /// A query's n-gram hashes counted in an open-addressing table at most half full, listed in first-seen order so that
    /// the query vector does not depend on the table's layout: no buckets, entries or modulo for each of a ticket's
    /// ~2,000 n-grams. With the composer's one-call reads, 2–3 % less server CPU a request (bench/README.md, 2026-12-07,
    /// late morning).
    /// </summary>
    private sealed class TermCounts
    {
        private ulong[] _keys = new ulong[1 << 12];
        private int[] _counts = new int[1 << 12];
        private readonly List<int> _slots = [];

        public void Clear()
        {
            foreach (var slot in _slots)
            {
                _counts[slot] = 0;
            }
            _slots.Clear();
        }

        public void Add(ulong term)
        {
            if ((_slots.Count + 1) * 2 > _keys.Length)
            {
                Grow();
            }
            var mask = _keys.Length - 1;
            for (var slot = Home(term, mask); ; slot = (slot + 1) & mask)
            {
                if (_counts[slot] == 0)
                {
                    (_keys[slot], _counts[slot]) = (term, 1);
                    _slots.Add(slot);
                    return;
                }
                if (_keys[slot] == term)
                {
                    _counts[slot]++;
                    return;
                }
            }
        }

        /// <summary>How many distinct terms were added; the i-th in the order first added is <see cref="At"/>(i).</summary>
        public int Distinct => _slots.Count;

        public (ulong Term, int Count) At(int i) => (_keys[_slots[i]], _counts[_slots[i]]);

        /// <summary>Fibonacci hashing: the upper bits of the FNV-1a hash times 2^64 / φ.</summary>
        private static int Home(ulong term, int mask) => (int)((term * 0x9E3779B97F4A7C15UL) >> 32) & mask;

        private void Grow()
        {
            var entries = _slots.Select(s => (_keys[s], _counts[s])).ToList();
            (_keys, _counts) = (new ulong[_keys.Length * 2], new int[_counts.Length * 2]);
            _slots.Clear();
            var mask = _keys.Length - 1;
            foreach (var (term, count) in entries)
            {
                var slot = Home(term, mask);
                while (_counts[slot] != 0)
                {
                    slot = (slot + 1) & mask;
                }
                (_keys[slot], _counts[slot]) = (term, count);
                _slots.Add(slot);
            }
        }
    }

    /// <summary>A query's terms and weights in a per-thread open-addressing table, at most half full.</summary>
    internal sealed class QueryTable
    {
        [ThreadStatic]
        private static QueryTable? s_table;

        public int[] Keys { get; private set; } = [];
        public float[] Weights { get; private set; } = [];
        public int Mask { get; private set; }
        public int Shift { get; private set; }

        /// <summary>Fibonacci hashing: the top bits of the product, so neighbouring ids spread out.</summary>
        public static int Slot(int term, int shift) => (int)(((uint)term * 2654435769u) >> shift);

        /// <summary>Terms with lower ids (the most frequent) are looked up in <see cref="Dense"/>: 256 KB, kept in cache.</summary>
        public const int DenseTerms = 1 << 16;

        /// <summary>The query's weight of each frequent term, zero for the others; the next query clears what this one set.
        /// Pinned, so that the re-rank can gather from it (<see cref="FrequentDotAvx2"/>).</summary>
        public float[] Dense { get; } = GC.AllocateArray<float>(DenseTerms, pinned: true);

        public unsafe float* DensePointer => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Dense));

        private readonly List<int> _set = [];

        public static QueryTable For(List<(int Term, float Weight)> query)
        {
            var table = s_table ??= new QueryTable();
            foreach (var term in table._set)
            {
                table.Dense[term] = 0;
            }
            table._set.Clear();
            foreach (var (term, weight) in query)
            {
                if (term < DenseTerms)
                {
                    table.Dense[term] = weight;
                    table._set.Add(term);
                }
            }
            var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(64, (query.Count - table._set.Count) * 2));
            if (table.Keys.Length != size)
            {
                (table.Keys, table.Weights, table.Mask) = (new int[size], new float[size], size - 1);
                table.Shift = 32 - BitOperations.Log2((uint)size);
            }
            Array.Fill(table.Keys, -1);
            foreach (var (term, weight) in query)
            {
                if (term < DenseTerms)
                {
                    continue;
                }
                var slot = Slot(term, table.Shift);
                while (table.Keys[slot] >= 0)
                {
                    slot = (slot + 1) & table.Mask;
                }
                (table.Keys[slot], table.Weights[slot]) = (term, weight);
            }
            return table;
        }
    }

    /// <summary>Agreement (ROUGE-L) between the answers of every pair of neighbours, by bit-parallel LCS.</summary>
    internal double[,] AgreementMatrix(List<(int Doc, float Similarity)> neighbours)
    {
        var m = new double[neighbours.Count, neighbours.Count];
        for (var i = 0; i < neighbours.Count; i++)
        {
            var a = _documents[neighbours[i].Doc].Answer;
            var lcs = s_lcs ??= new BitParallelLcs();
            lcs.Reset(_answers[a].Tokens);
            for (var j = i + 1; j < neighbours.Count; j++)
            {
                var b = _documents[neighbours[j].Doc].Answer;
                m[i, j] = m[j, i] = a == b ? 1 : lcs.RougeL(_answers[b].Tokens);
            }
        }
        return m;
    }

    /// <summary>
    /// Ranks the first <see cref="RetrievalSettings.Neighbours"/> neighbours' answers by their expected agreement with
    /// the unknown right answer (minimum Bayes risk): each neighbour's answer is "right" with a probability that grows
    /// with its similarity, <c>exp((sim − best) / temperature)</c>, so an answer wins by being close to the ticket and
    /// agreeing with what the agents of other close tickets wrote, scaled by its source's confidence. A temperature near 0
    /// is the nearest answer.
    /// </summary>
    internal IEnumerable<Candidate> Rank(List<(int Doc, float Similarity)> neighbours, RetrievalSettings settings, double[,] agreement)
    {
        var k = Math.Min(settings.Neighbours, neighbours.Count);
        if (k == 0)
        {
            return [];
        }
        var best = neighbours[0].Similarity;
        var p = new double[k];
        for (var j = 0; j < k; j++)
        {
            p[j] = Math.Exp((neighbours[j].Similarity - best) / settings.Temperature);
        }
        var ranked = new List<Candidate>(k);
        for (var i = 0; i < k; i++)
        {
            var expected = p[i]; // an answer agrees fully with itself
            for (var j = 0; j < k; j++)
            {
                expected += i == j ? 0 : p[j] * agreement[i, j];
            }
            var answer = _answers[_documents[neighbours[i].Doc].Answer];
            // What the source vouched for counts: an engine's 0.7 comment weighs less than an agent's own words.
            ranked.Add(new Candidate(Encoding.UTF8.GetString(answer.Text), answer.Type, neighbours[i].Similarity, expected * answer.Confidence));
        }
        return ranked.OrderByDescending(c => c.Score);
    }

    /// <summary>A random answer of the same language: the floor retrieval must beat.</summary>
    public string RandomAnswer(string language, Random random)
    {
        var same = _documents.Where(d => d.Language == language).ToList();
        var pool = same.Count > 0 ? same : [.. _documents];
        return Encoding.UTF8.GetString(_answers[pool[random.Next(pool.Count)].Answer].Text);
    }

    /// <summary>
    /// A ticket's vector: the length in bytes of its frequent terms' part (ids below <see cref="QueryTable.DenseTerms"/>:
    /// each a (delta, weight) byte pair, a delta over 255 written as a zero byte and the id in two), then the rare terms as
    /// varint deltas from <see cref="QueryTable.DenseTerms"/>, each followed by its weight; every weight a byte of
    /// <paramref name="scale"/>. About two bytes a term.
    /// </summary>
    internal static byte[] Encode((int Term, float Weight)[] ascending, float scale)
    {
        var frequent = new List<byte>(ascending.Length * 2);
        var i = 0;
        for (var previous = 0; i < ascending.Length && ascending[i].Term < QueryTable.DenseTerms; i++)
        {
            var (term, weight) = ascending[i];
            if (term - previous is > 0 and < 256)
            {
                frequent.Add((byte)(term - previous));
            }
            else
            {
                frequent.AddRange([0, (byte)term, (byte)(term >> 8)]);
            }
            frequent.Add(Quantise(weight, scale));
            previous = term;
        }
        var buffer = new List<byte>(frequent.Count + ((ascending.Length - i) * 4) + 3);
        WriteVarint(buffer, frequent.Count);
        buffer.AddRange(frequent);
        for (var previous = QueryTable.DenseTerms; i < ascending.Length; i++)
        {
            WriteVarint(buffer, ascending[i].Term - previous);
            buffer.Add(Quantise(ascending[i].Weight, scale));
            previous = ascending[i].Term;
        }
        return [.. buffer];
    }

    private static void WriteVarint(List<byte> buffer, int value)
    {
        for (var delta = (uint)value; ; delta >>= 7)
        {
            if (delta < 0x80)
            {
                buffer.Add((byte)delta);
                return;
            }
            buffer.Add((byte)(delta | 0x80));
        }
    }

    internal static int ReadVarint(ReadOnlySpan<byte> bytes, ref int position)
    {
        int value = 0, shift = 0;
        byte b;
        do
        {
            b = bytes[position++];
            value |= (b & 0x7f) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);
        return value;
    }

    internal static byte Quantise(float weight, float scale) => (byte)Math.Clamp(MathF.Round(weight / scale * 255f), 1f, 255f);

    /// <summary>
    /// Word 1–2-grams over words of two or more letters, and character 3–5-grams within each space-separated word
    /// padded with spaces: the features of the shared baseline (scikit-learn's word and <c>char_wb</c> analysers).
    /// Terms are 64-bit FNV-1a hashes of what the term's text would be ("w:word", "c: ab"), computed over spans: a query
    /// allocates no string per n-gram, and the vocabulary holds no strings. The lowest bit says whether it is a
    /// character n-gram.
    /// </summary>
    private static List<ulong> Terms(string text)
    {
        var terms = s_terms ??= new List<ulong>(4_096);
        terms.Clear();
        var lower = text.ToLowerInvariant();
        var span = lower.AsSpan();

        var words = s_words ??= new List<(int Start, int Length)>(512);
        words.Clear();
        foreach (var m in TicketText.WordPattern.EnumerateMatches(span))
        {
            if (m.Length >= 2)
            {
                words.Add((m.Index, m.Length));
            }
        }
        for (var i = 0; i < words.Count; i++)
        {
            var word = span.Slice(words[i].Start, words[i].Length);
            terms.Add(WordTerm(Fnv(Fnv(FnvStart, WordPrefix), word)));
            if (i + 1 < words.Count)
            {
                var next = span.Slice(words[i + 1].Start, words[i + 1].Length);
                terms.Add(WordTerm(Fnv(Fnv(Fnv(Fnv(FnvStart, WordPrefix), word), ' '), next)));
            }
        }

        for (var start = 0; start < span.Length;)
        {
            while (start < span.Length && char.IsWhiteSpace(span[start]))
            {
                start++;
            }
            var end = start;
            while (end < span.Length && !char.IsWhiteSpace(span[end]))
            {
                end++;
            }
            if (end > start)
            {
                // The word padded with a space on each side, as char_wb sees it: position p of the padded word.
                // Each n-gram's hash extends the one a character shorter from the same position.
                var word = span[start..end];
                var padded = word.Length + 2;
                for (var from = 0; from + 3 <= padded; from++)
                {
                    var hash = Fnv(FnvStart, CharPrefix);
                    for (var p = from; p < Math.Min(from + 5, padded); p++)
                    {
                        hash = Fnv(hash, p == 0 || p == padded - 1 ? ' ' : word[p - 1]);
                        if (p - from >= 2)
                        {
                            terms.Add(hash | 1UL);
                        }
                    }
                }
            }
            start = end;
        }
        return terms;
    }

    private const ulong FnvStart = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    private static ulong Fnv(ulong hash, char c) => (hash ^ c) * FnvPrime;

    private static ulong Fnv(ulong hash, ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            hash = (hash ^ c) * FnvPrime;
        }
        return hash;
    }

    private static ulong WordTerm(ulong hash) => hash & ~1UL;

    private static bool IsCharTerm(ulong term) => (term & 1UL) != 0;

    [ThreadStatic]
    private static List<ulong>? s_terms;

    [ThreadStatic]
    private static List<(int Start, int Length)>? s_words;

    /// <summary>Character n-grams seen in fewer training tickets carry no weight (scikit-learn's min_df = 2).</summary>
    private const int MinCharFrequency = 2;

    /// <summary>
    /// Sublinear tf × idf, the word part and the character part each L2-normalised, so a dot product is the sum of two
    /// cosines (in [0, 2]). The caller leaves out the terms that weigh nothing (<see cref="MinCharFrequency"/>).
    /// </summary>
    private static void Vector(ReadOnlySpan<(int Term, int Count, float Idf, bool IsChar)> counts, List<(int Term, float Weight)> into)
    {
        into.Clear();
        float wordNorm = 0, charNorm = 0;
        foreach (var (term, count, idf, isChar) in counts)
        {
            var weight = (float)((1 + Math.Log(count)) * idf);
            into.Add((term, weight));
            if (isChar)
            {
                charNorm += weight * weight;
            }
            else
            {
                wordNorm += weight * weight;
            }
        }
        (wordNorm, charNorm) = (MathF.Sqrt(wordNorm), MathF.Sqrt(charNorm));
        var span = CollectionsMarshal.AsSpan(into);
        for (var i = 0; i < span.Length; i++)
        {
            span[i].Weight /= counts[i].IsChar ? charNorm : wordNorm;
        }
    }

    /// <summary>
    /// One language's posting lists: the tickets posted under each term, heaviest first (impact order, so a query can stop
    /// after the ones that matter), each weight quantised to a byte of the list's own scale (its heaviest weight / 255),
    /// so the hot loop reads no ticket's scale. All lists back to back in two arrays, a term's place in a table: an
    /// object and two arrays a list cost ~90 B of headers and a cache miss a query term.
    /// </summary>
    private sealed class Postings
    {
        // Where each term's list is: a query fetches its next terms' places while it reads this one's list.
        private readonly PrefetchTable<ListPlace> _lists;

        private Postings(PrefetchTable<ListPlace> lists, int[] documents, byte[] weights, int first, int end) =>
            (_lists, Documents, Weights, First, End) = (lists, documents, weights, first, end);

        public int[] Documents { get; }
        public byte[] Weights { get; }

        /// <summary>The language's tickets: ids First to End − 1.</summary>
        public int First { get; }
        public int End { get; }

        /// <summary>These lists as the one language a query reads.</summary>
        public Postings[] Alone => field ??= [this];

        public static Postings Of(Dictionary<int, (List<int> Docs, List<float> Weights)> building, int first, int end)
        {
            var total = building.Values.Sum(p => (long)p.Docs.Count);
            if (total > Array.MaxLength)
            {
                throw new InvalidOperationException($"{total:N0} postings in one language are more than an index holds");
            }
            var (documents, weights) = (new int[total], new byte[total]);
            var lists = new PrefetchTable<ListPlace>(building.Count);
            var start = 0;
            foreach (var (term, (docs, termWeights)) in building)
            {
                var order = Enumerable.Range(0, docs.Count).OrderByDescending(i => termWeights[i]).ToArray();
                var scale = termWeights[order[0]] / 255f;
                for (var i = 0; i < order.Length; i++)
                {
                    documents[start + i] = docs[order[i]];
                    weights[start + i] = Quantise(termWeights[order[i]], scale * 255f);
                }
                lists.Add(new ListPlace(term, start, order.Length, scale));
                start += order.Length;
            }
            return new Postings(lists, documents, weights, first, end);
        }

        public bool TryGet(int term, out int start, out int length, out float scale)
        {
            ref readonly var list = ref _lists.Find((uint)term);
            (start, length, scale) = (list.Start, list.Length, list.Scale);
            return !list.IsEmpty;
        }

        public void Prefetch(int term) => _lists.Prefetch((uint)term);

        /// <summary>A term's list: its first posting and how many (no list is empty, so length 0 is the empty entry).</summary>
        private readonly record struct ListPlace(int Term, int Start, int Length, float Scale) : ITableEntry
        {
            public ulong Key => (uint)Term;

            public bool IsEmpty => Length == 0;
        }
    }

    /// <summary>
    /// Every ticket's vector back to back in a few pinned arrays of up to 64 MB, each preceded by its
    /// scale; a ticket's place (its offset over all segments, and its length) in one long. The re-rank reads a candidate
    /// without following a reference to its own array, and fetches the next candidates' bytes while it reads this one's
    /// (<see cref="Prefetch"/>), since these are scattered over a heap of hundreds of megabytes.
    /// </summary>
    internal sealed class Vectors(int count, int segmentBits = 26)
    {
        private const int LengthBits = 24;

        private readonly int _segmentBits = segmentBits;
        private readonly int _segmentBytes = 1 << segmentBits;
        private readonly long[] _places = GC.AllocateArray<long>(count, pinned: true);
        private readonly List<byte[]> _segments = [];
        private nint[] _starts = [];
        private int _used;

        public int Segments => _segments.Count;

        public void Add(int doc, byte[] vector, float scale)
        {
            var size = sizeof(float) + vector.Length;
            if (vector.Length >= 1 << LengthBits || size > _segmentBytes)
            {
                throw new InvalidOperationException($"a ticket's vector of {vector.Length:N0} bytes is more than the index holds");
            }
            if (_segments.Count == 0 || _used + size > _segmentBytes)
            {
                _segments.Add(GC.AllocateUninitializedArray<byte>(Math.Min(_segmentBytes, Math.Max(1 << 16, size)), pinned: true));
                _used = 0;
            }
            var segment = _segments[^1];
            if (_used + size > segment.Length)
            {
                // The open segment doubles until it reaches its full size: a small index takes little more than it needs.
                var grown = GC.AllocateUninitializedArray<byte>(Math.Min(_segmentBytes, Math.Max(_used + size, segment.Length * 2)), pinned: true);
                segment.AsSpan(0, _used).CopyTo(grown);
                _segments[^1] = segment = grown;
            }
            BitConverter.TryWriteBytes(segment.AsSpan(_used), scale);
            vector.CopyTo(segment.AsSpan(_used + sizeof(float)));
            var offset = ((long)(_segments.Count - 1) << _segmentBits) + _used;
            _places[doc] = (offset << LengthBits) | (long)vector.Length;
            _used += size;
        }

        /// <summary>Trims the last segment to what it holds, and notes where each segment is (they are pinned: they stay).</summary>
        public unsafe void Seal()
        {
            if (_segments.Count > 0 && _segments[^1].Length > _used)
            {
                var trimmed = GC.AllocateUninitializedArray<byte>(_used, pinned: true);
                _segments[^1].AsSpan(0, _used).CopyTo(trimmed);
                _segments[^1] = trimmed;
            }
            _starts = [.. _segments.Select(s => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(s)))];
        }

        public ReadOnlySpan<byte> Of(int doc, out float scale)
        {
            var place = _places[doc];
            var offset = place >>> LengthBits;
            var segment = _segments[(int)(offset >> _segmentBits)];
            var start = (int)(offset & (_segmentBytes - 1));
            scale = BitConverter.ToSingle(segment, start);
            return segment.AsSpan(start + sizeof(float), (int)(place & ((1L << LengthBits) - 1)));
        }

        /// <summary>Asks for the cache line that holds the ticket's place, so that <see cref="Prefetch"/> does not wait for it.</summary>
        public void PrefetchPlace(int doc) => CacheLine.Fetch(ref _places[doc]);

        /// <summary>Asks for the ticket's scale and vector, up to 2 KB: the hardware's own prefetch follows a longer one.</summary>
        public unsafe void Prefetch(int doc)
        {
            if (Sse.IsSupported)
            {
                var place = _places[doc];
                var offset = place >>> LengthBits;
                var start = (byte*)_starts[(int)(offset >> _segmentBits)] + (offset & (_segmentBytes - 1));
                var end = start + Math.Min(2_048, sizeof(float) + (place & ((1L << LengthBits) - 1)));
                for (var line = start; line < end; line += 64)
                {
                    Sse.Prefetch0(line);
                }
            }
        }
    }

    /// <summary>
    /// The terms a query can weigh, by hash (in a <see cref="PrefetchTable{T}"/>): each entry the hash, the term's id and
    /// its idf (16 bytes, four to a cache line). A dictionary and three arrays by id cost a query five cache
    /// misses a term at 100,000 tickets; this one, mostly (bench/README.md, 2026-12-07, noon).
    /// </summary>
    private readonly record struct LexiconEntry(ulong Key, int IdPlusOne, float Idf) : ITableEntry
    {
        public int Id => IdPlusOne - 1;

        /// <summary>The term's id is stored + 1, so that the default entry is empty.</summary>
        public bool IsEmpty => IdPlusOne == 0;
    }
}

/// <summary>How many neighbours compete, and how fast a neighbour's weight falls with its distance from the best.</summary>
internal sealed record RetrievalSettings(int Neighbours, double Temperature)
{
    public static RetrievalSettings Default { get; } = new(20, 0.05);
}
