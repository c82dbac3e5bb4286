
namespace CommentFlow.OwnModel;

/// <summary>
/// A new ticket's words as the index numbers them (a word the index never saw gets a negative id of its own, so it
/// matches itself and nothing else), which of them are its particulars, and where its subject ends.
/// </summary>
internal sealed class QueryWords
{
    private readonly string _text;
    private readonly int _subjectLength;
    private readonly (int Start, int Length, int Id)[] _words;
    private readonly HashSet<int> _known;
    private readonly Particulars _particulars;

    public QueryWords(RetrievalIndex index, string subject, string body)
        : this(index, Join(subject, body), subject.Length)
    {
    }

    /// <summary>A ticket's subject and body as one text: the subject, a space and the body; the body alone without a subject.</summary>
    public static string Join(string subject, string body) => subject.Length == 0 ? body : subject + " " + body;

    /// <param name="text">The subject and the body joined (<see cref="Join"/>); the served path has it, so no copy is made.</param>
    public QueryWords(RetrievalIndex index, string text, int subjectLength)
    {
        _text = text;
        _subjectLength = subjectLength;
        _particulars = index.Particulars;
        var lower = _text.ToLowerInvariant();
        var words = new List<(int, int, int)>();
        Dictionary<string, int>? unknown = null;
        _known = [];
        foreach (var m in TicketText.WordPattern.EnumerateMatches(lower))
        {
            var word = lower.AsSpan(m.Index, m.Length);
            if (index.Words.TryGetValue(word, out var id))
            {
                _known.Add(id);
            }
            else
            {
                unknown ??= new(StringComparer.Ordinal);
                var lookup = unknown.GetAlternateLookup<ReadOnlySpan<char>>();
                if (!lookup.TryGetValue(word, out id))
                {
                    id = -1 - unknown.Count;
                    lookup[word] = id;
                }
            }
            words.Add((m.Index, m.Length, id));
        }
        _words = [.. words];
        Tokens = [.. _words.Select(w => w.Id)];
        HasOwnParticulars = _known.Any(_particulars.IsParticular);
        KeyPhrase = FindKeyPhrase(_particulars);
    }

    public int[] Tokens { get; }

    /// <summary>Whether the ticket names any particular the team's answers take from their tickets.</summary>
    public bool HasOwnParticulars { get; }

    public bool Contains(int word) => _known.Contains(word);

    public bool IsOwnParticular(int word) => _known.Contains(word) && _particulars.IsParticular(word);

    /// <summary>
    /// The ticket's key phrase, what a past sentence's particulars are replaced with: the window of up to 6 words within
    /// one clause with the most specificity (rarity × echo, <see cref="Particulars.Specificity"/>, of its particulars and
    /// of words the team never saw), shorter windows preferred, the subject's counted 1.3×. Placeholders of the
    /// masking (<c>&lt;name&gt;</c>) are never part of it. Null when no word is specific.
    /// </summary>
    public KeyPhrase? KeyPhrase { get; }

    private KeyPhrase? FindKeyPhrase(Particulars particulars)
    {
        const int maxWords = 6;
        const double subjectBonus = 1.3;
        var scores = new double[_words.Length];
        var clause = new int[_words.Length];
        for (var i = 0; i < _words.Length; i++)
        {
            var (start, length, id) = _words[i];
            var placeholder = start > 0 && _text[start - 1] == '<' && start + length < _text.Length && _text[start + length] == '>';
            // Only particulars (and words the team never saw) make the phrase: "QLED Q80T", not "shows no picture".
            scores[i] = placeholder || (id >= 0 && !particulars.IsRareParticular(id)) ? 0
                : particulars.Specificity(id, WordCounts.IsDigits(_text.AsSpan(start, length)));
            var previousEnd = i == 0 ? 0 : _words[i - 1].Start + _words[i - 1].Length;
            var crossesSubject = i > 0 && previousEnd <= _subjectLength && start > _subjectLength;
            clause[i] = i == 0 ? 0 : clause[i - 1] + (crossesSubject || _text.AsSpan(previousEnd, start - previousEnd).IndexOfAny(ClauseBreaks) >= 0 ? 1 : 0);
        }
        var best = (Score: 0.0, From: -1, To: -1);
        for (var i = 0; i < _words.Length; i++)
        {
            if (scores[i] <= 0)
            {
                continue;
            }
            var bonus = _words[i].Start < _subjectLength ? subjectBonus : 1.0;
            var total = 0.0;
            for (var j = i; j < Math.Min(_words.Length, i + maxWords) && clause[j] == clause[i]; j++)
            {
                total += scores[j];
                if (scores[j] > 0)
                {
                    var value = bonus * total / (1 + (0.15 * (j - i)));
                    if (value > best.Score)
                    {
                        best = (value, i, j);
                    }
                }
            }
        }
        if (best.From < 0)
        {
            return null;
        }
        // A model number's digits belong to it: "ET-2720", not "ET".
        while (best.To + 1 < _words.Length && _words[best.To + 1].Start == _words[best.To].Start + _words[best.To].Length + 1
            && _text[_words[best.To + 1].Start - 1] == '-')
        {
            best.To++;
        }
        var from = _words[best.From].Start;
        var to = _words[best.To].Start + _words[best.To].Length;
        return new KeyPhrase(_text[from..to], [.. _words[best.From..(best.To + 1)].Select(w => w.Id)]);
    }

    private static readonly System.Buffers.SearchValues<char> ClauseBreaks = System.Buffers.SearchValues.Create("\n.!?;:,()[]\"<>");
}
