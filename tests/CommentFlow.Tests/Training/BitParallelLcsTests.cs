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
    public void Lcs_KnownCase() => Assert.Equal(4, new BitParallelLcs([1, 2, 3, 2, 4, 1, 2]).Lcs([2, 4, 3, 1, 2, 1]));
}
