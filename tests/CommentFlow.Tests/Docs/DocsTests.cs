using Markdig;
using Markdig.Renderers.Html;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace CommentFlow.Tests.Docs;

/// <summary>The README stays a five-minute read, and every link of the docs leads somewhere: a file, and a heading in it.</summary>
public sealed class DocsTests
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseAutoIdentifiers(Markdig.Extensions.AutoIdentifiers.AutoIdentifierOptions.GitHub).Build();

    private static IEnumerable<string> Documents()
    {
        yield return Path.Combine(Paths.RepoRoot, "README.md");
        yield return Path.Combine(Paths.RepoRoot, "bench", "README.md");
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Paths.RepoRoot, "docs"), "*.md"))
        {
            yield return file;
        }
    }

    [Fact]
    public void Readme_AtMost200Lines()
    {
        var lines = File.ReadAllLines(Path.Combine(Paths.RepoRoot, "README.md")).Length;
        Assert.True(lines <= 200, $"README.md has {lines} lines");
    }

    [Fact]
    public void Docs_EveryRelativeLinkResolves_ToAFileAndAHeadingInIt()
    {
        var broken = new List<string>();
        var checkedLinks = 0;
        foreach (var document in Documents())
        {
            var parsed = Markdown.Parse(File.ReadAllText(document), Pipeline);
            foreach (var link in parsed.Descendants<LinkInline>())
            {
                var url = link.Url ?? "";
                if (link.IsImage || url.Length == 0 || url.Contains("://", StringComparison.Ordinal) || url.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    continue;
                }
                checkedLinks++;
                var hash = url.IndexOf('#', StringComparison.Ordinal);
                var (path, anchor) = hash < 0 ? (url, null) : (url[..hash], url[(hash + 1)..]);
                var target = path.Length == 0 ? document : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(document)!, Uri.UnescapeDataString(path)));
                var where = $"{Path.GetRelativePath(Paths.RepoRoot, document)}: ({url})";
                if (!File.Exists(target) && !Directory.Exists(target))
                {
                    broken.Add($"{where}: no such file");
                }
                else if (anchor is not null && (!target.EndsWith(".md", StringComparison.Ordinal) || !Headings(target).Contains(anchor)))
                {
                    broken.Add($"{where}: no heading #{anchor}");
                }
            }
        }
        Assert.True(checkedLinks > 30, $"only {checkedLinks} links found: is the parser reading the files?");
        Assert.Empty(broken);
    }

    private static HashSet<string> Headings(string file) =>
        [.. Markdown.Parse(File.ReadAllText(file), Pipeline).Descendants<HeadingBlock>().Select(h => h.GetAttributes().Id).OfType<string>()];
}
