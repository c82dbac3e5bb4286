using CommentFlow.Dataset;

namespace CommentFlow.Tests.Dataset;

public sealed class BalancerTests
{
    private static readonly string[] Labels = [.. Enumerable.Repeat("action", 10), .. Enumerable.Repeat("diagnostic", 4), .. Enumerable.Repeat("resolution", 1)];

    [Theory]
    [InlineData(BalanceModes.Undersample, 1)]
    [InlineData(BalanceModes.Oversample, 10)]
    public void Balance_Modes_EqualCountsPerClass(string mode, int perClass)
    {
        var items = Labels.Select((l, i) => (Id: i, Label: l)).ToList();
        var balanced = Balancer.Balance(items, x => x.Label, mode, seed: 3);
        Assert.All(balanced.GroupBy(x => x.Label), g => Assert.Equal(perClass, g.Count()));
        Assert.Equal(3, balanced.Select(x => x.Label).Distinct().Count());
        Assert.Equal(balanced, Balancer.Balance(items, x => x.Label, mode, seed: 3)); // seeded
    }

    [Fact]
    public void Balance_None_KeepsEverything() =>
        Assert.Equal(15, Balancer.Balance(Labels, x => x, BalanceModes.None, 1).Count);
}
