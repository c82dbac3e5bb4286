using CommentFlow.Engines;
using CommentFlow.Import;
using CsCheck;

namespace CommentFlow.Tests.Engines;

public sealed class TextNormalizerTests
{
    [Theory]
    [InlineData("Sesión EXPIRADA!!", " sesion expirada ")]
    [InlineData("Übergröße — 42°C", " ubergroße 42 c ")]
    [InlineData("", " ")]
    [InlineData("?!", " ")]
    [InlineData("Ça va? ÑANDÚ", " ca va nandu ")]
    public void Normalize_Examples(string text, string expected) => Assert.Equal(expected, TextNormalizer.Normalize(text));

    /// <summary>The character-by-character path gives what lower-casing and decomposing the whole string gives.</summary>
    [Fact]
    public void Normalize_EveryBmpCharacterAloneAndBesideMarks_SameAsTheWholeStringDefinition()
    {
        var marks = "\u0301\u0316\u0345\u05B0\u0F39\u0F71\u093C\u20DD";
        for (var c = 0; c <= char.MaxValue; c++)
        {
            if (char.IsSurrogate((char)c))
            {
                continue;
            }
            AssertSame($"A{(char)c}{marks[c % marks.Length]}{(char)c}b");
        }
    }

    /// <summary>Equal results, or both refuse the text (noncharacters such as U+FFFE cannot be normalised).</summary>
    private static void AssertSame(string text)
    {
        string expected;
        try
        {
            expected = TextNormalizer.NormalizeWhole(text);
        }
        catch (ArgumentException)
        {
            Assert.Throws<ArgumentException>(() => TextNormalizer.Normalize(text));
            return;
        }
        Assert.Equal(expected, TextNormalizer.Normalize(text));
    }

    [Fact]
    public void Normalize_RandomTextsAndTheSharedTickets_SameAsTheWholeStringDefinition()
    {
        Gen.String[Gen.Char['\u0000', '\uFFFF'].Where(c => !char.IsSurrogate(c)), 0, 40]
            .Sample(AssertSame, iter: 20_000);
        var texts = HistoryImport.ReadCsv(Path.Combine(Paths.Shared, "data", "tickets-multilang.csv"), new(), DateTimeOffset.UnixEpoch)
            .Where(i => i.Sample is not null)
            .SelectMany(i => new[] { i.Sample!.Context.Summary, i.Sample.Context.Description }.Concat(i.Sample.Suggestions.Select(s => s.Text)));
        Assert.All(texts, text => Assert.Equal(TextNormalizer.NormalizeWhole(text), TextNormalizer.Normalize(text)));
        Assert.Equal(TextNormalizer.NormalizeWhole("𝔘𝔫𝔦 \U0002F800 x"), TextNormalizer.Normalize("𝔘𝔫𝔦 \U0002F800 x")); // supplementary: the whole path
    }
}
