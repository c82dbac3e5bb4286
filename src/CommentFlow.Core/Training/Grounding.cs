using System.Globalization;
using System.Numerics;
using System.Text;

namespace CommentFlow.Training;

/// <summary>
/// Does a suggestion fit <em>this</em> ticket, or does it name someone else's product? The measure of
/// <c>../shared/bench/grounding_baseline.py</c>, figure for figure: an answer copied from another ticket keeps that
/// ticket's details ("your LG OLED C1 TV" for a Samsung ticket), which ROUGE-L barely notices and an agent notices at once.
/// <para>
/// Ticket-specific tokens are learnt from the training side: tokens in at least <see cref="MinAnswers"/> training answers,
/// echoed by the ticket in at least <see cref="MinEchoed"/> of those, and in at most <see cref="MaxTicketShare"/> of the
/// training tickets (product names, model numbers, places; not "issue" or "please"), never a number.
/// </para>
/// </summary>
internal sealed class Grounding
{
    public const int MinAnswers = 3;
    public const double MinEchoed = 0.8;
    public const double MaxTicketShare = 0.03;

    private readonly HashSet<string> _specific;

    private Grounding(HashSet<string> specific) => _specific = specific;

    public IReadOnlySet<string> Specific => _specific;

    /// <summary>Learns the ticket-specific tokens; each pair counts as one training ticket, as a CSV record does for the Python.</summary>
    public static Grounding Learn(IEnumerable<(string TicketText, string Answer)> train) =>
        Learn(train.Select(t => (t.TicketText, t.Answer, "")), MaxTicketShare);

    /// <summary>
    /// The same rule with the ticket share counted within each language (the largest share in any language counts) and
    /// a limit of <paramref name="maxTicketShare"/>: a wider list, closer to what a team would call another customer's
    /// detail (a router in a tenth of the tickets still is one), without a minority language's own words ("und", "merci")
    /// counting as details because few tickets are in that language.
    /// </summary>
    public static Grounding Learn(IEnumerable<(string TicketText, string Answer, string Language)> train, double maxTicketShare)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var echoed = new Dictionary<string, int>(StringComparer.Ordinal);
        var inTickets = new Dictionary<(string Language, string Token), int>();
        var perLanguage = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (ticketText, answer, language) in train)
        {
            perLanguage[language] = perLanguage.GetValueOrDefault(language) + 1;
            var ticket = PythonText.Words(ticketText);
            foreach (var t in ticket)
            {
                inTickets[(language, t)] = inTickets.GetValueOrDefault((language, t)) + 1;
            }
            foreach (var t in PythonText.Words(answer))
            {
                seen[t] = seen.GetValueOrDefault(t) + 1;
                if (ticket.Contains(t))
                {
                    echoed[t] = echoed.GetValueOrDefault(t) + 1;
                }
            }
        }
        // The comparisons are written as the Python writes them (a double product on the right), so a count on the
        // boundary falls on the same side.
        bool Rare(string token) => perLanguage.All(l => inTickets.GetValueOrDefault((l.Key, token)) <= maxTicketShare * l.Value);
        return new Grounding(seen
            .Where(kv => kv.Value >= MinAnswers && echoed.GetValueOrDefault(kv.Key) >= MinEchoed * kv.Value
                && Rare(kv.Key) && !PythonText.IsDigit(kv.Key))
            .Select(kv => kv.Key)
            .ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>One suggestion text for one ticket text.</summary>
    public GroundingVerdict Judge(string suggestion, string ticketText)
    {
        var named = PythonText.Words(suggestion);
        named.IntersectWith(_specific);
        if (named.Count == 0)
        {
            return GroundingVerdict.NamesNothing;
        }
        var inside = PythonText.Words(ticketText);
        var hits = named.Count(inside.Contains);
        return new GroundingVerdict(hits < named.Count, (double)hits / named.Count, hits > 0);
    }
}

/// <param name="Foreign">The suggestion names a ticket-specific token this ticket does not contain (lower is better).</param>
/// <param name="Grounded">Of the ticket-specific tokens it names, the share this ticket contains; null when it names none.</param>
/// <param name="Mentions">It names at least one ticket-specific token this ticket contains (higher is better).</param>
internal sealed record GroundingVerdict(bool Foreign, double? Grounded, bool Mentions)
{
    public static GroundingVerdict NamesNothing { get; } = new(false, null, false);
}

/// <summary>The four figures of one system over the test tickets: means rounded to 4 places, null where nothing was measured.</summary>
internal sealed record GroundingFigures(double? RougeL, double? Foreign, double? Grounded, double? Mentions);

/// <summary>The own model beside the two references: the single nearest answer (the baseline) and the real answer (the ceiling).</summary>
internal sealed record GroundingReport(GroundingFigures OwnModel, GroundingFigures NearestAnswer, GroundingFigures RealAnswer);

/// <summary>Accumulates one system's figures, as the Python's <c>Scores</c>: grounded is averaged over the tickets whose suggestion names any specific token.</summary>
internal sealed class GroundingScores(Grounding grounding)
{
    private readonly List<double> _rouge = [];
    private readonly List<double> _foreign = [];
    private readonly List<double> _grounded = [];
    private readonly List<double> _mentions = [];

    /// <summary>The specific tokens judged against; cross-validation learns them anew on each fold's fit side.</summary>
    public Grounding Against { get; set; } = grounding;

    /// <param name="reference">The real answer ROUGE-L is measured against; null not to score ROUGE-L (the real answer itself).</param>
    public void Add(string suggestion, string ticketText, string? reference)
    {
        var verdict = Against.Judge(suggestion, ticketText);
        _foreign.Add(verdict.Foreign ? 1 : 0);
        _mentions.Add(verdict.Mentions ? 1 : 0);
        if (verdict.Grounded is { } g)
        {
            _grounded.Add(g);
        }
        if (reference is not null)
        {
            _rouge.Add(PythonText.RougeL(suggestion, reference));
        }
    }

    public GroundingFigures Summary() => new(Mean(_rouge), Mean(_foreign), Mean(_grounded), Mean(_mentions));

    private static double? Mean(List<double> values)
    {
        if (values.Count == 0)
        {
            return null;
        }
        var sum = 0.0;
        foreach (var v in values)
        {
            sum += v; // in order, as Python's sum(): the same double
        }
        return PythonText.Round(sum / values.Count, 4);
    }
}

/// <summary>
/// Python 3's text semantics where .NET's differ, so that the measure gives the Python's figures on any text:
/// <list type="bullet">
/// <item><c>\w</c> of Python's <c>re</c> is a letter (L*), any number (N*: also ² and Ⅻ) or <c>_</c>; .NET's <c>\w</c> also takes
/// non-spacing marks and connector punctuation, not Nl/No, and tests UTF-16 units (a letter outside the BMP is no word).</item>
/// <item><c>str.lower()</c> maps İ to "i̇" (.NET keeps İ) and a capital sigma at the end of a word to ς.</item>
/// <item><c>str.isdigit()</c> is true for superscripts and circled digits too (Numeric_Type Digit or Decimal).</item>
/// </list>
/// Checked against Python over every code point its Unicode data assigns (PythonTextTests).
/// </summary>
internal static class PythonText
{
    /// <summary>Python's <c>{t.lower() for t in re.findall(r"\w+", text)}</c>.</summary>
    public static HashSet<string> Words(string text)
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        foreach (var token in Tokens(text))
        {
            words.Add(Lower(token));
        }
        return words;
    }

    /// <summary>Python's <c>re.findall(r"\w+", text)</c>.</summary>
    public static List<string> Tokens(string text)
    {
        var tokens = new List<string>();
        var start = -1;
        for (var i = 0; i < text.Length;)
        {
            var word = Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var used) == System.Buffers.OperationStatus.Done && IsWord(rune);
            if (word && start < 0)
            {
                start = i;
            }
            else if (!word && start >= 0)
            {
                tokens.Add(text[start..i]);
                start = -1;
            }
            i += used;
        }
        if (start >= 0)
        {
            tokens.Add(text[start..]);
        }
        return tokens;
    }

    /// <summary>ROUGE-L F1 as the Python's <c>rouge_l</c>: the whole text lower-cased, then split into <c>\w+</c> tokens.</summary>
    public static double RougeL(string candidate, string reference) =>
        TextMetrics.RougeL([.. Tokens(Lower(candidate))], [.. Tokens(Lower(reference))]);

    public static bool IsWord(Rune rune) => rune.Value == '_' || Rune.GetUnicodeCategory(rune) is UnicodeCategory.UppercaseLetter
        or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
        or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    /// <summary>Python's <c>str.isdigit()</c>: not empty, and every character has a digit value.</summary>
    public static bool IsDigit(string text)
    {
        if (text.Length == 0)
        {
            return false;
        }
        for (var i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1)
        {
            if (CharUnicodeInfo.GetDigitValue(text, i) < 0)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Python's <c>str.lower()</c>: .NET's invariant simple mapping except for İ and the final sigma, the two places they part.</summary>
    public static string Lower(string text)
    {
        if (text.AsSpan().IndexOfAny('\u0130', '\u03A3') < 0)
        {
            return text.ToLowerInvariant();
        }
        var sb = new StringBuilder(text.Length + 4);
        var from = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] is not ('\u0130' or '\u03A3'))
            {
                continue;
            }
            sb.Append(text.AsSpan(from, i - from).ToString().ToLowerInvariant());
            sb.Append(text[i] == '\u0130' ? "i\u0307" : FinalSigma(text, i) ? "ς" : "σ");
            from = i + 1;
        }
        return sb.Append(text[from..].ToLowerInvariant()).ToString();
    }

    /// <summary>
    /// Python's <c>round(value, digits)</c>: half to even on the double's exact value. Math.Round scales by 10^digits
    /// first, and the scaled product can land on .5 when the exact value is not a tie.
    /// </summary>
    public static double Round(double value, int digits)
    {
        if (!double.IsFinite(value) || value == 0)
        {
            return value;
        }
        var bits = BitConverter.DoubleToInt64Bits(Math.Abs(value));
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & 0xF_FFFF_FFFF_FFFFL;
        if (exponent == 0)
        {
            exponent = 1; // subnormal
        }
        else
        {
            mantissa |= 1L << 52;
        }
        var shift = exponent - 1075; // |value| = mantissa · 2^shift
        if (shift >= 0)
        {
            return value;
        }
        var numerator = new BigInteger(mantissa) * BigInteger.Pow(10, digits);
        var denominator = BigInteger.One << -shift;
        var quotient = BigInteger.DivRem(numerator, denominator, out var remainder);
        var twice = remainder * 2;
        if (twice > denominator || (twice == denominator && !quotient.IsEven))
        {
            quotient++;
        }
        // Division by a power of ten is correctly rounded: the double nearest the decimal, as Python returns.
        return Math.CopySign((double)quotient / Math.Pow(10, digits), value);
    }

    /// <summary>Unicode's Final_Sigma condition as CPython tests it: a cased letter before, none after, case-ignorables skipped.</summary>
    private static bool FinalSigma(string text, int at)
    {
        var j = at;
        Rune rune = default;
        var found = false;
        while (j > 0 && Rune.DecodeLastFromUtf16(text.AsSpan(0, j), out rune, out var used) == System.Buffers.OperationStatus.Done)
        {
            if (!IsCaseIgnorable(rune))
            {
                found = true;
                break;
            }
            j -= used;
        }
        if (!found || !IsCased(rune))
        {
            return false;
        }
        for (j = at + 1; j < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(j), out rune, out var used) != System.Buffers.OperationStatus.Done)
            {
                return true;
            }
            if (!IsCaseIgnorable(rune))
            {
                return !IsCased(rune);
            }
            j += used;
        }
        return true;
    }

    /// <summary>Lowercase or Uppercase or Lt: the letter categories, plus the few symbols and numerals Unicode marks as cased.</summary>
    private static bool IsCased(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        || rune.Value is 0xAA or 0xBA or (>= 0x2160 and <= 0x217F) or (>= 0x24B6 and <= 0x24E9) or (>= 0x1F130 and <= 0x1F149)
            or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189);

    /// <summary>Case_Ignorable: marks, format characters, modifiers, and the apostrophes, periods and colons that sit inside words.</summary>
    private static bool IsCaseIgnorable(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || rune.Value is 0x27 or 0x2E or 0x3A or 0xB7 or 0x387 or 0x55F or 0x5F4 or 0x2018 or 0x2019 or 0x2024 or 0x2027
            or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;
}
