namespace CommentFlow.Tests;

public static class TempDir
{
    public static string Create()
    {
        var path = Path.Combine(Path.GetTempPath(), "commentflow-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        return path;
    }
}
