using CommentFlow.Domain;
using CommentFlow.OwnModel;
using CommentFlow.Training;

namespace CommentFlow.Bench;

/// <summary>One shared ticket as the CSV gives it.</summary>
internal sealed record SharedTicket(string Subject, string Body, string Answer, string Type, string Priority, string Language)
{
    /// <summary>As a request would bring it: no language (the API has no field for it; the engine detects it).</summary>
    public TicketContext Context => new() { Summary = Subject, Description = Body, IssueType = Type, Priority = Priority };

    /// <summary>As an import stores it: the language the CSV names.</summary>
    public TicketContext Stored => Context with { Language = Language };

    /// <summary>What the answer's type would be had an agent picked it (the shared answers carry none).</summary>
    public string AnswerType => OwnSuggestions.GuessType(Answer);
}

/// <summary>
/// The shared tickets (both CSVs) as the own-model scenarios use them: a fifth held out as the requests, never indexed,
/// and an index of any size built from the rest. Past the real tickets, each indexed ticket is a real one with two of its
/// words (and two of its answer's) swapped for words of the same language: lengths, languages and the mix of long e-mails
/// stay the shared tickets' own, texts and answers stay distinct. Near-copies of one ticket are each other's nearest
/// neighbours; the recall the bench reports counts a near-copy of the exact nearest ticket as found (it names the same
/// real ticket), as well as the strict figure.
/// </summary>
internal sealed class RealisticTickets
{
    private readonly Dictionary<string, string[]> _words;

    private RealisticTickets(List<SharedTicket> held, List<SharedTicket> pool)
    {
        (Held, Pool) = (held, pool);
        _words = pool.GroupBy(t => t.Language).ToDictionary(g => g.Key,
            g => g.SelectMany(t => TextMetrics.Tokens($"{t.Subject} {t.Body} {t.Answer}")).Where(w => w.Length >= 2).Distinct().Order(StringComparer.Ordinal).ToArray());
    }

    public List<SharedTicket> Held { get; }
    public List<SharedTicket> Pool { get; }

    public static RealisticTickets Load(string dataDir, int seed = 42)
    {
        var tickets = new List<SharedTicket>();
        foreach (var file in Directory.GetFiles(dataDir, "*.csv").Order(StringComparer.Ordinal))
        {
            var (header, records) = TicketCsv.Open(file);
            int Column(string name) => Array.IndexOf(header, name);
            var (subject, body, answer, type, priority, language) =
                (Column("subject"), Column("body"), Column("answer"), Column("type"), Column("priority"), Column("language"));
            tickets.AddRange(records.Where(r => r.Complete && !string.IsNullOrWhiteSpace(r.Get(body)) && !string.IsNullOrWhiteSpace(r.Get(answer)))
                .Select(r => new SharedTicket(r.Get(subject), r.Get(body), r.Get(answer), r.Get(type), r.Get(priority), r.Get(language))));
        }
        var random = new Random(seed);
        var shuffled = tickets.OrderBy(_ => random.Next()).ToList();
        var held = shuffled.Count / 5;
        return new RealisticTickets(shuffled[..held], shuffled[held..]);
    }

    /// <summary>Index item <paramref name="i"/> (of any number): the real tickets first, then their perturbed copies.</summary>
    public IEnumerable<(int Source, string Text, string Answer)> Indexed(int count, int seed = 7)
    {
        var random = new Random(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var t = Pool[i % Pool.Count];
            var text = TicketText.Of(t.Stored);
            if (i < Pool.Count)
            {
                seen.Add(text);
                yield return (i, text, t.Answer);
                continue;
            }
            string copy;
            do
            {
                copy = Swap(text, t.Language, random);
            }
            while (!seen.Add(copy));
            yield return (i % Pool.Count, copy, Swap(t.Answer, t.Language, random));
        }
    }

    /// <summary>Index items as the trainer makes them from a sample (text, kept comment, its type, the stored language).</summary>
    public List<RetrievalItem> Items(int count) =>
        [.. Indexed(count).Select(x => new RetrievalItem(x.Text, x.Answer, Pool[x.Source].AnswerType, Pool[x.Source].Language))];

    /// <summary>The real ticket an index item was made from (the first <see cref="Pool"/>.Count items are the real ones).</summary>
    public int SourceOf(int item) => item % Pool.Count;

    private string Swap(string text, string language, Random random)
    {
        var words = _words[language];
        for (var swap = 0; swap < 2; swap++)
        {
            var matches = TextMetrics.WordPattern.Matches(text);
            if (matches.Count == 0)
            {
                break;
            }
            var pick = matches[random.Next(matches.Count)];
            text = string.Concat(text.AsSpan(0, pick.Index), words[random.Next(words.Length)], text.AsSpan(pick.Index + pick.Length));
        }
        return text;
    }
}
