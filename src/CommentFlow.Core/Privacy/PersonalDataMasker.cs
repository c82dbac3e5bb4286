using System.Buffers;
using System.Collections.Frozen;
using System.Collections.ObjectModel;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace CommentFlow.Privacy;

/// <summary>The masked text and how many values of each kind were replaced; <see cref="Counts"/> is empty when nothing was.</summary>
internal sealed record MaskResult(string Text, IReadOnlyDictionary<string, int> Counts);

/// <summary>
/// Replaces personal data and secrets with typed placeholders (<c>&lt;email&gt;</c>, <c>&lt;secret&gt;</c>, …).
/// Detectors run in a fixed order, each over the output of the one before, so a value claimed by a stricter kind
/// (a password inside a URL, an IBAN's digits) is a placeholder by the time a looser kind (e-mail, phone) looks at it.
/// No pattern matches a placeholder, so masking masked text changes nothing. Immutable after construction: thread-safe.
/// </summary>
internal sealed partial class PersonalDataMasker
{
    public const string Credentials = "credentials";
    public const string Secret = "secret";
    public const string Email = "email";
    public const string Iban = "iban";
    public const string Card = "card";
    public const string Ip = "ip";
    public const string Phone = "phone";

    public static IReadOnlyList<string> BuiltInKinds { get; } = [Credentials, Secret, Email, Iban, Card, Ip, Phone];

    public static string Placeholder(string kind) => $"<{kind}>";

    private static readonly SearchValues<char> Digits = SearchValues.Create("0123456789");
    private static readonly SearchValues<char> At = SearchValues.Create("@");

    // Words each keyed pattern cannot match without (its labels, in any case); most ticket text holds none of them.
    private static readonly SearchValues<string> AuthorizationWords = SearchValues.Create(["authorization", "bearer"], StringComparison.OrdinalIgnoreCase);
    private static readonly SearchValues<string> PasswordWords =
        SearchValues.Create(["pass", "pwd", "kennwort", "contrase", "clave", "senha", "mdp", "pin"], StringComparison.OrdinalIgnoreCase);
    private static readonly SearchValues<string> TokenWords = SearchValues.Create(["key", "secret", "token", "session"], StringComparison.OrdinalIgnoreCase);
    // Each alternative of KnownTokenPrefix contains one of these (case as written): a bare "_" let most texts through.
    private static readonly SearchValues<string> TokenPrefixes = SearchValues.Create(
        ["sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "AKIA", "ASIA", "xox", "AIza", "_live_", "_test_", "eyJ"], StringComparison.Ordinal);

    private readonly bool _enabled;
    private readonly Detector[] _detectors;

    public PersonalDataMasker(IOptions<MaskingOptions> options)
    {
        var value = options.Value;
        _enabled = value.Enabled;
        // Stricter and longer forms first; see the class comment.
        _detectors =
        [
            new(Secret, PrivateKeyBlock()),
            new(Credentials, UrlCredentials(), trigger: At, lookback: UrlBeforeAt),
            new(Secret, AuthorizationHeader(), AcceptToken, starts: NearWord(AuthorizationWords)),
            new(Secret, PasswordValue(), starts: NearWord(PasswordWords)),
            new(Secret, KeyedToken(), AcceptToken, starts: NearWord(TokenWords)),
            new(Secret, KnownTokenPrefix(), starts: NearWord(TokenPrefixes)),
            new(Email, EmailAddress(), trigger: At, lookback: LocalPartBeforeAt),
            new(Iban, IbanCandidate(), AcceptIban, starts: BeforeTwoDigits),
            new(Card, CardCandidate(), AcceptCard, Digits, lookback: ValueBeforeDigit),
            new(Ip, Ipv6Candidate(), AcceptIpv6, starts: BeforeColon),
            new(Ip, Ipv4Address(), trigger: Digits, lookback: ValueBeforeDigit),
            new(Phone, PhoneNumber(), AcceptPhone, Digits, lookback: ValueBeforeDigit),
            new(Phone, PhoneAfterKeyword(), starts: EightDigitsInARow),
            .. value.ExtraPatterns.Select(p => new Detector(p.Key, MaskingOptions.CompileExtraPattern(p.Value))),
        ];
    }

    /// <summary>
    /// Masks <paramref name="text"/> (null reads as empty). A <see cref="RegexMatchTimeoutException"/> from an extra pattern
    /// propagates: losing the text is better than storing it unmasked.
    /// </summary>
    public MaskResult Mask(string? text)
    {
        if (!_enabled || string.IsNullOrEmpty(text))
        {
            return new MaskResult(text ?? string.Empty, ReadOnlyDictionary<string, int>.Empty);
        }
        Dictionary<string, int>? counts = null;
        var masked = text;
        foreach (var detector in _detectors)
        {
            masked = detector.Apply(masked, ref counts);
        }
        return new MaskResult(masked, counts ?? (IReadOnlyDictionary<string, int>)ReadOnlyDictionary<string, int>.Empty);
    }

    /// <summary>Given the matched value, how many of its leading characters to mask; 0 rejects it.</summary>
    private delegate int Accept(ReadOnlySpan<char> candidate);

    /// <summary>The first position at or after <paramref name="from"/> where a match can start, or -1.</summary>
    internal delegate int NextStart(string text, int from);

    // How far a match can start before the first trigger it needs, at most: a label before its keyword ("proxy-" before
    // "authorization", "mot de " before "passe", "refresh_" and "private " before "token" and "key": 8 at most; each
    // word start in that window is tried, so a wider one cost a real ticket's "ping" or "keyboard" more tries); an
    // e-mail's local part before '@' (64 characters, RFC 5321); the "(+" before a card's, an IPv4 address's or a phone
    // number's first digit (2 at most; 40 leaves room). A URL's user and password have no bound: that pattern searches
    // from the start.
    private const int LabelBeforeWord = 8;
    private const int LocalPartBeforeAt = 64;
    private const int UrlBeforeAt = int.MaxValue;
    private const int ValueBeforeDigit = 40;

    /// <summary>
    /// One kind's pattern. A group named <c>value</c> narrows the replacement to it; the rest is context. A pattern with a
    /// trigger (characters every match contains) runs only on texts that hold one, and starts searching
    /// <paramref name="lookback"/> characters before the first (lookbehinds still see the text before). A pattern with
    /// <paramref name="starts"/> is anchored (<c>\G</c>) and tried only where those say a match can start.
    /// </summary>
    private sealed class Detector(string kind, Regex regex, Accept? accept = null, SearchValues<char>? trigger = null, int lookback = 0,
        NextStart? starts = null)
    {
        private readonly string _placeholder = Placeholder(kind);
        private readonly int _valueGroup = regex.GroupNumberFromName("value");

        public Regex Regex => regex;

        public NextStart? Starts => starts;

        public string Apply(string text, ref Dictionary<string, int>? counts)
        {
            StringBuilder? builder = null;
            var copied = 0;
            var found = 0;
            for (var match = First(text); match is { Success: true }; match = starts is null ? match.NextMatch() : MatchFrom(regex, starts, text, End(match)))
            {
                Group target = _valueGroup >= 0 && match.Groups[_valueGroup].Success ? match.Groups[_valueGroup] : match;
                var length = accept is null ? target.Length : accept(target.ValueSpan);
                if (length <= 0)
                {
                    continue;
                }
                builder ??= new StringBuilder(text.Length);
                builder.Append(text, copied, target.Index - copied).Append(_placeholder);
                copied = target.Index + length;
                found++;
            }
            if (builder is null)
            {
                return text;
            }
            counts ??= [];
            counts[kind] = counts.GetValueOrDefault(kind) + found;
            return builder.Append(text, copied, text.Length - copied).ToString();
        }

        private Match? First(string text)
        {
            if (starts is not null)
            {
                return MatchFrom(regex, starts, text, 0);
            }
            // Most texts hold no digit and no '@'; one vectorised scan spares the regex.
            var first = trigger is not null ? text.AsSpan().IndexOfAny(trigger) : 0;
            return first < 0 ? null : regex.Match(text, Math.Max(0, first - lookback));
        }
    }

    /// <summary>Where the next search starts, as <see cref="Match.NextMatch"/> has it: the match's end (one further after an empty one).</summary>
    internal static int End(Match match) => match.Index + Math.Max(1, match.Length);

    /// <summary>
    /// The first match of an anchored pattern at or after <paramref name="from"/>, tried only where <paramref name="starts"/>
    /// says one can start: the same match a search from there finds, without the search trying every letter of the text
    /// (an IBAN's pattern starts with any two letters). Masking a shared ticket took 6–15 µs with the searches, 3.6 µs
    /// with the anchored patterns (bench `prep`).
    /// </summary>
    internal static Match? MatchFrom(Regex anchored, NextStart starts, string text, int from)
    {
        for (var s = starts(text, from); s >= 0; s = starts(text, s + 1))
        {
            var match = anchored.Match(text, s);
            if (match.Success)
            {
                return match;
            }
        }
        return null;
    }

    /// <summary>The anchored patterns and where each is tried, for the test that checks they find what a search finds.</summary>
    internal IEnumerable<(Regex Anchored, NextStart Starts)> Anchored => _detectors.Where(d => d.Starts is not null).Select(d => (d.Regex, d.Starts!));

    /// <summary>
    /// Where a labelled pattern can start: at a word's start (no letter or digit behind) at most <see cref="LabelBeforeWord"/>
    /// characters before one of the words its every match holds. Searching on its own, such a pattern tried every letter
    /// its labels can start with, to the end of the text. The words are found ignoring case ordinally: a label spelled
    /// with the Kelvin sign or the long s, which the patterns' case-insensitivity also accepts, is not looked for (nor was
    /// it when no other label came before it).
    /// </summary>
    private static NextStart NearWord(SearchValues<string> words) => (text, from) =>
    {
        for (var at = from; at < text.Length;)
        {
            var word = text.AsSpan(at).IndexOfAny(words);
            if (word < 0)
            {
                return -1;
            }
            var p = at + word;
            for (var s = Math.Max(at, p - LabelBeforeWord); s <= p; s++)
            {
                if (s == 0 || !char.IsLetterOrDigit(text[s - 1]))
                {
                    return s;
                }
            }
            at = p + 1;
        }
        return -1;
    };

    /// <summary>Where an IBAN can start: two characters before two digits (its pattern checks the letters and what precedes them).</summary>
    private static int BeforeTwoDigits(string text, int from)
    {
        for (var i = from + 2; i < text.Length - 1; i++)
        {
            var digit = text.AsSpan(i, text.Length - 1 - i).IndexOfAny(Digits);
            if (digit < 0)
            {
                return -1;
            }
            i += digit;
            if (char.IsAsciiDigit(text[i + 1]))
            {
                return i - 2;
            }
        }
        return -1;
    }

    /// <summary>
    /// Where a phone number after its label can start: the first of eight digits or more in a row (its pattern checks the
    /// label behind). Its search otherwise evaluated the labels behind every digit of the text.
    /// </summary>
    private static int EightDigitsInARow(string text, int from)
    {
        var i = from;
        while (i < text.Length)
        {
            var digit = text.AsSpan(i).IndexOfAny(Digits);
            if (digit < 0)
            {
                return -1;
            }
            i += digit;
            var run = text.AsSpan(i).IndexOfAnyExcept(Digits);
            var length = run < 0 ? text.Length - i : run;
            // Within a run (a search going on from inside one) no match starts: a digit is behind.
            if (length >= 8 && (i == 0 || !char.IsAsciiDigit(text[i - 1])))
            {
                return i;
            }
            i += length;
        }
        return -1;
    }

    /// <summary>Where an IPv6 address can start: at most four hex digits before a colon.</summary>
    private static int BeforeColon(string text, int from)
    {
        var colon = from < text.Length ? text.IndexOf(':', from) : -1;
        return colon < 0 ? -1 : Math.Max(from, colon - 4);
    }

    /// <summary>A value after a token key or <c>Bearer</c>: random tokens carry digits, words like "expired" do not. A final '.' ends the sentence.</summary>
    private static int AcceptToken(ReadOnlySpan<char> candidate)
    {
        var value = candidate.TrimEnd('.');
        return value.Length >= 8 && value.ContainsAny(Digits) ? value.Length : 0;
    }

    /// <summary>
    /// Card numbers pass the Luhn check and start with an issuer digit 2–6 (Mastercard 2-series, Amex, Diners, JCB, Visa,
    /// Mastercard, Discover, UnionPay); order and invoice numbers usually fail one or the other.
    /// </summary>
    private static int AcceptCard(ReadOnlySpan<char> candidate)
    {
        var sum = 0;
        var count = 0;
        var first = '\0';
        for (var i = candidate.Length - 1; i >= 0; i--)
        {
            var c = candidate[i];
            if (!char.IsAsciiDigit(c))
            {
                continue;
            }
            var digit = c - '0';
            if (count % 2 == 1)
            {
                digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
            }
            sum += digit;
            count++;
            first = c;
        }
        return count is >= 13 and <= 19 && first is >= '2' and <= '6' && sum % 10 == 0 ? candidate.Length : 0;
    }

    /// <summary>
    /// ISO 13616: the country's fixed length, then the number moved four characters left, letters as 10–35, is 1 modulo 97.
    /// The candidate may run on into a following group of digits; only the country's length is masked, ending at a group break.
    /// </summary>
    private static int AcceptIban(ReadOnlySpan<char> candidate)
    {
        const int longest = 34;
        Span<char> iban = stackalloc char[longest];
        var n = 0;
        var end = 0;
        var expected = longest;
        for (; end < candidate.Length && n < expected; end++)
        {
            var c = candidate[end];
            if (c == ' ')
            {
                continue;
            }
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return 0;
            }
            iban[n++] = char.ToUpperInvariant(c);
            if (n == 2 && !IbanLengths.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(iban[..2], out expected))
            {
                return 0;
            }
        }
        if (n < expected || (end < candidate.Length && candidate[end] != ' '))
        {
            return 0;
        }
        var remainder = 0;
        for (var i = 0; i < n; i++)
        {
            var c = iban[(i + 4) % n];
            remainder = char.IsAsciiDigit(c) ? (remainder * 10 + (c - '0')) % 97 : (remainder * 100 + (c - 'A' + 10)) % 97;
        }
        return remainder == 1 ? end : 0;
    }

    /// <summary>The regex finds colon-separated hex; the parser decides. A digit is required so "Menu :: Settings" stays.</summary>
    private static int AcceptIpv6(ReadOnlySpan<char> candidate) =>
        candidate.ContainsAny(Digits) && IPAddress.TryParse(candidate, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6
            ? candidate.Length
            : 0;

    /// <summary>E.164 allows at most 15 digits; fewer than 8 is a short code, a time zone or part of a date.</summary>
    private static int AcceptPhone(ReadOnlySpan<char> candidate)
    {
        var digits = 0;
        foreach (var c in candidate)
        {
            digits += char.IsAsciiDigit(c) ? 1 : 0;
        }
        return digits is >= 8 and <= 15 ? candidate.Length : 0;
    }

    /// <summary>IBAN length by country (ISO 13616 registry).</summary>
    private static readonly FrozenDictionary<string, int> IbanLengths = new Dictionary<string, int>
    {
        ["AD"] = 24, ["AE"] = 23, ["AL"] = 28, ["AT"] = 20, ["AZ"] = 28, ["BA"] = 20, ["BE"] = 16, ["BG"] = 22, ["BH"] = 22,
        ["BR"] = 29, ["BY"] = 28, ["CH"] = 21, ["CR"] = 22, ["CY"] = 28, ["CZ"] = 24, ["DE"] = 22, ["DK"] = 18, ["DO"] = 28,
        ["EE"] = 20, ["EG"] = 29, ["ES"] = 24, ["FI"] = 18, ["FO"] = 18, ["FR"] = 27, ["GB"] = 22, ["GE"] = 22, ["GI"] = 23,
        ["GL"] = 18, ["GR"] = 27, ["GT"] = 28, ["HR"] = 21, ["HU"] = 28, ["IE"] = 22, ["IL"] = 23, ["IQ"] = 23, ["IS"] = 26,
        ["IT"] = 27, ["JO"] = 30, ["KW"] = 30, ["KZ"] = 20, ["LB"] = 28, ["LC"] = 32, ["LI"] = 21, ["LT"] = 20, ["LU"] = 20,
        ["LV"] = 21, ["MC"] = 27, ["MD"] = 24, ["ME"] = 22, ["MK"] = 19, ["MR"] = 27, ["MT"] = 31, ["MU"] = 30, ["NL"] = 18,
        ["NO"] = 15, ["PK"] = 24, ["PL"] = 28, ["PS"] = 29, ["PT"] = 25, ["QA"] = 29, ["RO"] = 24, ["RS"] = 22, ["SA"] = 24,
        ["SC"] = 31, ["SE"] = 24, ["SI"] = 19, ["SK"] = 24, ["SM"] = 27, ["ST"] = 25, ["SV"] = 28, ["TL"] = 23, ["TN"] = 24,
        ["TR"] = 26, ["UA"] = 29, ["VA"] = 22, ["VG"] = 24, ["XK"] = 20,
    }.ToFrozenDictionary();

    // The patterns. Lookbehinds keep a value from starting inside a longer word or number, lookaheads from ending inside one;
    // none can start with '<', so placeholders are never matched again.

    [GeneratedRegex(@"-----BEGIN[ A-Z]*PRIVATE KEY-----[\s\S]*?(?:-----END[ A-Z]*PRIVATE KEY-----|\z)")]
    private static partial Regex PrivateKeyBlock();

    /// <summary>scheme://user:password@host — the user and password become <c>&lt;credentials&gt;</c>, scheme and host stay.</summary>
    [GeneratedRegex(@"(?<![\p{L}\p{N}+.-])[A-Za-z][A-Za-z0-9+.-]{1,15}://(?<value>[^\s/?#@:<>""']+:[^\s/?#<>""']*)@(?=[\p{L}\p{N}\[])",
        RegexOptions.CultureInvariant)]
    private static partial Regex UrlCredentials();

    [GeneratedRegex("""
        \G(?<![\p{L}\p{N}])
        (?: (?:proxy-)?authorization["']?[\x20\t]*[:=][\x20\t]*["']?(?:(?:bearer|basic|token|digest|negotiate|ntlm|apikey)[\x20\t]+)?
          | bearer[\x20\t]+ )
        (?<value>[A-Za-z0-9._~+/-]+=*)
        """, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex AuthorizationHeader();

    /// <summary>
    /// A password after its label in the five ticket languages: <c>password: x</c>, <c>"pwd"="x"</c>, <c>the password is x</c>
    /// (only when x has a digit, so "is incorrect" and "ist abgelaufen" stay) and <c>enter the password '12345678'</c>.
    /// The label alone ("forgot my password", "olvidé mi contraseña") is never masked.
    /// </summary>
    [GeneratedRegex("""
        \G(?<![\p{L}\p{N}])
        (?: pass(?:word|wort|wd|code|phrase) | pwd | kennwort | contrase[ñn]as? | (?<!palabras?\x20)clave(?:\x20de\x20acceso)?
          | senha | mot\x20de\x20passe | mdp | pin(?:[\x20-]?code)? )
        (?: ["']?[\x20\t]*[:=][\x20\t]*
          | [\x20\t]+(?:is|es|ist|est|é|era|was|lautet)[\x20\t]+(?:now[\x20\t]+|ahora[\x20\t]+|jetzt[\x20\t]+)?(?=\S{4})(?=\S*[0-9])
          | [\x20\t]+(?=["'‘“]) )
        (?: ["'‘“](?<value>[^"'’”\r\n<][^"'’”\r\n]*)["'’”]
          | (?<value>[^\s"'<>;&]*[^\s"'<>;&,.:)\]}]) )
        """, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex PasswordValue();

    /// <summary><c>api_key=…</c>, <c>client secret: …</c>, <c>token=…</c>, <c>X-Api-Key: …</c> and the like; the value must look random (see <see cref="AcceptToken"/>).</summary>
    [GeneratedRegex("""
        \G(?<![\p{L}\p{N}])
        (?: api[\x20_-]?(?:key|secret) | access[\x20_-]?key(?:[\x20_-]?id)? | secret(?:[\x20_-]?access)?[\x20_-]?key
          | client[\x20_-]?secret | private[\x20_-]?key | secret
          | (?:access|auth|refresh|id|api|session|bearer)[\x20_-]?token | token | session[\x20_-]?id | sessionid )
        ["']?[\x20\t]*[:=][\x20\t]*["']?
        (?<value>[A-Za-z0-9._~+/=-]+)
        """, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex KeyedToken();

    /// <summary>Keys recognisable by their prefix wherever they appear: OpenAI, GitHub, AWS, Slack, Google, Stripe, JWTs.</summary>
    [GeneratedRegex("""
        \G(?<![\w-])
        (?: sk-[A-Za-z0-9_-]{20,}
          | gh[pousr]_[A-Za-z0-9]{20,} | github_pat_[A-Za-z0-9_]{20,}
          | (?:AKIA|ASIA)[A-Z0-9]{16}
          | xox[abprs]-[A-Za-z0-9-]{10,}
          | AIza[A-Za-z0-9_-]{35}
          | (?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}
          | eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,} )
        (?![\w-])
        """, RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex KnownTokenPrefix();

    [GeneratedRegex("""
        (?<![\p{L}\p{N}._%+-])
        [\p{L}\p{N}_](?:[\p{L}\p{N}._%+-]{0,62}[\p{L}\p{N}_-])?
        @(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,24}
        (?![\p{L}\p{N}_-])
        """, RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex EmailAddress();

    /// <summary>Two letters, two check digits, then groups of four (spaced or not); <see cref="AcceptIban"/> decides. Anchored: see <see cref="BeforeTwoDigits"/>.</summary>
    [GeneratedRegex("""
        \G(?<![\p{L}\p{N}])
        [A-Z]{2}[0-9]{2}(?:\x20?[A-Z0-9]{4}){2,7}(?:\x20?[A-Z0-9]{1,3})?
        (?![\p{L}\p{N}])
        """, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex IbanCandidate();

    /// <summary>13–19 digits, plain or in the printed groupings 4-4-4-4(-3) and 4-6-5; <see cref="AcceptCard"/> decides.</summary>
    [GeneratedRegex("""
        (?<![\p{L}\p{N}_.,/-])
        (?: [0-9]{4}(?<sep>[\x20-])[0-9]{4}\k<sep>[0-9]{4}\k<sep>[0-9]{4}(?:\k<sep>[0-9]{3})?
          | [0-9]{4}(?<sep>[\x20-])[0-9]{6}\k<sep>[0-9]{4,5}
          | [0-9]{13,19} )
        (?![\p{L}\p{N}_]|[.,/-][0-9])
        """, RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex CardCandidate();

    /// <summary>Colon-separated hex, optionally ending in a dotted IPv4 (<c>::ffff:192.0.2.1</c>); times like 14:30:00 fail the parser. Anchored: see <see cref="BeforeColon"/>.</summary>
    [GeneratedRegex("""
        \G(?<![\p{L}\p{N}_:.])
        (?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?
        (?![\p{L}\p{N}_:]|\.[0-9])
        """, RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex Ipv6Candidate();

    /// <summary>Four octets of at most 255, not a part of a longer dotted number and not after "version"/"build" (10.0.0.1 can be a version).</summary>
    [GeneratedRegex("""
        (?<![\p{L}\p{N}_.])
        (?<!\b(?:v|ver|version|versi[oó]n|vers[aã]o|build|release)[\x20.:]*)
        (?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])
        (?![\p{L}\p{N}_]|\.[0-9])
        """, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex Ipv4Address();

    /// <summary>
    /// Phone numbers by their written shape: international with '+', North American, Spanish, French and German groupings.
    /// A bare run of digits is an order number as often as a phone, so it is only masked after a phone label (below).
    /// Dates, versions and amounts have other shapes: dots only in the French 2-2-2-2-2 form, no currency after.
    /// </summary>
    [GeneratedRegex("""
        (?<![\p{L}\p{N}_+.,/-])
        (?: (?:\+|\(\+)[0-9]{1,3}\)?(?:[\x20.-]?\([0-9]{1,4}\))?[\x20.-]?[0-9]{1,12}(?:[\x20.-][0-9]{1,8}){0,5}
          | (?:1[\x20.-])?(?:\([0-9]{3}\)\x20?|[0-9]{3}[\x20.-])[0-9]{3}[\x20.-][0-9]{4}
          | [6-9][0-9]{2}(?<s>[\x20-])[0-9]{3}\k<s>[0-9]{3}
          | [6-9][0-9]{2}(?<s>[\x20-])[0-9]{2}\k<s>[0-9]{2}\k<s>[0-9]{2}
          | 9[1-8](?<s>[\x20-])[0-9]{3}\k<s>[0-9]{2}\k<s>[0-9]{2}
          | 0[1-9](?<s>[\x20.-])[0-9]{2}(?:\k<s>[0-9]{2}){3}
          | 0[1-9][0-9]{1,3}[\x20-][0-9]{5,8} )
        (?![\p{L}\p{N}_]|[.,/-][0-9]|\x20?(?:€|%|\$|£|EUR|USD|GBP))
        """, RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex PhoneNumber();

    /// <summary>Eight to fifteen digits after a phone label. Anchored: see <see cref="EightDigitsInARow"/>.</summary>
    [GeneratedRegex("""
        \G(?<![\p{N}])
        (?<=
          (?<![\p{L}])(?:tel|tlf|tfno|telf|tel[ée]fono|phone|mobile|cell|m[óo]vil|celular|telefon|telefonnummer|handy|mobil
            |t[ée]l[ée]phone|portable|whatsapp|fax|ll[áa]mame\x20al|call\x20me\x20(?:at|on))(?![\p{L}])\.?
          (?:\x20(?:number|n[úu]mero|nummer|num[ée]ro|de\x20contacto|no\.?|nº))?[\x20\t]*[:.\#-]?[\x20\t]*)
        [0-9]{8,15}
        (?![\p{L}\p{N}_]|[.,/-][0-9])
        """, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex PhoneAfterKeyword();
}
