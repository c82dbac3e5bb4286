using System.Runtime.InteropServices;

namespace CommentFlow.OwnModel;

/// <summary>
/// A reply composed for this ticket from the sentences of its nearest past tickets' answers.
/// <paramref name="Kept"/>: the share of the neighbours' sentences that could be kept (adapted or as they were), each
/// neighbour weighted as the composer weighs it, <c>exp((sim − best) / T)</c>: a far neighbour's unadaptable letter
/// says little about this reply.
/// </summary>
internal sealed record Composition(string Text, IReadOnlyList<ComposedSentence> Sentences, bool MentionsTicket, bool TicketHasParticulars,
    double Kept);

/// <param name="AdaptedText">The sentence as adapted; null when it is kept as it was (its text is read from its answer only
/// if it is chosen: most of the pool is not).</param>
/// <param name="Tokens">Its words; a kept sentence's are a slice of its answer's, not a copy.</param>
/// <param name="Source">The neighbour (rank among the nearest) the sentence comes from.</param>
/// <param name="Doc">That neighbour's ticket in the index.</param>
/// <param name="Index">The sentence's place among its answer's sentences.</param>
internal sealed record ComposedSentence(string? AdaptedText, ReadOnlyMemory<int> Tokens, double Position, int Source, int Doc, int Index,
    bool Mentions)
{
    public bool Adapted => AdaptedText is not null;
}

/// <summary>
/// The own model's reply composer (bench/research/README.md has how each choice was cross-validated on the train sides).
/// <list type="number">
/// <item>Pool: the sentences of the <see cref="PoolNeighbours"/> nearest answers. A sentence naming particulars (see
/// <see cref="Particulars"/>) that this ticket lacks has the span around them, grown over the words its own ticket gave
/// it, replaced by this ticket's key phrase; where that span would cross a clause, the sentence is left out.</item>
/// <item>Choice: sentences are added greedily while they raise the expected ROUGE-L against the
/// <see cref="ReferenceNeighbours"/> nearest answers (each weighted <c>exp((sim − best) / T)</c>, minimum Bayes risk
/// over a reply instead of over whole letters) plus ROUGE-L against this ticket's own text, since real replies echo
/// their ticket. They keep their letters' order: greeting, steps, closing.</item>
/// <item>When nothing chosen names this ticket's particulars, the best sentence that does is added.</item>
/// </list>
/// </summary>
internal static partial class ReplyComposer
{
    public const int PoolNeighbours = 8;
    public const int ReferenceNeighbours = 10;
    public const double Temperature = 0.2;
    public const double TicketWeight = 1.0;
    internal const int MaxSentences = 16;
    private const int MaxAdaptedSpan = 8;
    private const int OpeningWords = 5;

    [ThreadStatic]
    private static BitParallelLcs[]? s_patterns;

    [ThreadStatic]
    private static Dictionary<int, int>? s_slots;

    [ThreadStatic]
    private static List<int>? s_table;

    [ThreadStatic]
    private static int[]? s_rowData, s_rowStart, s_alone;

    [ThreadStatic]
    private static char[]? s_layout;

    public static Composition Compose(RetrievalIndex index, IReadOnlyList<(int Doc, float Similarity)> neighbours, QueryWords query)
    {
        var (pool, kept, all) = Pool(index, neighbours, query);
        var objective = new Objective(index, neighbours, query, pool);
        var chosen = objective.Choose();
        var ownParticulars = query.HasOwnParticulars;
        if (ownParticulars && !chosen.Any(c => pool[c].Mentions))
        {
            var naming = Enumerable.Range(0, pool.Count).Where(p => pool[p].Mentions && !chosen.Contains(p)).ToList();
            if (naming.Count > 0)
            {
                objective.Insert(chosen, naming.MaxBy(p => objective.ScoreWith(chosen, p)));
            }
        }
        var ordered = chosen.Select(c => pool[c]).ToList();
        return new Composition(Layout(index, ordered), ordered, ordered.Any(c => c.Mentions), ownParticulars, all == 0 ? 0 : kept / all);
    }

    /// <summary>
    /// The sentences the reply is chosen from: the nearest answers' sentences, adapted to this ticket, each once; and the
    /// weights of the sentences kept and of all of them.
    /// </summary>
    internal static (List<ComposedSentence> Pool, double Kept, double All) Pool(RetrievalIndex index,
        IReadOnlyList<(int Doc, float Similarity)> neighbours, QueryWords query)
    {
        var phrase = query.KeyPhrase;
        var pool = new List<ComposedSentence>();
        var seen = new HashSet<int>();
        double kept = 0, all = 0;
        for (var rank = 0; rank < Math.Min(PoolNeighbours, neighbours.Count); rank++)
        {
            var doc = neighbours[rank].Doc;
            var weight = Math.Exp((neighbours[rank].Similarity - neighbours[0].Similarity) / Temperature);
            var answer = new AnswerText(index, doc); // decoded only if a sentence is adapted
            var tokens = index.AnswerTokensOf(doc);
            var sentences = index.SentencesOf(doc);
            for (var k = 0; k < sentences.Length; k++)
            {
                var adapted = Adapt(index, doc, ref answer, tokens, sentences[k], k == 0, k == sentences.Length - 1, query, phrase);
                all += weight;
                if (adapted is not { } a)
                {
                    continue;
                }
                kept += weight;
                if (!seen.Add(Key(a.Tokens.Span)))
                {
                    continue;
                }
                pool.Add(new ComposedSentence(a.Text, a.Tokens, (double)k / sentences.Length, rank, doc, k, Mentions(a.Tokens.Span, query)));
            }
        }
        return (pool, kept, all);
    }

    private static bool Mentions(ReadOnlySpan<int> tokens, QueryWords query)
    {
        foreach (var t in tokens)
        {
            if (query.IsOwnParticular(t))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>One sentence a line; a list's steps taken from several letters are numbered again, 1, 2, 3.</summary>
    private static string Layout(RetrievalIndex index, List<ComposedSentence> sentences)
    {
        var text = new System.Text.StringBuilder();
        var step = 0;
        foreach (var s in sentences)
        {
            ReadOnlySpan<char> sentence = s.AdaptedText;
            if (s.AdaptedText is null)
            {
                // Kept as it was: read from its letter, decoded again for each such sentence (a few hundred bytes, no string).
                var range = index.SentencesOf(s.Doc)[s.Index];
                sentence = index.AnswerChars(s.Doc, ref s_layout)[range.Start..range.End];
            }
            var marker = 0;
            foreach (var m in ListMarker().EnumerateMatches(sentence))
            {
                marker = m.Length;
            }
            step = marker > 0 ? step + 1 : 0;
            if (text.Length > 0)
            {
                text.Append('\n');
            }
            if (marker > 0)
            {
                text.Append(step).Append(". ").Append(sentence[marker..]);
            }
            else
            {
                text.Append(sentence);
            }
        }
        return text.ToString();
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{1,3}\.\s+")]
    private static partial System.Text.RegularExpressions.Regex ListMarker();

    /// <summary>Sentences with the same words are one: the same greeting in eight letters is offered once.</summary>
    private static int Key(ReadOnlySpan<int> tokens)
    {
        var hash = new HashCode();
        hash.AddBytes(MemoryMarshal.AsBytes(tokens));
        return hash.ToHashCode();
    }

    /// <summary>
    /// Expected ROUGE-L of a reply against the nearest answers plus its ROUGE-L against the ticket's own words, by
    /// bit-parallel LCS with each pattern's state kept after every prefix of the reply: trying a sentence costs its own
    /// words and those after it, and each sentence's words are looked up in each pattern once per query.
    /// </summary>
    internal sealed class Objective
    {
        private readonly List<ComposedSentence> _pool;
        private readonly BitParallelLcs[] _patterns;
        private readonly double[] _weights;
        private readonly int[] _offsets;
        private readonly int _stateWords;
        // Each pool sentence's matching tokens, as rows of each pattern: one flat per-thread array, sentence by sentence
        // and pattern by pattern, its bounds in _rowStart. Jagged, they were a third of what a composition allocated
        // (bench/README.md, 2026-12-07, night).
        private readonly int[] _rowData;
        private readonly int[] _rowStart;
        private readonly int[] _alone;
        private readonly int[] _readOrder;

        public Objective(RetrievalIndex index, IReadOnlyList<(int Doc, float Similarity)> neighbours, QueryWords query, List<ComposedSentence> pool)
        {
            _pool = pool;
            var references = Math.Min(ReferenceNeighbours, neighbours.Count);
            var patterns = s_patterns ??= [.. Enumerable.Range(0, ReferenceNeighbours + 1).Select(_ => new BitParallelLcs())];
            _patterns = patterns[..(references + 1)];
            _weights = new double[references + 1];
            double sum = 0;
            for (var i = 0; i < references; i++)
            {
                _weights[i] = Math.Exp((neighbours[i].Similarity - neighbours[0].Similarity) / Temperature);
                sum += _weights[i];
                _patterns[i].Reset(index.AnswerTokensOf(neighbours[i].Doc));
            }
            for (var i = 0; i < references; i++)
            {
                _weights[i] /= sum;
            }
            _weights[references] = TicketWeight;
            _readOrder = [references, .. Enumerable.Range(0, references)];
            _patterns[references].Reset(query.Tokens);
            _offsets = new int[_patterns.Length];
            for (var k = 0; k < _patterns.Length; k++)
            {
                _offsets[k] = _stateWords;
                _stateWords += _patterns[k].Words;
            }
            // Each token the patterns hold gets a slot with its row in every pattern: a pool token is looked up once, not
            // once a pattern.
            var slots = s_slots ??= [];
            slots.Clear();
            var table = s_table ??= [];
            table.Clear();
            for (var k = 0; k < _patterns.Length; k++)
            {
                foreach (var (token, row) in _patterns[k].Rows)
                {
                    ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(slots, token, out var exists);
                    if (!exists)
                    {
                        slot = table.Count;
                        for (var j = 0; j < _patterns.Length; j++)
                        {
                            table.Add(-1);
                        }
                    }
                    table[slot + k] = row;
                }
            }
            var stride = _patterns.Length;
            _rowStart = PerThread.Buffer(ref s_rowStart, (pool.Count * stride) + 1);
            var counts = new int[stride];
            var total = 0;
            for (var p = 0; p < pool.Count; p++)
            {
                Array.Clear(counts);
                foreach (var t in pool[p].Tokens.Span)
                {
                    if (slots.TryGetValue(t, out var slot))
                    {
                        for (var k = 0; k < stride; k++)
                        {
                            counts[k] += table[slot + k] >= 0 ? 1 : 0;
                        }
                    }
                }
                for (var k = 0; k < stride; k++)
                {
                    _rowStart[(p * stride) + k] = total;
                    total += counts[k];
                }
            }
            _rowStart[pool.Count * stride] = total;
            _rowData = PerThread.Buffer(ref s_rowData, total);
            for (var p = 0; p < pool.Count; p++)
            {
                _rowStart.AsSpan(p * stride, stride).CopyTo(counts); // where each pattern's next row goes
                foreach (var t in pool[p].Tokens.Span)
                {
                    if (slots.TryGetValue(t, out var slot))
                    {
                        for (var k = 0; k < stride; k++)
                        {
                            if (table[slot + k] is var row and >= 0)
                            {
                                _rowData[counts[k]++] = row;
                            }
                        }
                    }
                }
            }
            // Each sentence's LCS with each pattern on its own: what adding it can add at most (see Bound).
            _alone = PerThread.Buffer(ref s_alone, pool.Count * stride);
            var alone = new ulong[_stateWords];
            for (var p = 0; p < pool.Count; p++)
            {
                BitParallelLcs.Start(alone);
                Read(alone, p);
                for (var k = 0; k < stride; k++)
                {
                    _alone[(p * stride) + k] = _patterns[k].LcsOf(alone.AsSpan(_offsets[k], _patterns[k].Words));
                }
            }
        }

        /// <summary>Sentence <paramref name="sentence"/>'s matching tokens as rows of pattern <paramref name="k"/>.</summary>
        private ReadOnlySpan<int> Rows(int sentence, int k)
        {
            var at = (sentence * _patterns.Length) + k;
            return _rowData.AsSpan(_rowStart[at], _rowStart[at + 1] - _rowStart[at]);
        }

        /// <summary>
        /// Greedy: the sentence that raises the objective most, until none does (the first in pool order among equals).
        /// Candidates are tried in the order of an upper bound of their objective (see <see cref="Bound"/>), and the trying stops when no bound left reaches the best found: the same
        /// choice as trying them all, for a fraction of the reads.
        /// </summary>
        public List<int> Choose()
        {
            var chosen = new List<int>();
            var isChosen = new bool[_pool.Count];
            var best = 0.0;
            var prefixes = new ulong[(MaxSentences + 1) * _stateWords];
            var state = new ulong[_stateWords];
            var current = new int[_patterns.Length];
            var bounds = new (double Bound, int Candidate)[_pool.Count];
            // The patterns' states after each prefix of the reply as it stands; those before the last insertion stay valid.
            BitParallelLcs.Start(prefixes.AsSpan(0, _stateWords));
            var valid = 0;
            var length = 0;
            for (var step = 0; step < MaxSentences; step++)
            {
                for (var c = valid; c < chosen.Count; c++)
                {
                    var from = prefixes.AsSpan(c * _stateWords, _stateWords);
                    var to = prefixes.AsSpan((c + 1) * _stateWords, _stateWords);
                    from.CopyTo(to);
                    Read(to, chosen[c]);
                }
                var whole = prefixes.AsSpan(chosen.Count * _stateWords, _stateWords);
                for (var k = 0; k < _patterns.Length; k++)
                {
                    current[k] = _patterns[k].LcsOf(whole.Slice(_offsets[k], _patterns[k].Words));
                }
                var open = 0;
                for (var candidate = 0; candidate < _pool.Count; candidate++)
                {
                    if (!isChosen[candidate])
                    {
                        bounds[open++] = (Bound(current, candidate, length + _pool[candidate].Tokens.Length), candidate);
                    }
                }
                var order = bounds.AsSpan(0, open);
                order.Sort(static (a, b) => b.Bound.CompareTo(a.Bound));

                int pick = -1, pickAt = 0;
                var pickScore = best + 1e-9;
                foreach (var (bound, candidate) in order)
                {
                    if (bound < pickScore)
                    {
                        break; // neither this one nor any after it can reach the best
                    }
                    var at = InsertionPoint(chosen, candidate);
                    var newLength = length + _pool[candidate].Tokens.Length;
                    prefixes.AsSpan(at * _stateWords, _stateWords).CopyTo(state);
                    if (!MayReach(state, candidate, at, chosen, current, newLength, bound, pickScore))
                    {
                        continue;
                    }
                    var score = Score(state, newLength);
                    if (score > pickScore || (score == pickScore && pick >= 0 && candidate < pick))
                    {
                        (pick, pickAt, pickScore) = (candidate, at, score);
                    }
                }
                if (pick < 0 || chosen.Count == MaxSentences)
                {
                    break;
                }
                chosen.Insert(pickAt, pick);
                isChosen[pick] = true;
                best = pickScore;
                valid = pickAt;
                length += _pool[pick].Tokens.Length;
            }
            return chosen;
        }

        /// <summary>
        /// Reads the candidate and the chosen sentences after it into the state one pattern at a time, the ticket's first
        /// (it weighs as much as all the neighbours together), and stops once the exact terms read so far plus the bounds
        /// of the patterns not read yet (see <see cref="Bound"/>) cannot reach <paramref name="pickScore"/>: the trial
        /// could not be picked. True when every pattern was read. The picks are the same as reading them all; the
        /// composition's p99 at 100,000 tickets fell from 1.37–1.58 to 0.84–0.95 ms (bench/README.md, 2026-12-07, late morning).
        /// </summary>
        private bool MayReach(Span<ulong> state, int candidate, int at, List<int> chosen, int[] current, int length, double bound,
            double pickScore)
        {
            var (exact, rest) = (0.0, bound);
            foreach (var k in _readOrder)
            {
                var part = state.Slice(_offsets[k], _patterns[k].Words);
                _patterns[k].Advance(part, Rows(candidate, k));
                for (var c = at; c < chosen.Count; c++)
                {
                    _patterns[k].Advance(part, Rows(chosen[c], k));
                }
                exact += Term(k, _patterns[k].LcsOf(part), length);
                rest -= Term(k, Math.Min(_patterns[k].Length, current[k] + _alone[(candidate * _patterns.Length) + k]), length);
                // The margin absorbs the rounding of summing the same terms in another order than Bound and Score do.
                if (exact + rest < pickScore - 1e-9)
                {
                    return false;
                }
            }
            return true;
        }

        private double Term(int k, int lcs, int length) => lcs > 0 ? _weights[k] * 2.0 * lcs / (_patterns[k].Length + length) : 0;

        /// <summary>
        /// At least the objective of the reply with <paramref name="candidate"/> added, <paramref name="length"/> words long:
        /// the same sum as <see cref="Score"/>, each LCS replaced by its largest possible value, the reply's LCS now plus the
        /// sentence's own LCS with the pattern (a common subsequence splits into the part in the sentence and the rest).
        /// </summary>
        private double Bound(int[] current, int candidate, int length)
        {
            var score = 0.0;
            for (var k = 0; k < _patterns.Length; k++)
            {
                score += Term(k, Math.Min(_patterns[k].Length, current[k] + _alone[(candidate * _patterns.Length) + k]), length);
            }
            return score;
        }

        /// <summary>The objective of the reply with one more sentence, in letter order.</summary>
        public double ScoreWith(List<int> chosen, int candidate)
        {
            var state = new ulong[_stateWords];
            BitParallelLcs.Start(state);
            var at = InsertionPoint(chosen, candidate);
            var length = 0;
            for (var c = 0; c <= chosen.Count; c++)
            {
                var s = c < at ? chosen[c] : c == at ? candidate : chosen[c - 1];
                Read(state, s);
                length += _pool[s].Tokens.Length;
            }
            return Score(state, length);
        }

        public void Insert(List<int> chosen, int candidate) => chosen.Insert(InsertionPoint(chosen, candidate), candidate);

        /// <summary>Where a sentence goes in the reply: by its relative place in its letter, then its letter's rank.</summary>
        private int InsertionPoint(List<int> chosen, int candidate)
        {
            var at = 0;
            while (at < chosen.Count && Before(chosen[at], candidate))
            {
                at++;
            }
            return at;
        }

        private bool Before(int a, int b)
        {
            var (x, y) = (_pool[a], _pool[b]);
            return x.Position != y.Position ? x.Position < y.Position : x.Source != y.Source ? x.Source < y.Source : x.Index < y.Index;
        }

        private void Read(Span<ulong> state, int sentence)
        {
            for (var k = 0; k < _patterns.Length; k++)
            {
                _patterns[k].Advance(state.Slice(_offsets[k], _patterns[k].Words), Rows(sentence, k));
            }
        }

        private double Score(ReadOnlySpan<ulong> state, int length)
        {
            var score = 0.0;
            for (var k = 0; k < _patterns.Length; k++)
            {
                score += Term(k, _patterns[k].LcsOf(state.Slice(_offsets[k], _patterns[k].Words)), length);
            }
            return score;
        }
    }

    /// <summary>A past answer as a whole, adapted sentence by sentence; null when less than half of it could be kept.</summary>
    public static (string Text, double Kept)? AdaptWhole(RetrievalIndex index, int doc, QueryWords query)
    {
        var answer = new AnswerText(index, doc);
        var sentences = index.SentencesOf(doc);
        var kept = new List<(int Sentence, string? Adapted)>(sentences.Length);
        var adapted = false;
        for (var k = 0; k < sentences.Length; k++)
        {
            if (Adapt(index, doc, ref answer, index.AnswerTokensOf(doc), sentences[k], k == 0, k == sentences.Length - 1, query, query.KeyPhrase) is { } a)
            {
                kept.Add((k, a.Text));
                adapted |= a.Text is not null;
            }
        }
        if (kept.Count * 2 < sentences.Length || kept.Count == 0)
        {
            return null;
        }
        // Untouched, the letter keeps its own layout; adapted, its kept sentences one per line.
        if (kept.Count == sentences.Length && !adapted)
        {
            return (answer.Chars.Trim().ToString(), 1.0);
        }
        var text = new System.Text.StringBuilder();
        foreach (var (k, sentence) in kept)
        {
            if (text.Length > 0)
            {
                text.Append('\n');
            }
            if (sentence is null)
            {
                text.Append(answer.Chars[sentences[k].Start..sentences[k].End]);
            }
            else
            {
                text.Append(sentence);
            }
        }
        return (text.ToString(), (double)kept.Count / sentences.Length);
    }

    /// <summary>
    /// A past answer's text, decoded into a per-thread buffer when first asked for: most sentences need no adapting, and
    /// decoding every neighbour's letter into a string of its own was about half of what a composition allocated.
    /// </summary>
    internal ref struct AnswerText(RetrievalIndex index, int doc)
    {
        [ThreadStatic]
        private static char[]? s_buffer;

        private ReadOnlySpan<char> _chars;
        private bool _decoded;

        public ReadOnlySpan<char> Chars
        {
            get
            {
                if (!_decoded)
                {
                    _chars = index.AnswerChars(doc, ref s_buffer);
                    _decoded = true;
                }
                return _chars;
            }
        }
    }

    /// <summary>
    /// The sentence as it fits this ticket: unchanged when it names no particular this ticket lacks (no text then: the
    /// caller reads it from the answer if it needs it); with the span around those particulars (and the words its own
    /// ticket gave it) replaced by this ticket's key phrase; or null when it cannot be adapted (no key phrase, a span over
    /// <see cref="MaxAdaptedSpan"/> words or across a clause). <paramref name="answer"/> is decoded here when first needed.
    /// </summary>
    internal static (string? Text, ReadOnlyMemory<int> Tokens)? Adapt(RetrievalIndex index, int doc, ref AnswerText answer, int[] answerTokens,
        ReplySentence sentence, bool first, bool last, QueryWords query, KeyPhrase? phrase)
    {
        var particulars = index.Particulars;
        var whole = answerTokens.AsMemory(sentence.FirstToken, sentence.TokenCount);
        var tokens = whole.Span;
        int lo = -1, hi = -1;
        for (var k = 0; k < tokens.Length; k++)
        {
            if (particulars.IsParticular(tokens[k]) && !query.Contains(tokens[k]))
            {
                lo = lo < 0 ? k : lo;
                hi = k;
            }
        }
        // A letter's opening or signature line with a particular mirrors another customer's greeting, names them or
        // another team: it goes (another neighbour's can take its place). A key phrase never greets or signs.
        var opening = (first || last) && tokens.Length <= OpeningWords;
        if (lo < 0)
        {
            return (null, whole);
        }
        if (opening)
        {
            return null;
        }
        if (phrase is null)
        {
            return null;
        }
        var source = index.TicketWordsOf(doc);
        bool FromItsTicket(int t) => Array.BinarySearch(source, t) >= 0 && !query.Contains(t) && !particulars.IsCommon(t);
        while (lo > 0 && FromItsTicket(tokens[lo - 1]))
        {
            lo--;
        }
        while (hi + 1 < tokens.Length && FromItsTicket(tokens[hi + 1]))
        {
            hi++;
        }
        // The phrase's own words beside the span are part of it: "your Samsung QLED Q90T" becomes "your Samsung QLED
        // Q80T", not "your Samsung QLED Samsung QLED Q80T".
        while (lo > 0 && phrase.Tokens.Contains(tokens[lo - 1]))
        {
            lo--;
        }
        while (hi + 1 < tokens.Length && phrase.Tokens.Contains(tokens[hi + 1]))
        {
            hi++;
        }
        if (hi - lo + 1 > MaxAdaptedSpan)
        {
            return null;
        }
        var text = answer.Chars[sentence.Start..sentence.End];
        // Where the words are in the sentence's text: the same \w+ matches the answer's tokens came from.
        int from = 0, to = 0, k2 = 0;
        foreach (var m in TicketText.WordPattern.EnumerateMatches(text)) // \w+ matches the same spans in any case
        {
            if (k2 == lo)
            {
                from = m.Index;
            }
            if (k2 == hi)
            {
                to = m.Index + m.Length;
                break;
            }
            k2++;
        }
        if (text[from..to].IndexOfAny(".!?;:\n") >= 0)
        {
            return null;
        }
        int[] adapted = [.. tokens[..lo], .. phrase.Tokens, .. tokens[(hi + 1)..]];
        return (string.Concat(text[..from], phrase.Text, text[to..]), adapted);
    }
}

/// <summary>This ticket's key phrase: its words as the index numbers them, and its text as the customer wrote it.</summary>
internal sealed record KeyPhrase(string Text, int[] Tokens);
