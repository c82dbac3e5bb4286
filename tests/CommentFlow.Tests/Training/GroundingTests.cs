using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CommentFlow.Training;

namespace CommentFlow.Tests.Training;

public sealed class GroundingTests
{
    /// <summary>
    /// 109 training tickets: three each about a Samsung QLED, an LG OLED C1 and router 4331, whose answers repeat those
    /// names; two about a Dell XPS; a hundred printer jams with the same answer.
    /// </summary>
    private static Grounding Learnt()
    {
        List<(string, string)> train = [];
        for (var i = 0; i < 3; i++)
        {
            train.Add(($"Samsung QLED TV flickers ({i})", "Sorry, the Samsung QLED needs new firmware."));
            train.Add(($"LG OLED C1 has no picture ({i})", "Reset the LG OLED C1, please."));
            train.Add(($"Router 4331 is down ({i})", "We rebooted router 4331."));
        }
        train.Add(("Dell XPS overheats", "Clean the Dell XPS fan."));
        train.Add(("Dell XPS overheats again", "Clean the Dell XPS fan."));
        train.AddRange(Enumerable.Range(0, 100).Select(i => ($"Printer jams again (ticket {i})", "Please restart the printer.")));
        return Grounding.Learn(train);
    }

    [Fact]
    public void Learn_NamesEchoedByFewTickets_SpecificButNotCommonWordsUnechoedWordsOrNumbers()
    {
        // Not "printer" (in 100 of 109 tickets), "firmware" (never in a ticket), "dell" (2 answers), "4331" (a number).
        Assert.Equal(["c1", "lg", "oled", "qled", "router", "samsung"], Learnt().Specific.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Judge_NoSpecificTokenNamed_NotForeignGroundedNullNotMentions()
    {
        var grounding = Learnt();
        Assert.Equal(new GroundingVerdict(false, null, false), grounding.Judge("Please restart the printer.", "Samsung QLED TV flickers"));
        Assert.Equal(new GroundingVerdict(false, null, false), grounding.Judge("", "Samsung QLED TV flickers"));
        Assert.Equal(new GroundingVerdict(false, null, false), grounding.Judge("We rebooted it (ticket 4331).", "Router 4331 is down"));
    }

    [Fact]
    public void Judge_AnotherTicketsProduct_ForeignGroundedZeroNotMentions()
    {
        Assert.Equal(new GroundingVerdict(true, 0, false), Learnt().Judge("Reset the LG OLED C1, please.", "My Samsung QLED flickers"));
    }

    [Fact]
    public void Judge_ThisTicketsProductAndAnother_ForeignPartlyGroundedMentions()
    {
        var verdict = Learnt().Judge("Unlike an LG, the Samsung QLED needs new firmware.", "Samsung QLED TV flickers");
        Assert.Equal(new GroundingVerdict(true, 2.0 / 3, true), verdict);
    }

    [Fact]
    public void Judge_OtherCaseAndPunctuation_FullyGrounded()
    {
        Assert.Equal(new GroundingVerdict(false, 1, true), Learnt().Judge("SAMSUNG-qled: updated.", "my samsung QLED"));
    }

    [Fact]
    public void Summary_GroundedOnlyOverSuggestionsNamingAny_RougeNullWithoutReference()
    {
        var scores = new GroundingScores(Learnt());
        Assert.Equal(new GroundingFigures(null, null, null, null), scores.Summary());

        scores.Add("Please restart the printer.", "Samsung QLED TV flickers", reference: null);
        scores.Add("The Samsung QLED needs new firmware.", "Samsung QLED TV flickers", reference: null);
        scores.Add("Reset the LG OLED C1.", "Samsung QLED TV flickers", reference: null);

        Assert.Equal(new GroundingFigures(null, 0.3333, 0.5, 0.3333), scores.Summary());
    }

    [Theory]
    [InlineData("tickets-multilang")]
    [InlineData("tickets-en-de")]
    public void Learn_SharedSplit_SameTokensAndFiguresAsThePythonBaseline(string name)
    {
        var csv = Path.Combine(Paths.Shared, "data", name + ".csv");
        var splitPath = Path.Combine(Paths.Bench, "splits", name + "_type.json");
        var (tickets, _) = LabelledTickets.Read(csv, "type");
        var split = SplitFile.Load(splitPath);
        var train = tickets.Where(t => split.Train.Contains(t.Index) && !string.IsNullOrWhiteSpace(t.Answer)).OrderBy(t => t.Index).ToList();
        var test = tickets.Where(t => split.Test.Contains(t.Index) && !string.IsNullOrWhiteSpace(t.Answer)).OrderBy(t => t.Index).ToList();

        var grounding = Grounding.Learn(train.Select(t => (t.Text, t.Answer)));
        GroundingScores real = new(grounding), next = new(grounding);
        for (var k = 0; k < test.Count; k++)
        {
            real.Add(test[k].Answer, test[k].Text, reference: null);
            next.Add(test[(k + 1) % test.Count].Answer, test[k].Text, test[k].Answer);
        }

        var python = GroundingBaseline.Summaries(csv, splitPath);
        Assert.Equal(python["n_train"]!.GetValue<int>(), train.Count);
        Assert.Equal(python["n_test"]!.GetValue<int>(), test.Count);
        var expected = python["specific"]!.AsArray().Select(t => t!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        Assert.True(expected.SetEquals(grounding.Specific),
            $"only Python: {string.Join(' ', expected.Except(grounding.Specific))}; only C#: {string.Join(' ', grounding.Specific.Except(expected))}");
        Assert.NotEmpty(expected);
        Assert.Equal(Figures(python["real_answer"]!), real.Summary());
        Assert.Equal(Figures(python["next_answer"]!), next.Summary());
    }

    /// <summary>The Python's <c>Scores.summary()</c> as the C# record.</summary>
    internal static GroundingFigures Figures(JsonNode summary)
    {
        static double? Value(JsonNode? n) => n?.GetValue<double>();
        return new GroundingFigures(Value(summary["rouge_l"]), Value(summary["foreign"]), Value(summary["grounded"]), Value(summary["mentions"]));
    }

    [Fact]
    public void PythonText_EveryCodePointPythonAssigns_SameWordClassLowerAndIsDigit()
    {
        var python = GroundingBaseline.Run("""
            import json, re, unicodedata
            word, digit, lower, assigned = [], [], {}, []
            for cp in range(0x110000):
                c = chr(cp)
                if 0xD800 <= cp <= 0xDFFF or unicodedata.category(c) == "Cn":
                    continue
                assigned.append(cp)
                if re.fullmatch(r"\w", c): word.append(cp)
                if c.isdigit(): digit.append(cp)
                if c.lower() != c: lower[cp] = c.lower()
            print(json.dumps({"assigned": assigned, "word": word, "digit": digit, "lower": lower}))
            """);
        var word = Ints(python["word"]!).ToHashSet();
        var digit = Ints(python["digit"]!).ToHashSet();
        var lower = python["lower"]!.AsObject().ToDictionary(kv => int.Parse(kv.Key, CultureInfo.InvariantCulture), kv => kv.Value!.GetValue<string>());
        var differences = new List<string>();
        foreach (var cp in Ints(python["assigned"]!))
        {
            var text = char.ConvertFromUtf32(cp);
            if (PythonText.IsWord(new Rune(cp)) != word.Contains(cp))
            {
                differences.Add($"U+{cp:X4} \\w");
            }
            if (PythonText.IsDigit(text) != digit.Contains(cp))
            {
                differences.Add($"U+{cp:X4} isdigit");
            }
            if (PythonText.Lower(text) != lower.GetValueOrDefault(cp, text))
            {
                differences.Add($"U+{cp:X4} lower");
            }
        }
        Assert.True(differences.Count == 0, string.Join(", ", differences.Take(50)));
    }

    [Fact]
    public void PythonText_FinalSigmaDottedIMarksAndAstralLetters_SameTokensWordsAndRougeAsPython()
    {
        string[] texts =
        [
            "ΟΔΟΣ ΟΔΟΣ. ΣΑΣ Σ ΑΣ'Β ΑΣ' ΑΣ\u0301 Aʰ Σ", "İstanbul İZMİR", "a_b ²³ ½ Ⅻ 4331² ①", "nai\u0308ve naïve fi\uFB01x",
            "𝐀𝐁𝐂 日本語 😀 x\u200Dy", "Straße STRASSE ǅemal", "ΑΣⅠ ⓐΣ", "",
        ];
        var python = GroundingBaseline.Run("""
            import json, sys, grounding_baseline as g
            texts = json.load(sys.stdin)
            print(json.dumps([{"lower": t.lower(), "tokens": g.WORD.findall(t), "words": sorted(g.words(t)),
                               "digits": [w.isdigit() for w in g.WORD.findall(t)],
                               "rouge": g.rouge_l(t, texts[(i + 1) % len(texts)])} for i, t in enumerate(texts)]))
            """, JsonSerializer.Serialize(texts)).AsArray();
        for (var i = 0; i < texts.Length; i++)
        {
            var expected = python[i]!;
            var tokens = PythonText.Tokens(texts[i]);
            Assert.Equal(expected["lower"]!.GetValue<string>(), PythonText.Lower(texts[i]));
            Assert.Equal(Strings(expected["tokens"]!), tokens);
            Assert.Equal(Strings(expected["words"]!), PythonText.Words(texts[i]).Order(StringComparer.Ordinal));
            Assert.Equal(expected["digits"]!.AsArray().Select(d => d!.GetValue<bool>()), tokens.Select(PythonText.IsDigit));
            Assert.Equal(expected["rouge"]!.GetValue<double>(), PythonText.RougeL(texts[i], texts[(i + 1) % texts.Length]), 12);
        }
    }

    [Fact]
    public void Round_TiesAndNearTies_SameAsPythonRound()
    {
        double[] values = [0.03125, 0.09375, 0.00005, 0.12345, 0.5, 2.675, 1.0 / 3, 0.99995, 0.99994999999, 1e-20, 123.45675, 0.4193, 0.83405, 5e-324, -0.03125, -2.675];
        var python = GroundingBaseline.Run("""
            import json, sys
            print(json.dumps([round(v, 4) for v in json.load(sys.stdin)]))
            """, JsonSerializer.Serialize(values)).AsArray();
        Assert.Equal(python.Select(v => v!.GetValue<double>()), values.Select(v => PythonText.Round(v, 4)));
    }

    private static IEnumerable<int> Ints(JsonNode array) => array.AsArray().Select(n => n!.GetValue<int>());

    private static List<string> Strings(JsonNode array) => array.AsArray().Select(n => n!.GetValue<string>()).ToList();
}
