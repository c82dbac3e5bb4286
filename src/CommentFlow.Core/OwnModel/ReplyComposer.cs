using System.Runtime.InteropServices;
using CommentFlow.Training;

namespace CommentFlow.OwnModel;

/// <summary>
/// A reply composed for this ticket from the sentences of its nearest past tickets' answers.
/// <paramref name="Adapted"/>: sentences whose past particulars were replaced by this ticket's key phrase;
/// <paramref name="Dropped"/>: sentences of the neighbours left out because their particulars could not be adapted.
/// </summary>
internal sealed record Composition(string Text, IReadOnlyList<ComposedSentence> Sentences, int Adapted, int Dropped, int Pooled,
    bool MentionsTicket, bool TicketHasParticulars);

/// <param name="Source">The neighbour (rank among the nearest) the sentence comes from.</param>
internal sealed record ComposedSentence(string Text, int[] Tokens, double Position, int Source, int Index, bool Adapted, bool Mentions);

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
internal static class ReplyComposer
{
    public const int PoolNeighbours = 8;
    public const int ReferenceNeighbours = 10;
    public const double Temperature = 0.2;
    public const double TicketWeight = 1.0;
    private const int MaxSentences = 16;
    private const int MaxAdaptedSpan = 8;

    [ThreadStatic]
    private static BitParallelLcs[]? s_references;

    [ThreadStatic]
    private static List<int>? s_buffer;

    public static Composition Compose(RetrievalIndex index, IReadOnlyList<(int Doc, float Similarity)> neighbours, QueryWords query)
    {
        var phrase = query.KeyPhrase;
        var pool = new List<ComposedSentence>();
        var seen = new HashSet<int>();
        var dropped = 0;
        for (var rank = 0; rank < Math.Min(PoolNeighbours, neighbours.Count); rank++)
        {
            var doc = neighbours[rank].Doc;
            var answer = index.AnswerOf(doc);
            var tokens = index.AnswerTokensOf(doc);
            var sentences = index.SentencesOf(doc);
            for (var k = 0; k < sentences.Length; k++)
            {
                var adapted = Adapt(index, doc, answer, tokens, sentences[k], query, phrase);
                if (adapted is not { } a)
                {
                    dropped++;
                    continue;
                }
                if (!seen.Add(Key(a.Tokens)))
                {
                    continue;
                }
                pool.Add(new ComposedSentence(a.Text, a.Tokens, (double)k / sentences.Length, rank, k, a.Adapted,
                    a.Tokens.Any(query.IsOwnParticular)));
            }
        }

        var chosen = Choose(index, neighbours, query, pool);
        var ownParticulars = query.HasOwnParticulars;
        if (ownParticulars && !chosen.Any(c => c.Mentions))
        {
            var naming = pool.Where(p => p.Mentions && !chosen.Contains(p)).ToList();
            if (naming.Count > 0)
            {
                var objective = new Objective(index, neighbours, query);
                chosen.Add(naming.MaxBy(p => objective.Score(Ordered([.. chosen, p])))!);
            }
        }
        var ordered = Ordered(chosen);
        return new Composition(string.Join('\n', ordered.Select(c => c.Text)), ordered, ordered.Count(c => c.Adapted), dropped,
            pool.Count, ordered.Any(c => c.Mentions), ownParticulars);
    }

    private static List<ComposedSentence> Choose(RetrievalIndex index, IReadOnlyList<(int Doc, float Similarity)> neighbours,
        QueryWords query, List<ComposedSentence> pool)
    {
        var objective = new Objective(index, neighbours, query);
        var chosen = new List<ComposedSentence>();
        var best = 0.0;
        for (var step = 0; step < MaxSentences; step++)
        {
            ComposedSentence? pick = null;
            var pickScore = best + 1e-9;
            foreach (var candidate in pool)
            {
                if (chosen.Contains(candidate))
                {
                    continue;
                }
                chosen.Add(candidate);
                var score = objective.Score(Ordered(chosen));
                chosen.RemoveAt(chosen.Count - 1);
                if (score > pickScore)
                {
                    (pick, pickScore) = (candidate, score);
                }
            }
            if (pick is null)
            {
                break;
            }
            chosen.Add(pick);
            best = pickScore;
        }
        return chosen;
    }

    /// <summary>Sentences with the same words are one: the same greeting in eight letters is offered once.</summary>
    private static int Key(int[] tokens)
    {
        var hash = new HashCode();
        hash.AddBytes(MemoryMarshal.AsBytes(tokens.AsSpan()));
        return hash.ToHashCode();
    }

    private static List<ComposedSentence> Ordered(List<ComposedSentence> sentences) =>
        [.. sentences.OrderBy(s => s.Position).ThenBy(s => s.Source).ThenBy(s => s.Index)];

    /// <summary>Expected ROUGE-L of a reply against the nearest answers, plus its ROUGE-L against the ticket's own words.</summary>
    private sealed class Objective
    {
        private readonly BitParallelLcs[] _references;
        private readonly double[] _weights;
        private readonly double _weightSum;
        private readonly QueryWords _query;
        private readonly List<int> _buffer;

        public Objective(RetrievalIndex index, IReadOnlyList<(int Doc, float Similarity)> neighbours, QueryWords query)
        {
            var r = Math.Min(ReferenceNeighbours, neighbours.Count);
            var pool = s_references ??= [.. Enumerable.Range(0, ReferenceNeighbours + 1).Select(_ => new BitParallelLcs())];
            _references = pool;
            _weights = new double[r];
            for (var i = 0; i < r; i++)
            {
                _weights[i] = Math.Exp((neighbours[i].Similarity - neighbours[0].Similarity) / Temperature);
                pool[i].Reset(index.AnswerTokensOf(neighbours[i].Doc));
                _weightSum += _weights[i];
            }
            pool[ReferenceNeighbours].Reset(query.Tokens);
            _query = query;
            _buffer = s_buffer ??= new List<int>(1_024);
        }

        public double Score(List<ComposedSentence> ordered)
        {
            _buffer.Clear();
            foreach (var s in ordered)
            {
                _buffer.AddRange(s.Tokens);
            }
            var text = CollectionsMarshal.AsSpan(_buffer);
            var expected = 0.0;
            for (var i = 0; i < _weights.Length; i++)
            {
                expected += _weights[i] * _references[i].RougeL(text);
            }
            return (_weightSum > 0 ? expected / _weightSum : 0) + (TicketWeight * _references[ReferenceNeighbours].RougeL(text));
        }
    }

    /// <summary>A past answer as a whole, adapted sentence by sentence; null when less than half of it could be kept.</summary>
    public static (string Text, double Kept)? AdaptWhole(RetrievalIndex index, int doc, QueryWords query)
    {
        var answer = index.AnswerOf(doc);
        var sentences = index.SentencesOf(doc);
        var kept = new List<string>(sentences.Length);
        var adapted = false;
        foreach (var sentence in sentences)
        {
            if (Adapt(index, doc, answer, index.AnswerTokensOf(doc), sentence, query, query.KeyPhrase) is { } a)
            {
                kept.Add(a.Text);
                adapted |= a.Adapted;
            }
        }
        if (kept.Count * 2 < sentences.Length || kept.Count == 0)
        {
            return null;
        }
        // Untouched, the letter keeps its own layout; adapted, its kept sentences one per line.
        return (kept.Count == sentences.Length && !adapted ? answer.Trim() : string.Join('\n', kept), (double)kept.Count / sentences.Length);
    }

    /// <summary>
    /// The sentence as it fits this ticket: unchanged when it names no particular this ticket lacks; with the span around
    /// those particulars (and the words its own ticket gave it) replaced by this ticket's key phrase; or null when it cannot
    /// be adapted (no key phrase, a span over <see cref="MaxAdaptedSpan"/> words or across a clause).
    /// </summary>
    internal static (string Text, int[] Tokens, bool Adapted)? Adapt(RetrievalIndex index, int doc, string answer, int[] answerTokens,
        ReplySentence sentence, QueryWords query, KeyPhrase? phrase)
    {
        var particulars = index.Particulars;
        var tokens = answerTokens.AsSpan(sentence.FirstToken, sentence.TokenCount);
        int lo = -1, hi = -1;
        for (var k = 0; k < tokens.Length; k++)
        {
            if (particulars.IsParticular(tokens[k]) && !query.Contains(tokens[k]))
            {
                lo = lo < 0 ? k : lo;
                hi = k;
            }
        }
        var text = answer[sentence.Start..sentence.End];
        if (lo < 0)
        {
            return (text, tokens.ToArray(), false);
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
        if (hi - lo + 1 > MaxAdaptedSpan)
        {
            return null;
        }
        // Where the words are in the sentence's text: the same \w+ matches the answer's tokens came from.
        int from = 0, to = 0, k2 = 0;
        foreach (var m in TextMetrics.WordPattern.EnumerateMatches(text.ToLowerInvariant()))
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
        if (text.AsSpan(from, to - from).IndexOfAny(".!?;:\n") >= 0)
        {
            return null;
        }
        int[] adapted = [.. tokens[..lo], .. phrase.Tokens, .. tokens[(hi + 1)..]];
        return (string.Concat(text.AsSpan(0, from), phrase.Text, text.AsSpan(to)), adapted, true);
    }
}

/// <summary>This ticket's key phrase: its words as the index numbers them, and its text as the customer wrote it.</summary>
internal sealed record KeyPhrase(string Text, int[] Tokens);
