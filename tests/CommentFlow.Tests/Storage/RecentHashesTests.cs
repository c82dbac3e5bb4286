using CommentFlow.Storage;

namespace CommentFlow.Tests.Storage;

public sealed class RecentHashesTests
{
    private static string Md5Hex(int i) => Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(BitConverter.GetBytes(i)));

    [Fact]
    public void Add_MoreThanItHolds_ForgetsTheOldestFirst()
    {
        var recent = new RecentHashes(capacity: 3);
        recent.Add([Md5Hex(1), Md5Hex(2), Md5Hex(3)]);
        recent.Add([Md5Hex(2), Md5Hex(4)]); // 2 is held already: only 4 takes a place, 1 makes room

        Assert.False(recent.Contains(Md5Hex(1)));
        Assert.All(new[] { 2, 3, 4 }, i => Assert.True(recent.Contains(Md5Hex(i))));

        recent.Add([Md5Hex(5), Md5Hex(6)]);
        Assert.Equal([false, false, false, true, true, true], Enumerable.Range(1, 6).Select(i => recent.Contains(Md5Hex(i))));
    }

    [Fact]
    public void Contains_HashesThatAreNotMd5Hex_KeptByTheirText()
    {
        var recent = new RecentHashes(capacity: 4);
        recent.Add(["legacy-1", "zz"]);

        Assert.True(recent.Contains("legacy-1"));
        Assert.True(recent.Contains("zz"));
        Assert.False(recent.Contains("legacy-2"));
        Assert.False(recent.Contains(Md5Hex(1)));
    }
}
