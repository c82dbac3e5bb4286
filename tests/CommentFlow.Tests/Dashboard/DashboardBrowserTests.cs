using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using CommentFlow.Cli;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.Export;
using CommentFlow.Storage;
using CommentFlow.Tests.Api;
using CommentFlow.Tests.Fakes;
using CommentFlow.Training;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace CommentFlow.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's Chromium through Playwright) against the real server on a loopback port,
/// with a store the test filled: each page opens without script errors, the charts hold the stored numbers, the try-it
/// flow changes the acceptance rate, and a screenshot of each page is left in <c>.artifacts/screenshots/</c>.
/// </summary>
public sealed class DashboardBrowserTests(BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private static readonly DateTimeOffset Day = new(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);

    /// <summary>A page with its script errors and console errors (text, and where it came from: for a refused request, its URL) collected.</summary>
    private sealed record Opened(IBrowserContext Context, IPage Page, List<string> Errors, List<ConsoleError> ConsoleErrors) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => new(Context.CloseAsync());
    }

    private sealed record ConsoleError(string Text, string Location)
    {
        public override string ToString() => $"{Text} @ {Location}";
    }

    /// <summary>How Chromium reports a response with an error status to the console: the request's URL is its location.</summary>
    private static string RefusedText(int status, string reason) => $"Failed to load resource: the server responded with a status of {status} ({reason})";

    /// <summary>
    /// Every console error is one of the refusals the test provoked (status and API path), and each of those was seen:
    /// any other error (a script fault, another failed request) fails the test, and so does a refusal that never came.
    /// </summary>
    private static void AssertOnlyRefusals(Opened opened, params (int Status, string Reason, string Path)[] expected)
    {
        var all = string.Join(" | ", opened.ConsoleErrors);
        bool Is(ConsoleError e, (int Status, string Reason, string Path) r) =>
            e.Text == RefusedText(r.Status, r.Reason)
            && Uri.TryCreate(Regex.Replace(e.Location, @":\d+:\d+$", ""), UriKind.Absolute, out var url)
            && url.AbsolutePath == "/api/ml/comments" + r.Path;
        Assert.All(opened.ConsoleErrors, e => Assert.True(expected.Any(r => Is(e, r)), $"unexpected console error: {e}; all: {all}"));
        Assert.All(expected, r => Assert.True(opened.ConsoleErrors.Any(e => Is(e, r)), $"no console error for {r}; all: {all}"));
    }

    private async Task<Opened> OpenAsync(TestServer server, string page)
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.Client.BaseAddress!.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            Permissions = ["clipboard-read", "clipboard-write"],
            AcceptDownloads = true,
        });
        context.SetDefaultTimeout(30_000);
        var p = await context.NewPageAsync();
        var errors = new List<string>();
        var consoleErrors = new List<ConsoleError>();
        p.PageError += (_, e) => errors.Add(e);
        p.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                consoleErrors.Add(new ConsoleError(m.Text, m.Location));
            }
        };
        await p.GotoAsync($"/#{page}");
        return new Opened(context, p, errors, consoleErrors);
    }

    private static Task WaitLoadedAsync(IPage page, string name) => page.WaitForSelectorAsync($"body[data-loaded={name}]");

    private async Task ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(BrowserFixture.ScreenshotDir, $"{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        Assert.True(new FileInfo(path).Length > 10_000, $"{path} is nearly empty");
        output.WriteLine($"screenshot: {path}");
    }

    /// <summary>What Chart.js holds for the chart: label → value of each dataset.</summary>
    private static async Task<Dictionary<string, Dictionary<string, double>>> ChartAsync(IPage page, string id)
    {
        var json = await page.EvaluateAsync<JsonElement>(
            "id => { const c = Chart.getChart(document.getElementById('chart-' + id)); return { labels: c.data.labels, sets: c.data.datasets.map(d => ({ label: d.label, data: d.data })) }; }", id);
        var labels = json.GetProperty("labels").EnumerateArray().Select(l => l.GetString()!).ToList();
        return json.GetProperty("sets").EnumerateArray().ToDictionary(s => s.GetProperty("label").GetString()!,
            s => s.GetProperty("data").EnumerateArray().Select((v, i) => (labels[i], v.GetDouble())).ToDictionary(x => x.Item1, x => x.Item2));
    }

    private static Dictionary<string, double> CountBy<T>(IEnumerable<T> items, Func<T, string> key) =>
        items.GroupBy(key).ToDictionary(g => g.Key, g => (double)g.Count());

    [Fact]
    public async Task Overview_FilledStore_ChartsDrawTheStoredNumbers()
    {
        string[] issueTypes = ["Bug", "Incident", "Bug", "Task", "Incident", "Bug", "Service Request"];
        string[] statuses = ["Open", "In Progress", "Open", "Resolved", "Open", "Open", "In Progress"];
        string[] priorities = ["High", "Low", "Medium", "High", "Critical", "Low", "High"];
        int[] days = [0, 0, 0, 1, 3, 3, 5];
        var filled = Enumerable.Range(0, 7).Select(i => Some.Sample(
            Some.Context(issueType: issueTypes[i], status: statuses[i], priority: priorities[i]) with { Language = i % 3 == 0 ? "es" : "en" },
            suggestions: 1 + i % 3, at: Day.AddDays(days[i]).AddHours(i))).ToList();
        var dataDir = TempDir.Create();
        await (await Stores.OpenAsync(dataDir)).WriteAsync(filled, null, CancellationToken.None);

        await using var server = await TestServer.StartAsync(dataDir, "Engine=rules", "Cache:TtlSeconds=0");
        var answered = new List<Suggestion>();
        for (var i = 0; i < 4; i++)
        {
            var answer = await server.SuggestAsync(new { ticket_key = $"LIVE-{i}", summary = $"VPN drops every hour ({i})", issue_type = "Bug", status = "Open", priority = "High" });
            answered.AddRange(answer["suggestions"]!.AsArray().Select(s => new Suggestion(s!["text"]!.GetValue<string>(), s["type"]!.GetValue<string>(), 0)));
        }
        await DashboardApiTests.WaitForSamplesAsync(server, filled.Count + 4);
        var today = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        await using var opened = await OpenAsync(server, "overview");
        var page = opened.Page;
        await WaitLoadedAsync(page, "overview");

        await Expect(page.Locator("#kpi-samples")).ToHaveTextAsync("11");
        await Expect(page.Locator("#kpi-suggestions")).ToHaveTextAsync((filled.Sum(s => s.Suggestions.Count) + answered.Count).ToString(CultureInfo.InvariantCulture));
        await Expect(page.Locator("#kpi-compression")).ToHaveTextAsync("off");

        var expectedDays = CountBy(filled, s => s.CreatedAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        expectedDays[today] = expectedDays.GetValueOrDefault(today) + 4;
        // Days in between without samples are drawn as zeros.
        var firstDay = DateOnly.Parse(expectedDays.Keys.Min()!, CultureInfo.InvariantCulture);
        var lastDay = DateOnly.Parse(expectedDays.Keys.Max()!, CultureInfo.InvariantCulture);
        for (var d = firstDay; d <= lastDay; d = d.AddDays(1))
        {
            expectedDays.TryAdd(d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), 0);
        }
        Assert.Equal(expectedDays, (await ChartAsync(page, "daily"))["Samples"]);
        var contexts = filled.Select(s => s.Context).Concat(Enumerable.Repeat(new TicketContext { IssueType = "Bug", Status = "Open", Priority = "High" }, 4)).ToList();
        Assert.Equal(CountBy(contexts, c => c.IssueType), (await ChartAsync(page, "issue"))["Samples"]);
        Assert.Equal(CountBy(contexts, c => c.Status), (await ChartAsync(page, "status"))["Samples"]);
        Assert.Equal(CountBy(contexts, c => c.Priority), (await ChartAsync(page, "priority"))["Samples"]);
        Assert.Equal(CountBy(filled, s => s.Context.Language!), (await ChartAsync(page, "language"))["Samples"]);
        Assert.Equal(CountBy(filled.SelectMany(s => s.Suggestions).Concat(answered), s => StatsDelta.ShownTypeOf(s.Type)), (await ChartAsync(page, "type"))["Suggestions"]);
        // Engine mix and latency are in-memory since start: the four answers of the rules engine.
        Assert.Equal(4, (await ChartAsync(page, "engines"))["rules"].Values.Sum());
        var latency = await ChartAsync(page, "latency");
        Assert.Equal(["p50", "p90", "p99"], latency.Keys);
        Assert.True(latency["p50"]["rules"] <= latency["p99"]["rules"]);

        // The text alternative says the same as the chart.
        await Expect(page.Locator("#table-issue tbody tr")).ToHaveCountAsync(contexts.Select(c => c.IssueType).Distinct().Count());
        Assert.Contains("Bug 7", await page.Locator("#chart-issue").GetAttributeAsync("aria-label"), StringComparison.Ordinal);

        // Keyboard: the arrow key moves to the next tab and opens its page.
        await page.FocusAsync("#tab-overview");
        await page.Keyboard.PressAsync("ArrowRight");
        await WaitLoadedAsync(page, "try");
        Assert.Equal("tab-try", await page.EvaluateAsync<string>("document.activeElement.id"));

        var paint = await page.EvaluateAsync<double>("performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint')?.startTime ?? -1");
        var drawn = await page.EvaluateAsync<double>("performance.getEntriesByName('dashboard-loaded')[0].startTime");
        output.WriteLine($"first contentful paint: {paint:0} ms; overview drawn with its data: {drawn:0} ms");
        Assert.InRange(paint, 0, 10_000); // a sanity bound only; the README gives the measured figure

        await page.ClickAsync("#tab-overview");
        await WaitLoadedAsync(page, "overview");
        await ScreenshotAsync(page, "overview");
        Assert.Empty(opened.Errors);
        Assert.Empty(opened.ConsoleErrors);
    }

    [Fact]
    public async Task Overview_TwentyIssueTypes_FourteenLargestAndTheRestAsOneBar()
    {
        // Issue type T01 once, T02 twice, … T20 twenty times.
        var samples = Enumerable.Range(1, 20).SelectMany(t => Enumerable.Range(0, t).Select(_ => Some.Sample(Some.Context(issueType: $"T{t:00}"), suggestions: 1))).ToList();
        var dataDir = TempDir.Create();
        await (await Stores.OpenAsync(dataDir)).WriteAsync(samples, null, CancellationToken.None);
        await using var server = await TestServer.StartAsync(dataDir);

        await using var opened = await OpenAsync(server, "overview");
        await WaitLoadedAsync(opened.Page, "overview");
        var expected = Enumerable.Range(7, 14).ToDictionary(t => $"T{t:00}", t => (double)t);
        expected["(6 others)"] = Enumerable.Range(1, 6).Sum();
        Assert.Equal(expected, (await ChartAsync(opened.Page, "issue"))["Samples"]);
        Assert.Empty(opened.Errors);
    }

    [Fact]
    public async Task TryIt_SuggestAcceptCopyEditDismiss_AcceptanceRateChanges()
    {
        await using var server = await TestServer.StartAsync(null, "Engine=rules");
        await using var opened = await OpenAsync(server, "try");
        var page = opened.Page;
        await WaitLoadedAsync(page, "try");
        await Expect(page.Locator("#try-rate")).ToHaveTextAsync("–");

        await page.GetByRole(AriaRole.Textbox, new() { Name = "Ticket key", Exact = true }).FillAsync("WEB-1");
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Summary", Exact = true }).FillAsync("Error 404 en página principal");
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Description", Exact = true }).FillAsync("Los usuarios reportan error 404 al entrar");
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Comments so far (one per line, oldest first)", Exact = true }).FillAsync("Iniciando investigación");
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Your name (optional, sent with feedback)", Exact = true }).FillAsync("ana");
        await page.GetByRole(AriaRole.Button, new() { Name = "Suggest", Exact = true }).ClickAsync();
        var cards = page.Locator(".card");
        await Expect(cards.First).ToBeVisibleAsync();
        var shown = await cards.CountAsync();
        Assert.Equal(5, shown); // the rules engine answers this ticket with five
        await Expect(cards.First.Locator(".engine")).ToHaveTextAsync("engine rules");
        // The rate's denominator is what the store holds: wait for the capture writer.
        await DashboardApiTests.WaitForSamplesAsync(server, 1);

        string Rate(int kept) => $"{(100.0 * kept / shown).ToString("0.0", CultureInfo.InvariantCulture)} %";
        await cards.Nth(0).GetByRole(AriaRole.Button, new() { Name = "Accept" }).ClickAsync();
        await Expect(cards.Nth(0)).ToHaveAttributeAsync("data-feedback", "accepted");
        await Expect(page.Locator("#try-rate")).ToHaveTextAsync(Rate(1));

        // Copying the text is using it: the clipboard holds it, and it counts as accepted.
        await cards.Nth(1).GetByRole(AriaRole.Button, new() { Name = "Copy" }).ClickAsync();
        await Expect(cards.Nth(1)).ToHaveAttributeAsync("data-feedback", "accepted");
        await Expect(page.Locator("#try-rate")).ToHaveTextAsync(Rate(2));
        Assert.Equal(await cards.Nth(1).Locator(".text").TextContentAsync(), await page.EvaluateAsync<string>("navigator.clipboard.readText()"));

        // Copying by hand (select the text, Ctrl+C) counts as well.
        await cards.Nth(3).Locator(".text").SelectTextAsync();
        await page.Keyboard.PressAsync("Control+C");
        await Expect(cards.Nth(3)).ToHaveAttributeAsync("data-feedback", "accepted");
        await Expect(page.Locator("#try-rate")).ToHaveTextAsync(Rate(3));

        // Edit opens the text; sending it records what the agent wrote instead, and counts as kept.
        await cards.Nth(2).GetByRole(AriaRole.Button, new() { Name = "Edit" }).ClickAsync();
        await cards.Nth(2).GetByRole(AriaRole.Textbox, new() { Name = "Edited text" }).FillAsync("Revisé el virtual host y ya está corregido.");
        await cards.Nth(2).GetByRole(AriaRole.Button, new() { Name = "Edit" }).ClickAsync();
        await Expect(cards.Nth(2)).ToHaveAttributeAsync("data-feedback", "edited");
        await Expect(page.Locator("#try-rate")).ToHaveTextAsync(Rate(4));

        // Dismissing one leaves the rate as it was.
        await cards.Nth(shown - 1).GetByRole(AriaRole.Button, new() { Name = "Dismiss" }).ClickAsync();
        await Expect(cards.Nth(shown - 1)).ToHaveAttributeAsync("data-feedback", "dismissed");
        await Expect(page.Locator("#try-rate")).ToHaveTextAsync(Rate(4));
        await ScreenshotAsync(page, "try-it");

        var feedback = (await server.GetJsonAsync("/api/ml/comments/ml-stats"))["stats"]!["feedback"]!;
        Assert.Equal(3, feedback["by_action"]!["accepted"]!.GetValue<long>());
        Assert.Equal(1, feedback["by_action"]!["edited"]!.GetValue<long>());
        Assert.Equal(1, feedback["by_action"]!["dismissed"]!.GetValue<long>());
        var stored = (await server.GetJsonAsync("/api/ml/comments/samples"))["samples"]![0]!["suggestions"]![2]!["feedback"]![0]!;
        Assert.Equal(("edited", "ana", "Revisé el virtual host y ya está corregido."),
            (stored["action"]!.GetValue<string>(), stored["agent"]!.GetValue<string>(), stored["final_text"]!.GetValue<string>()));

        await page.GetByRole(AriaRole.Tab, new() { Name = "Overview" }).ClickAsync();
        await WaitLoadedAsync(page, "overview");
        await Expect(page.Locator("#kpi-acceptance")).ToHaveTextAsync(Rate(4));
        Assert.Empty(opened.Errors);
        Assert.Empty(opened.ConsoleErrors);
    }

    /// <summary>The text of an ADF document as posted: its text nodes in order.</summary>
    private static string AdfText(System.Text.Json.Nodes.JsonNode? node) => node switch
    {
        System.Text.Json.Nodes.JsonObject o when o["type"]?.GetValue<string>() == "text" => o["text"]!.GetValue<string>(),
        System.Text.Json.Nodes.JsonObject o => string.Concat((o["content"]?.AsArray() ?? []).Select(AdfText)),
        _ => "",
    };

    [Fact]
    public async Task TryIt_JiraConfigured_LoadFromJiraPostPublicAndInternal_JirasProblemShownOnFailure()
    {
        await using var jira = await FakeJira.StartAsync();
        jira.AddIssue("SD-1", "La impresora no imprime", "La impresora del piso 3 muestra error de papel atascado", comments: 3);
        await using var server = await TestServer.StartAsync(null, ["Engine=rules", .. jira.CloudSettings()]);
        await using var opened = await OpenAsync(server, "try");
        var page = opened.Page;
        await WaitLoadedAsync(page, "try");

        await page.GetByRole(AriaRole.Textbox, new() { Name = "Jira issue key", Exact = true }).FillAsync("SD-1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Load from Jira", Exact = true }).ClickAsync();
        var cards = page.Locator(".card");
        await Expect(cards.First).ToBeVisibleAsync();
        await Expect(page.Locator("#try-meta")).ToContainTextAsync("for SD-1 (read from Jira)");
        Assert.Contains(jira.Paths, p => p.StartsWith("/rest/api/3/issue/SD-1?", StringComparison.Ordinal));
        Assert.True(await cards.CountAsync() >= 3);

        // An internal note: Jira receives the card's text as ADF with sd.public.comment internal; posting as is counts as accepted.
        await cards.Nth(0).GetByRole(AriaRole.Button, new() { Name = "Post to Jira as internal note" }).ClickAsync();
        await Expect(cards.Nth(0)).ToHaveAttributeAsync("data-posted", "internal");
        await Expect(cards.Nth(0).Locator(".outcome")).ToContainTextAsync("Posted to SD-1 as an internal note");
        await Expect(cards.Nth(0)).ToHaveAttributeAsync("data-feedback", "accepted");
        var first = Assert.Single(jira.Posted);
        Assert.Equal(("SD-1", true), (first.Key, first.Properties![0]!["value"]!["internal"]!.GetValue<bool>()));
        Assert.Equal(await cards.Nth(0).Locator(".text").TextContentAsync(), AdfText(first.Body));

        // A public reply.
        await cards.Nth(1).GetByRole(AriaRole.Button, new() { Name = "Post to Jira as public reply" }).ClickAsync();
        await Expect(cards.Nth(1)).ToHaveAttributeAsync("data-posted", "public");
        await Expect(cards.Nth(1).Locator(".outcome")).ToContainTextAsync("as a public reply");
        Assert.False(jira.Posted.Last().Properties![0]!["value"]!["internal"]!.GetValue<bool>());
        Assert.Equal(await cards.Nth(1).Locator(".text").TextContentAsync(), AdfText(jira.Posted.Last().Body));

        // Jira failing: its problem details on the card, nothing marked posted, the buttons usable again.
        jira.Fault = JiraFault.ServerError;
        await cards.Nth(2).GetByRole(AriaRole.Button, new() { Name = "Post to Jira as public reply" }).ClickAsync();
        var outcome = cards.Nth(2).Locator(".outcome");
        await Expect(outcome).ToContainTextAsync("Jira answered with an error");
        await Expect(outcome).ToContainTextAsync("Internal server error: the database is being upgraded.");
        await Expect(outcome).ToContainTextAsync("(Jira status 500)");
        await Expect(cards.Nth(2)).Not.ToHaveAttributeAsync("data-posted", new System.Text.RegularExpressions.Regex("."));
        await Expect(cards.Nth(2).GetByRole(AriaRole.Button, new() { Name = "Post to Jira as public reply" })).ToBeEnabledAsync();
        Assert.Equal(2, jira.Posted.Count); // the fake failed the third before taking it
        await ScreenshotAsync(page, "try-it-jira");

        // Loading an unknown ticket says what Jira said.
        jira.Fault = JiraFault.None;
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Jira issue key", Exact = true }).FillAsync("SD-404");
        await page.GetByRole(AriaRole.Button, new() { Name = "Load from Jira", Exact = true }).ClickAsync();
        await Expect(page.Locator("#status")).ToContainTextAsync("Issue does not exist or you do not have permission to see it.");
        await Expect(page.Locator("#status")).ToContainTextAsync("(Jira status 404)");
        Assert.Empty(opened.Errors);
    }

    [Fact]
    public async Task TryIt_JiraNotConfigured_NoLoadFromJiraAndNoPostButtons()
    {
        await using var server = await TestServer.StartAsync(null, "Engine=rules");
        await using var opened = await OpenAsync(server, "try");
        var page = opened.Page;
        await WaitLoadedAsync(page, "try");

        await page.GetByRole(AriaRole.Textbox, new() { Name = "Ticket key", Exact = true }).FillAsync("WEB-1");
        await page.GetByRole(AriaRole.Textbox, new() { Name = "Summary", Exact = true }).FillAsync("Error 404 en página principal");
        await page.GetByRole(AriaRole.Button, new() { Name = "Suggest", Exact = true }).ClickAsync();
        await Expect(page.Locator(".card").First).ToBeVisibleAsync();

        await Expect(page.Locator("#jira-form")).ToBeHiddenAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Load from Jira" })).ToHaveCountAsync(0);
        await Expect(page.Locator(".card .post")).ToHaveCountAsync(0);
        Assert.False((await server.GetJsonAsync("/api/ml/comments/health"))["jira"]!["configured"]!.GetValue<bool>());
        Assert.Empty(opened.Errors);
        Assert.Empty(opened.ConsoleErrors);
    }

    [Fact]
    public async Task Dataset_KeysConfigured_AsksForKeyListsNewestFirstSearchesDeletesAndExportsWithAdminKey()
    {
        var samples = Enumerable.Range(1, 25).Select(i => Some.Sample(Some.Context(key: $"DS-{i}", summary: $"Dataset ticket {i}"), at: Day.AddMinutes(i)))
            .Concat(Enumerable.Range(1, 2).Select(i => Some.Sample(Some.Context(key: $"OPS-{i}", summary: $"Ops ticket {i}"), at: Day.AddDays(-i))))
            .ToList();
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync(samples, null, CancellationToken.None);
        var newest = samples[24];
        await store.WriteFeedbackAsync(new SuggestionFeedback
        {
            ContextHash = newest.ContextHash, Position = 1, Agent = "ana", Action = FeedbackActions.Edited, FinalText = "Restarted the print spooler.",
            TicketKey = newest.Context.TicketKey, Engine = newest.Engine, Model = newest.Model, SuggestionType = newest.Suggestions[1].Type, CreatedAt = Day.AddDays(2),
        }, CancellationToken.None);
        await using var server = await TestServer.StartAsync(dataDir, AccessTests.KeySettings);

        await using var opened = await OpenAsync(server, "dataset");
        var page = opened.Page;
        await WaitLoadedAsync(page, "dataset");
        // No key: the page asks for one.
        await Expect(page.Locator("#key-form")).ToBeVisibleAsync();
        await Expect(page.Locator("#status")).ToContainTextAsync("API key is needed");

        // An agent key may not read samples: the page says an admin key is needed.
        await page.GetByLabel("API key").FillAsync(AccessTests.AgentKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use key" }).ClickAsync();
        await Expect(page.Locator("#status")).ToContainTextAsync("needs an admin key");
        Assert.Equal(AccessTests.AgentKey, await page.EvaluateAsync<string>("sessionStorage.getItem('commentflow.apiKey')"));

        await page.ClickAsync("#key-button");
        await page.GetByLabel("API key").FillAsync(AccessTests.AdminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use key" }).ClickAsync();
        await Expect(page.Locator("#page-info")).ToContainTextAsync("27 samples");
        var newestFirst = samples.OrderByDescending(s => s.CreatedAt).Select(s => s.ContextHash).ToList();
        var rows = page.Locator("article.sample");
        await Expect(rows).ToHaveCountAsync(20);
        Assert.Equal(newestFirst.Take(20), await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.hash)"));
        await Expect(rows.First.Locator("ol li")).ToHaveCountAsync(3);
        await Expect(rows.First.Locator("ol li").Nth(1).Locator(".fb-edited")).ToHaveTextAsync("edited by ana: “Restarted the print spooler.”");
        await ScreenshotAsync(page, "dataset");
        await page.ClickAsync("#page-next");
        await Expect(page.Locator("#page-info")).ToContainTextAsync("page 2 of 2");
        Assert.Equal(newestFirst.Skip(20), await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.hash)"));

        await page.GetByLabel("Ticket key or context hash").FillAsync("ops");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Expect(page.Locator("#page-info")).ToContainTextAsync("2 samples matching “ops”");
        Assert.Equal(["OPS-1", "OPS-2"], await rows.Locator("header strong").AllTextContentsAsync());

        await page.FillAsync("#delete-key", "OPS-1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete its samples and feedback" }).ClickAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync("Erased OPS-1: 1 samples, 0 feedback rows, 0 snapshots.");
        await Expect(page.Locator("#page-info")).ToContainTextAsync("1 samples matching “ops”");
        Assert.Null(await (await Stores.OpenAsync(dataDir)).FindSampleAsync(samples[25].ContextHash, CancellationToken.None));

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Suggestions (CSV)" }).ClickAsync());
        Assert.Equal("samples.csv", download.SuggestedFilename);
        var csv = await File.ReadAllTextAsync(await download.PathAsync());
        Assert.Contains("DS-25", csv, StringComparison.Ordinal);
        Assert.DoesNotContain("OPS-1,", csv, StringComparison.Ordinal);

        Assert.Empty(opened.Errors);
        // The refused requests (401 without a key, 403 with the agent's, both for the samples) are the only console errors.
        AssertOnlyRefusals(opened, (401, "Unauthorized", "/samples"), (403, "Forbidden", "/samples"));
    }

    [Fact]
    public async Task Models_TrainPromoteRollback_ShowsVersionsMetricsEvaluationAndConfusionHeatMap()
    {
        var dataDir = TempDir.Create();
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync(Some.TopicSamples(), null, CancellationToken.None);
        // The evaluation report as 'commentflow evaluate' leaves it.
        var modelsDir = Path.Combine(dataDir, "ml_models");
        var rules = new RulesEngine(RuleSet.Load(Path.Combine(AppContext.BaseDirectory, "rules.json")));
        var report = await StoreEvaluation.RunAsync(store, new CleaningOptions(), new TrainingOptions { MinSamples = 50 }, rules, modelsDir, CancellationToken.None);
        await AtomicFile.WriteAsync(Path.Combine(modelsDir, StoreEvaluationFiles.Json), async s =>
        {
            await JsonSerializer.SerializeAsync(s, report, CliJson.Options);
            return true;
        });
        await using var server = await TestServer.StartAsync(dataDir, "Training:MinSamples=50");

        await using var opened = await OpenAsync(server, "models");
        var page = opened.Page;
        await WaitLoadedAsync(page, "models");
        await Expect(page.Locator("#versions")).ToHaveTextAsync("No model trained yet.");

        // The confusion matrix as a heat map: the report's counts, the diagonal darkest where the classifier is right.
        var types = report.Types!;
        var cells = page.Locator("#confusion-table tbody td");
        await Expect(cells).ToHaveCountAsync(types.Labels.Count * types.Labels.Count);
        Assert.Equal(types.Confusion.SelectMany(r => r).Select(n => n.ToString(CultureInfo.InvariantCulture)), await cells.AllTextContentsAsync());
        Assert.Equal(types.Labels, await page.Locator("#confusion-table tbody th").AllTextContentsAsync());
        await Expect(page.Locator("#evaluation")).ToContainTextAsync($"{types.MacroF1:0.000}");

        await page.GetByLabel("Promote when trained").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Train a new version" }).ClickAsync();
        var versions = page.Locator("#versions-table tbody tr");
        await Expect(versions).ToHaveCountAsync(1, new() { Timeout = 120_000 });
        var models = await server.GetJsonAsync("/api/ml/comments/models");
        var first = models["versions"]![0]!;
        var version = first["version"]!.GetValue<string>();
        await Expect(versions.First.Locator("td").Nth(4)).ToHaveTextAsync($"{first["type_macro_f1"]!.GetValue<double>():0.000}");
        await Expect(versions.First.Locator("td").Nth(3)).ToHaveTextAsync($"{first["cross_validated_rouge_l"]!.GetValue<double>():0.000}");
        await Expect(page.Locator("#versions-table caption")).ToContainTextAsync($"Active: {version}");

        // Nothing to roll back to yet: the page says so.
        await page.GetByRole(AriaRole.Button, new() { Name = "Roll back" }).ClickAsync();
        await Expect(page.Locator("#status")).ToContainTextAsync("Nothing to roll back to");

        // A second version, not promoted; promote it from its row, then roll back to the first.
        await page.GetByLabel("Promote when trained").UncheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Train a new version" }).ClickAsync();
        await Expect(versions).ToHaveCountAsync(2, new() { Timeout = 120_000 });
        var second = (await server.GetJsonAsync("/api/ml/comments/models"))["versions"]!.AsArray().Select(v => v!["version"]!.GetValue<string>()).Single(v => v != version);
        await Expect(page.Locator("#versions-table caption")).ToContainTextAsync($"Active: {version}");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Promote {second}" }).ClickAsync();
        await Expect(page.Locator("#versions-table caption")).ToContainTextAsync($"Active: {second}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Roll back" }).ClickAsync();
        await Expect(page.Locator("#versions-table caption")).ToContainTextAsync($"Active: {version}");
        Assert.Equal(version, (await server.GetJsonAsync("/api/ml/comments/models"))["active"]!.GetValue<string>());

        await Expect(page.Locator("#shadow-total")).ToContainTextAsync("No shadow comparisons since start");
        await ScreenshotAsync(page, "models");
        Assert.Empty(opened.Errors);
        // The refused rollback (409, nothing to roll back to) is the only console error.
        AssertOnlyRefusals(opened, (409, "Conflict", "/models/rollback"));
    }
}
