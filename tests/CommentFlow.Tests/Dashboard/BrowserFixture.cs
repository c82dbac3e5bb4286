using Microsoft.Playwright;

namespace CommentFlow.Tests.Dashboard;

/// <summary>
/// Debian's Chromium (/usr/bin/chromium, which ./test.sh installs) driven by Playwright for .NET, one browser for the
/// dashboard tests. Playwright's own browser download is never used: the executable is named, and nothing installs one.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where the tests leave their screenshots: <c>.artifacts/screenshots/</c> at the repository root.</summary>
    public static string ScreenshotDir { get; } = Path.Combine(Paths.RepoRoot, ".artifacts", "screenshots");

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: ./test.sh installs Debian's chromium package.");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        Directory.CreateDirectory(ScreenshotDir);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // The machine has no internet: background networking would only fail, noisily, at every start.
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        _playwright?.Dispose();
    }
}
