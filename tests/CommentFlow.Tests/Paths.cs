namespace CommentFlow.Tests;

/// <summary>The repository and the team's <c>shared/</c> folder beside it (data and baseline programs).</summary>
internal static class Paths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Shared => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    public static string SeedBaseline => Path.Combine(Shared, "bench", "seed_baseline.py");

    /// <summary>The folder of the baseline programs, for tests that import their functions (<c>sys.path</c>).</summary>
    public static string Bench => Path.Combine(Shared, "bench");

    public static string GroundingBaseline => Path.Combine(Bench, "grounding_baseline.py");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CommentFlow.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("CommentFlow.slnx not found above " + AppContext.BaseDirectory);
    }
}
