namespace CommentFlow.Engines;

internal sealed class RulesOptions
{
    public const string Section = "CommentFlow:Rules";

    /// <summary>The rules file; empty uses the <c>rules.json</c> shipped next to the executable.</summary>
    public string? Path { get; set; }

    public string ResolvePath() => string.IsNullOrWhiteSpace(Path) ? System.IO.Path.Combine(AppContext.BaseDirectory, "rules.json") : Path;
}
