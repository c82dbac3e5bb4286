namespace CommentFlow.OwnModel;

/// <summary>
/// Which words are a ticket's particulars (its product, model, service, place, error code), learnt from the team's own
/// (ticket, answer) pairs: a word is particular when answers that use it nearly always took it from their own ticket
/// (echo propensity, smoothed: (echoed + 0.5) / (used + 1) ≥ <see cref="MinEcho"/>) and few tickets contain it
/// (≤ <see cref="MaxTicketShare"/>), or answers always take it (≥ <see cref="HighEcho"/>) and it is in no more than
/// <see cref="HighEchoLanguageShare"/> of its language's tickets. That is what makes a past answer wrong for another
/// ticket: "your HP DeskJet 3755".
/// Thresholds chosen by cross-validation on the train sides (bench/research/README.md).
/// </summary>
internal sealed class Particulars
{
    public const double MinEcho = 0.6;
    public const double MaxTicketShare = 0.06;

    /// <summary>
    /// A word answers always take from their ticket (echo ≥ <see cref="HighEcho"/>) is particular in up to this share
    /// of its language's tickets: a product the team sees often (one router in a tenth of the tickets) is still another
    /// customer's product. Counted per language, so a minority language's own words never qualify.
    /// </summary>
    public const double HighEcho = 0.9;
    public const double HighEchoLanguageShare = 0.25;

    /// <summary>Words in more tickets than this share are the team's vocabulary, never part of a ticket's particular phrase.</summary>
    public const double CommonTicketShare = 0.15;

    /// <summary>The echo a word never seen in an answer is given when it scores a ticket's key phrase.</summary>
    private const double UnknownEcho = 0.6;

    private readonly int[] _used;
    private readonly int[] _echoed;
    private readonly int[] _tickets;
    private readonly float[] _languageShare;
    private readonly bool[] _digits;
    private readonly int _ticketCount;

    public Particulars(int[] used, int[] echoed, int[] tickets, float[] languageShare, bool[] digits, int ticketCount)
    {
        (_used, _echoed, _tickets, _languageShare, _digits, _ticketCount) = (used, echoed, tickets, languageShare, digits, ticketCount);
    }

    private double Share(int token) => (double)_tickets[token] / _ticketCount;

    public int TicketCount => _ticketCount;

    private double Echo(int token) => (_echoed[token] + 0.5) / (_used[token] + 1);

    /// <summary>Whether a known word is particular to its ticket. Numbers are not: "3 days" is not a product.</summary>
    public bool IsParticular(int token) =>
        IsRareParticular(token) || (token >= 0 && !_digits[token] && Echo(token) >= HighEcho && _languageShare[token] <= HighEchoLanguageShare);

    /// <summary>
    /// Particular by the first rule, rare as well as echoed: what a key phrase is made of. A word particular only
    /// because answers always repeat it ("printer" where printers are a tenth of the tickets) would make "your HP
    /// DeskJet 3755" into "your printer".
    /// </summary>
    public bool IsRareParticular(int token) =>
        token >= 0 && !_digits[token] && Echo(token) >= MinEcho && Share(token) <= MaxTicketShare;

    public bool IsCommon(int token) => token >= 0 && Share(token) > CommonTicketShare;

    /// <summary>
    /// How much a word says about its ticket, for finding the ticket's key phrase: rarity (idf) × echo propensity, zero
    /// for numbers and for words in more than <see cref="MaxTicketShare"/> of tickets. A word never seen (negative id) is rare.
    /// </summary>
    public double Specificity(int token, bool digits)
    {
        if (digits)
        {
            return 0;
        }
        var tickets = token >= 0 ? _tickets[token] : 0;
        if (token >= 0 && Share(token) > MaxTicketShare)
        {
            return 0;
        }
        var idf = Math.Log((_ticketCount + 1.0) / (tickets + 1.0));
        return idf * (token >= 0 && _used[token] > 0 ? Echo(token) : UnknownEcho);
    }
}

/// <summary>Interns the words of training tickets and answers and counts what <see cref="Particulars"/> is learnt from.</summary>
internal sealed class WordCounts
{
    private readonly List<int> _used = [];
    private readonly List<int> _echoed = [];
    private readonly List<int> _tickets = [];
    private readonly List<bool> _digits = [];
    private readonly HashSet<int> _seen = [];
    private readonly Dictionary<string, (List<int> Tickets, int Count)> _languages = new(StringComparer.Ordinal);
    private int _ticketCount;

    public Dictionary<string, int> Ids { get; } = new(StringComparer.Ordinal);

    public int Intern(ReadOnlySpan<char> word)
    {
        var lookup = Ids.GetAlternateLookup<ReadOnlySpan<char>>();
        if (!lookup.TryGetValue(word, out var id))
        {
            id = Ids.Count;
            lookup[word] = id;
            _used.Add(0);
            _echoed.Add(0);
            _tickets.Add(0);
            _digits.Add(IsDigits(word));
        }
        return id;
    }

    /// <summary>A new ticket's distinct words, ascending; each counts one more ticket, in all and in its language.</summary>
    public int[] Ticket(string text, string language)
    {
        _seen.Clear();
        var lower = text.ToLowerInvariant();
        foreach (var m in TicketText.WordPattern.EnumerateMatches(lower))
        {
            _seen.Add(Intern(lower.AsSpan(m.Index, m.Length)));
        }
        var words = _seen.ToArray();
        Array.Sort(words);
        var (inLanguage, count) = _languages.GetValueOrDefault(language, ([], 0));
        foreach (var w in words)
        {
            _tickets[w]++;
            while (inLanguage.Count <= w)
            {
                inLanguage.Add(0);
            }
            inLanguage[w]++;
        }
        _languages[language] = (inLanguage, count + 1);
        _ticketCount++;
        return words;
    }

    /// <summary>One (ticket, answer) pair: which of the answer's distinct words it took from its ticket.</summary>
    public void Pair(int[] ticketWords, int[] answerTokens)
    {
        _seen.Clear();
        foreach (var t in answerTokens)
        {
            if (_seen.Add(t))
            {
                _used[t]++;
                if (Array.BinarySearch(ticketWords, t) >= 0)
                {
                    _echoed[t]++;
                }
            }
        }
    }

    /// <summary>
    /// What was counted. A word's language share is the largest share of its language's tickets it is in, over the
    /// languages of the tickets it is in.
    /// </summary>
    public Particulars Particulars()
    {
        var share = new float[Ids.Count];
        foreach (var (inLanguage, count) in _languages.Values)
        {
            for (var w = 0; w < inLanguage.Count; w++)
            {
                share[w] = Math.Max(share[w], (float)inLanguage[w] / count);
            }
        }
        return new([.. _used], [.. _echoed], [.. _tickets], share, [.. _digits], _ticketCount);
    }

    /// <summary>Python's <c>str.isdigit</c> on a word: every character a digit.</summary>
    internal static bool IsDigits(ReadOnlySpan<char> word)
    {
        foreach (var c in word)
        {
            if (!char.IsDigit(c))
            {
                return false;
            }
        }
        return word.Length > 0;
    }
}
