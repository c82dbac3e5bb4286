using CommentFlow.Training;

namespace CommentFlow.Tests.Training;

public sealed class TextMetricsTests
{
    [Theory]
    // LCS("the cat sat on the mat", "the cat is on the mat") = the cat on the mat (5); P = 5/6, R = 5/6.
    [InlineData("The cat sat on the mat", "the cat is on the mat", 5.0 / 6)]
    [InlineData("a b c", "a b c", 1.0)]
    [InlineData("a b c", "x y z", 0.0)]
    [InlineData("", "a", 0.0)]
    // LCS("a b c d", "b d") = 2; P = 2/4, R = 2/2 → F1 = 2/3.
    [InlineData("a b c d", "b d", 2.0 / 3)]
    public void RougeL_KnownPairs_MatchHandComputed(string candidate, string reference, double expected) =>
        Assert.Equal(expected, TextMetrics.RougeL(candidate, reference), 6);

    [Fact]
    public void TokenF1_Overlap_CountsMultiplicity()
    {
        // candidate {a:2, b:1}, reference {a:1, c:1}: overlap 1, P = 1/3, R = 1/2 → F1 = 0.4
        Assert.Equal(0.4, TextMetrics.TokenF1("a a b", "a c"), 6);
    }

    [Fact]
    public void Tokens_UnicodeWords_LowerCasedWithoutPunctuation() =>
        Assert.Equal(["número", "404", "über", "señal"], TextMetrics.Tokens("Número 404: ÜBER-señal!"));
}
