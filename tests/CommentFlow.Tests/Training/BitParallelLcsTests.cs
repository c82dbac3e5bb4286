using CommentFlow.OwnModel;
using CommentFlow.Training;

namespace CommentFlow.Tests.Training;

public sealed class BitParallelLcsTests
{
    [Fact]
    public void RougeL_RandomSequences_EqualsTheDynamicProgramme()
    {
        var random = new Random(7);
        var reused = new BitParallelLcs(); // reset for every pattern, as a query does: stale masks would show
        for (var round = 0; round < 500; round++)
        {
            // Lengths across the 64-bit word boundaries; a small alphabet makes long common subsequences.
            var a = Enumerable.Range(0, random.Next(0, 200)).Select(_ => random.Next(12)).ToArray();
            var b = Enumerable.Range(0, random.Next(0, 200)).Select(_ => random.Next(12)).ToArray();
            Assert.Equal(TextMetrics.RougeL(a, b), new BitParallelLcs(a).RougeL(b), 10);
            reused.Reset(a);
            Assert.Equal(TextMetrics.RougeL(a, b), reused.RougeL(b), 10);
        }
    }

    [Fact]
    public void Advance_ByRows_EqualsTheDynamicProgramme()
    {
        // The composer's path: the text's matching tokens looked up once, then read row by row, in one call or in several
        // (a sentence at a time); patterns of one word (no carry) and of several.
        var random = new Random(11);
        var lcs = new BitParallelLcs();
        for (var round = 0; round < 500; round++)
        {
            var a = Enumerable.Range(0, random.Next(1, 260)).Select(_ => random.Next(10)).ToArray();
            var b = Enumerable.Range(0, random.Next(0, 200)).Select(_ => random.Next(14)).ToArray();
            lcs.Reset(a);
            var rows = b.Where(lcs.Rows.ContainsKey).Select(t => lcs.Rows[t]).ToArray();
            var whole = new ulong[lcs.Words];
            BitParallelLcs.Start(whole);
            lcs.Advance(whole, rows);
            var pieces = new ulong[lcs.Words];
            BitParallelLcs.Start(pieces);
            var cut = random.Next(rows.Length + 1);
            lcs.Advance(pieces, rows.AsSpan(0, cut));
            lcs.Advance(pieces, rows.AsSpan(cut));
            var expected = (int)Math.Round(TextMetrics.RougeL(a, b) * (a.Length + b.Length) / 2);
            Assert.Equal(expected, lcs.LcsOf(whole));
            Assert.Equal(expected, lcs.LcsOf(pieces));
        }
    }

    [Fact]
    public void Lcs_KnownCase() => Assert.Equal(4, new BitParallelLcs([1, 2, 3, 2, 4, 1, 2]).Lcs([2, 4, 3, 1, 2, 1]));
}
