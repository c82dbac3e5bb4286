using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace CommentFlow.Training;

/// <summary>
/// The own generator: past tickets indexed by TF-IDF over word 1–2-grams and character 3–5-grams (sublinear tf, smoothed
/// idf, each part L2-normalised: the features of the shared scikit-learn baseline), per language in an inverted index.
/// For a new ticket the nearest past tickets of its language are found, and among their comments the one with the
/// highest expected agreement with the unknown right answer wins (see <see cref="Rank"/>). That beats the single
/// nearest answer.
/// <para>
/// A query scans the postings of its <see cref="QueryTerms"/> heaviest terms only, then re-ranks the best
/// <see cref="Candidates"/> exactly; answers are compared by ROUGE-L over interned token ids, each pair computed once.
/// Keeping only a ticket's heaviest terms (<see cref="TermsPerDocument"/>) would save memory, but measured on the shared
/// tickets even 500 terms cost .01–.02 ROUGE-L, so every term is kept for now (see bench/README.md).
/// </para>
/// </summary>
internal sealed class RetrievalIndex
{
    public const int TermsPerDocument = int.MaxValue;
    public const int QueryTerms = 120;
    public const int Candidates = 200;
    private const int MaxRememberedPairs = 2_000_000;
    private const string WordPrefix = "w:";
    private const string CharPrefix = "c:";

    private readonly Dictionary<string, int> _vocabulary;
    private readonly float[] _idf;
    private readonly bool[] _isChar;
    private readonly int[] _documentFrequency;
    private readonly Document[] _documents;
    private readonly Answer[] _answers;
    private readonly Dictionary<string, Dictionary<int, Posting[]>> _postings;
    private readonly ConcurrentDictionary<long, float> _agreements = new();

    private RetrievalIndex(Dictionary<string, int> vocabulary, float[] idf, bool[] isChar, int[] documentFrequency, Document[] documents,
        Answer[] answers, Dictionary<string, Dictionary<int, Posting[]>> postings)
    {
        _vocabulary = vocabulary;
        _idf = idf;
        _isChar = isChar;
        _documentFrequency = documentFrequency;
        _documents = documents;
        _answers = answers;
        _postings = postings;
    }

    public int Count => _documents.Length;

    /// <summary>A past ticket: which answer it had, its language, and its vector (term ids ascending, weights alongside).</summary>
    private sealed record Document(int Answer, string Language, int[] Terms, float[] Weights);

    /// <summary>A distinct comment: its text, type, source confidence, and its tokens as interned ids in text order, for agreement.</summary>
    private sealed record Answer(string Text, string Type, double Confidence, int[] Tokens);

    private readonly record struct Posting(int Document, float Weight);

    public sealed record Candidate(string Answer, string Type, double Similarity, double Score);

    public static RetrievalIndex Build(IReadOnlyList<RetrievalItem> items)
    {
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        var documentFrequency = new List<int>();
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
        var isChar = new bool[vocabulary.Count];
        foreach (var (term, id) in vocabulary)
        {
            isChar[id] = term.StartsWith(CharPrefix, StringComparison.Ordinal);
        }

        var answerIds = new Dictionary<(string, string), int>();
        var answers = new List<Answer>();
        var tokenIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var documents = new Document[n];
        var building = new Dictionary<string, Dictionary<int, List<Posting>>>();
        for (var d = 0; d < n; d++)
        {
            var item = items[d];
            ref var answer = ref CollectionsMarshal.GetValueRefOrAddDefault(answerIds, (item.Answer, item.Type), out var known);
            if (!known)
            {
                answer = answers.Count;
                var tokens = TextMetrics.Tokens(item.Answer).Select(t =>
                {
                    ref var tid = ref CollectionsMarshal.GetValueRefOrAddDefault(tokenIds, t, out var seen);
                    if (!seen)
                    {
                        tid = tokenIds.Count - 1;
                    }
                    return tid;
                }).ToArray();
                answers.Add(new Answer(item.Answer, item.Type, item.Confidence, tokens));
            }

            var vector = Vector(termCounts[d], idf, isChar, df).OrderByDescending(t => t.Weight).Take(TermsPerDocument).OrderBy(t => t.Term).ToArray();
            termCounts[d] = null!; // release as we go: the counts of 100,000 tickets are the build's largest cost
            documents[d] = new Document(answer, item.Language, vector.Select(t => t.Term).ToArray(), vector.Select(t => t.Weight).ToArray());
            if (!building.TryGetValue(item.Language, out var language))
            {
                building[item.Language] = language = [];
            }
            foreach (var (term, weight) in vector)
            {
                if (!language.TryGetValue(term, out var list))
                {
                    language[term] = list = [];
                }
                list.Add(new Posting(d, weight));
            }
        }
        var postings = building.ToDictionary(l => l.Key, l => l.Value.ToDictionary(p => p.Key, p => p.Value.ToArray()));
        return new RetrievalIndex(vocabulary, idf, isChar, df, documents, [.. answers], postings);
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
        var counts = new Dictionary<int, int>();
        foreach (var term in Terms(text))
        {
            if (_vocabulary.TryGetValue(term, out var id))
            {
                counts[id] = counts.GetValueOrDefault(id) + 1;
            }
        }
        var query = Vector(counts, _idf, _isChar, _documentFrequency).ToDictionary(t => t.Term, t => t.Weight);

        // Candidates from the heaviest query terms only: light terms are common, their postings long and their say small.
        var approximate = new Dictionary<int, float>();
        var lists = _postings.TryGetValue(language, out var own) ? [own] : _postings.Values.ToList();
        foreach (var (term, weight) in query.OrderByDescending(q => q.Value).Take(QueryTerms))
        {
            foreach (var postings in lists)
            {
                if (postings.TryGetValue(term, out var list))
                {
                    foreach (var p in list)
                    {
                        ref var score = ref CollectionsMarshal.GetValueRefOrAddDefault(approximate, p.Document, out _);
                        score += weight * p.Weight;
                    }
                }
            }
        }

        // Exact re-rank of the best candidates against the whole query vector.
        var exact = new List<(int Doc, float Similarity)>(Math.Min(Candidates, approximate.Count));
        foreach (var (doc, _) in approximate.OrderByDescending(a => a.Value).Take(Candidates))
        {
            var document = _documents[doc];
            var dot = 0f;
            for (var i = 0; i < document.Terms.Length; i++)
            {
                if (query.TryGetValue(document.Terms[i], out var w))
                {
                    dot += w * document.Weights[i];
                }
            }
            exact.Add((doc, dot));
        }
        return exact.OrderByDescending(e => e.Similarity).Take(k).ToList();
    }

    /// <summary>Agreement (ROUGE-L) between the answers of every pair of neighbours.</summary>
    internal double[,] AgreementMatrix(List<(int Doc, float Similarity)> neighbours)
    {
        var m = new double[neighbours.Count, neighbours.Count];
        for (var i = 0; i < neighbours.Count; i++)
        {
            var a = _documents[neighbours[i].Doc].Answer;
            for (var j = i + 1; j < neighbours.Count; j++)
            {
                var b = _documents[neighbours[j].Doc].Answer;
                m[i, j] = m[j, i] = a == b ? 1 : Agreement(a, b);
            }
        }
        return m;
    }

    /// <summary>
    /// ROUGE-L between two distinct answers. Neighbour sets of similar tickets overlap, so pairs recur: they are remembered,
    /// up to a bound, since an LCS over two agent answers costs about 10,000 steps.
    /// </summary>
    private float Agreement(int a, int b)
    {
        var key = a < b ? ((long)a << 32) | (uint)b : ((long)b << 32) | (uint)a;
        if (_agreements.TryGetValue(key, out var known))
        {
            return known;
        }
        if (_agreements.Count >= MaxRememberedPairs)
        {
            _agreements.Clear();
        }
        var value = (float)TextMetrics.RougeL(_answers[a].Tokens, _answers[b].Tokens);
        _agreements[key] = value;
        return value;
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
            ranked.Add(new Candidate(answer.Text, answer.Type, neighbours[i].Similarity, expected * answer.Confidence));
        }
        return ranked.OrderByDescending(c => c.Score);
    }

    /// <summary>A random answer of the same language: the floor retrieval must beat.</summary>
    public string RandomAnswer(string language, Random random)
    {
        var same = _documents.Where(d => d.Language == language).ToList();
        var pool = same.Count > 0 ? same : [.. _documents];
        return _answers[pool[random.Next(pool.Count)].Answer].Text;
    }

    /// <summary>
    /// Word 1–2-grams over words of two or more letters, and character 3–5-grams within each space-separated word
    /// padded with spaces: the features of the shared baseline (scikit-learn's word and <c>char_wb</c> analysers).
    /// </summary>
    private static IEnumerable<string> Terms(string text)
    {
        var lower = text.ToLowerInvariant();
        var words = TextMetrics.Tokens(lower).Where(w => w.Length >= 2).ToArray();
        for (var i = 0; i < words.Length; i++)
        {
            yield return WordPrefix + words[i];
            if (i + 1 < words.Length)
            {
                yield return WordPrefix + words[i] + " " + words[i + 1];
            }
        }
        foreach (var word in lower.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var padded = " " + word + " ";
            for (var len = 3; len <= 5; len++)
            {
                for (var start = 0; start + len <= padded.Length; start++)
                {
                    yield return CharPrefix + padded.Substring(start, len);
                }
            }
        }
    }

    /// <summary>
    /// Sublinear tf × idf, the word part and the character part each L2-normalised, so a dot product is the sum of two
    /// cosines (in [0, 2]). Character n-grams seen in a single training ticket carry no weight (min_df = 2).
    /// </summary>
    private static IEnumerable<(int Term, float Weight)> Vector(Dictionary<int, int> counts, float[] idf, bool[] isChar, int[] documentFrequency)
    {
        var weights = counts
            .Where(kv => !isChar[kv.Key] || documentFrequency[kv.Key] >= 2)
            .Select(kv => (kv.Key, W: (float)((1 + Math.Log(kv.Value)) * idf[kv.Key])))
            .ToList();
        var wordNorm = (float)Math.Sqrt(weights.Where(w => !isChar[w.Key]).Sum(w => w.W * w.W));
        var charNorm = (float)Math.Sqrt(weights.Where(w => isChar[w.Key]).Sum(w => w.W * w.W));
        return weights.Select(w => (w.Key, w.W / (isChar[w.Key] ? charNorm : wordNorm)));
    }
}

/// <summary>How many neighbours compete, and how fast a neighbour's weight falls with its distance from the best.</summary>
internal sealed record RetrievalSettings(int Neighbours, double Temperature)
{
    public static RetrievalSettings Default { get; } = new(20, 0.05);
}
