using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace CommentFlow.Training;

/// <summary>
/// The own generator: past tickets indexed by TF-IDF over word 1–2-grams and character 3–5-grams (sublinear tf,
/// smoothed idf, L2-normalised), per language in an inverted index. For a new ticket the nearest past
/// tickets of its language are found, and among their answers the most "central" one wins: similar to the ticket,
/// and agreeing with what the other neighbours' agents wrote. That beats the single nearest answer.
/// </summary>
internal sealed class RetrievalIndex
{
    private const int MaxRememberedPairs = 2_000_000;
    private const string WordPrefix = "w:";
    private const string CharPrefix = "c:";

    private readonly Dictionary<string, int> _vocabulary;
    private readonly float[] _idf;
    private readonly bool[] _isChar;
    private readonly int[] _documentFrequency;
    private readonly Document[] _documents;
    private readonly ConcurrentDictionary<long, float> _agreements = new();
    private readonly Dictionary<string, Dictionary<int, List<(int Doc, float Weight)>>> _postings;

    private RetrievalIndex(Dictionary<string, int> vocabulary, float[] idf, bool[] isChar, int[] documentFrequency, Document[] documents,
        Dictionary<string, Dictionary<int, List<(int Doc, float Weight)>>> postings)
    {
        _vocabulary = vocabulary;
        _idf = idf;
        _isChar = isChar;
        _documentFrequency = documentFrequency;
        _documents = documents;
        _postings = postings;
    }

    public int Count => _documents.Length;

    internal sealed record Document(string Answer, string Type, string Language, string[] AnswerTokens);

    public sealed record Candidate(string Answer, string Type, double Similarity, double Score);

    public string AnswerOf(int doc) => _documents[doc].Answer;

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
        var idf = documentFrequency.Select(df => (float)(Math.Log((1.0 + n) / (1.0 + df)) + 1)).ToArray();
        var isChar = new bool[vocabulary.Count];
        foreach (var (term, id) in vocabulary)
        {
            isChar[id] = term.StartsWith(CharPrefix, StringComparison.Ordinal);
        }
        var df = documentFrequency.ToArray();
        var documents = new Document[n];
        var postings = new Dictionary<string, Dictionary<int, List<(int, float)>>>();
        for (var d = 0; d < n; d++)
        {
            documents[d] = new Document(items[d].Answer, items[d].Type, items[d].Language, TextMetrics.Tokens(items[d].Answer));
            if (!postings.TryGetValue(items[d].Language, out var language))
            {
                postings[items[d].Language] = language = [];
            }
            foreach (var (term, weight) in Vector(termCounts[d], idf, isChar, df))
            {
                if (!language.TryGetValue(term, out var list))
                {
                    language[term] = list = [];
                }
                list.Add((d, weight));
            }
        }
        return new RetrievalIndex(vocabulary, idf, isChar, df, documents, postings);
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
        var scores = new Dictionary<int, float>();
        var lists = _postings.TryGetValue(language, out var own) ? [own] : _postings.Values.ToList();
        foreach (var (term, weight) in Vector(counts, _idf, _isChar, _documentFrequency))
        {
            foreach (var postings in lists)
            {
                if (postings.TryGetValue(term, out var list))
                {
                    foreach (var (doc, w) in list)
                    {
                        scores[doc] = scores.GetValueOrDefault(doc) + weight * w;
                    }
                }
            }
        }
        return scores.OrderByDescending(kv => kv.Value).Take(k).Select(kv => (kv.Key, kv.Value)).ToList();
    }

    /// <summary>
    /// ROUGE-L between two stored answers. Neighbour sets of similar tickets overlap, so pairs recur: they are
    /// remembered, up to a bound, since an LCS over two agent answers costs about 10,000 steps.
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
        var value = (float)TextMetrics.RougeL(_documents[a].AnswerTokens, _documents[b].AnswerTokens);
        _agreements[key] = value;
        return value;
    }

    /// <summary>ROUGE-L between the answers of every pair of neighbours.</summary>
    internal double[,] AgreementMatrix(List<(int Doc, float Similarity)> neighbours)
    {
        var m = new double[neighbours.Count, neighbours.Count];
        for (var i = 0; i < neighbours.Count; i++)
        {
            for (var j = i + 1; j < neighbours.Count; j++)
            {
                m[i, j] = m[j, i] = Agreement(neighbours[i].Doc, neighbours[j].Doc);
            }
        }
        return m;
    }

    /// <summary>
    /// Ranks the first <see cref="RetrievalSettings.Neighbours"/> neighbours' answers by their expected ROUGE-L against
    /// the unknown right answer (minimum Bayes risk): each neighbour's answer is "right" with a probability that grows
    /// with its similarity, <c>exp((sim − best) / temperature)</c>, so an answer wins by being close to the ticket and
    /// agreeing with what the agents of other close tickets wrote. A temperature near 0 is the nearest answer.
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
            var expected = p[i]; // ROUGE-L of an answer with itself is 1
            for (var j = 0; j < k; j++)
            {
                expected += i == j ? 0 : p[j] * agreement[i, j];
            }
            var doc = _documents[neighbours[i].Doc];
            ranked.Add(new Candidate(doc.Answer, doc.Type, neighbours[i].Similarity, expected));
        }
        return ranked.OrderByDescending(c => c.Score);
    }

    /// <summary>A random answer of the same language: the floor retrieval must beat.</summary>
    public string RandomAnswer(string language, Random random)
    {
        var same = _documents.Where(d => d.Language == language).ToList();
        var pool = same.Count > 0 ? same : [.. _documents];
        return pool[random.Next(pool.Count)].Answer;
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
