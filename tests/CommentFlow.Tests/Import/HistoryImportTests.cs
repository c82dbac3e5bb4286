using System.IO.Compression;
using CommentFlow.Cli;
using CommentFlow.Domain;
using CommentFlow.Import;
using CommentFlow.Tests.Legacy;

namespace CommentFlow.Tests.Import;

[Collection(CliCollection.Name)]
public sealed class HistoryImportTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ReadCsv_GoodAndBadRows_SamplesAndProblemsWithLineNumbers()
    {
        var path = Path.Combine(TempDir.Create(), "t.csv");
        File.WriteAllText(path,
            "subject,body,answer,type,queue,priority,language\n" +
            "VPN caída,\"No conecta\ndesde casa\",Reinicie el cliente VPN.,Incident,IT Support,high,es\n" +
            "No answer here,Body,,Request,Billing,low,en\n" +
            ",,Some answer,Request,Billing,low,en\n" +
            "Too,few,fields\n" +
            "Printer,Jammed,Cleared the tray.,Request,Hardware,medium,en\n");

        var items = HistoryImport.ReadCsv(path, new ImportOptions(), Now).ToList();

        var samples = items.Where(i => i.Sample is not null).Select(i => i.Sample!).ToList();
        Assert.Equal(2, samples.Count);
        var vpn = samples[0];
        Assert.Equal(ContextHash.Compute("VPN caída", "No conecta\ndesde casa", []), vpn.ContextHash);
        Assert.Equal(("Incident", "high", "es", "IT Support", "Open"), (vpn.Context.IssueType, vpn.Context.Priority, vpn.Context.Language, vpn.Context.Queue, vpn.Context.Status));
        Assert.Equal("Reinicie el cliente VPN.", Assert.Single(vpn.Suggestions).Text);
        Assert.Equal(("history", "history"), (vpn.Model, vpn.Engine));

        var problems = items.Where(i => i.Problem is not null).Select(i => i.Problem!).ToList();
        Assert.Equal([4, 5, 6], problems.Select(p => p.Line));
        Assert.Equal("empty answer", problems[0].Reason);
        Assert.Equal("neither summary nor description", problems[1].Reason);
        Assert.Contains("3 fields", problems[2].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadCsv_MappedColumns_FollowTheOptions()
    {
        var path = Path.Combine(TempDir.Create(), "t.csv");
        File.WriteAllText(path, "key,title,text,reply,state\nSD-9,Slow app,It takes 30 s,Cleared the cache.,Closed\n");
        var options = new ImportOptions
        {
            Columns = new ImportColumns { TicketKey = "key", Summary = "title", Description = "text", Answer = "reply", Status = "state", IssueType = "", Priority = "", Queue = "", Language = "" },
        };
        var sample = Assert.Single(HistoryImport.ReadCsv(path, options, Now)).Sample!;
        Assert.Equal(("SD-9", "Slow app", "Closed", "Unknown"), (sample.Context.TicketKey, sample.Context.Summary, sample.Context.Status, sample.Context.IssueType));
    }

    [Fact]
    public void ReadJira_CommentsBecomeSuggestionsForThePrecedingContext()
    {
        var path = Path.Combine(TempDir.Create(), "jira.json.gz");
        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest))
        using (var writer = new StreamWriter(gzip))
        {
            writer.Write("""
                {"issues":[
                  {"key":"WEB-7","fields":{"summary":"Login fails","issuetype":{"name":"Bug"},"status":{"name":"Resolved"},"priority":{"name":"High"},
                    "description":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"SSO returns 500"}]}]},
                    "comment":{"comments":[
                      {"body":"Which browser do you use?","created":"2026-01-05T10:00:00.000+0100"},
                      {"body":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Chrome 120"}]}]}},
                      {"body":"Fixed the SSO certificate; please retry."}]}}},
                  {"key":"WEB-8","fields":{"summary":"No comments yet","comment":{"comments":[]}}}
                ]}
                """);
        }

        var items = HistoryImport.ReadJira(path, Now).ToList();
        var samples = items.Where(i => i.Sample is not null).Select(i => i.Sample!).ToList();

        Assert.Equal(3, samples.Count);
        Assert.All(samples, s => Assert.Equal(("WEB-7", "Login fails", "SSO returns 500", "Bug", "Resolved", "High"),
            (s.Context.TicketKey, s.Context.Summary, s.Context.Description, s.Context.IssueType, s.Context.Status, s.Context.Priority)));
        Assert.Empty(samples[0].Context.Comments);
        Assert.Equal("Which browser do you use?", samples[0].Suggestions[0].Text);
        Assert.Equal(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero), samples[0].CreatedAt);
        Assert.Equal(["Which browser do you use?"], samples[1].Context.Comments);
        Assert.Equal("Chrome 120", samples[1].Suggestions[0].Text);
        Assert.Equal(["Which browser do you use?", "Chrome 120"], samples[2].Context.Comments);
        Assert.Equal(Now, samples[2].CreatedAt);
        Assert.Equal(3, samples.Select(s => s.ContextHash).Distinct().Count());
        Assert.Contains("WEB-8", Assert.Single(items, i => i.Problem is not null).Problem!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImportTickets_SharedCsvTwice_AllRowsOnceThenOnlyDuplicates()
    {
        var dataDir = TempDir.Create();
        var csv = Path.Combine(Paths.Shared, "data", "tickets-multilang.csv");
        Assert.Equal(0, await CommentFlow.Cli.CommandLine.Build().Parse(["import-tickets", csv, $"--CommentFlow:DataDir={dataDir}", "--CommentFlow:Import:BatchSize=200"]).InvokeAsync());
        Assert.Equal(0, await CommentFlow.Cli.CommandLine.Build().Parse(["import-tickets", csv, $"--CommentFlow:DataDir={dataDir}"]).InvokeAsync());

        var stored = await Stores.ReadAllAsync(dataDir);
        Assert.Equal(933, stored.Count);
        Assert.Equal(["de", "en", "es", "fr", "pt"], stored.Select(s => s.Context.Language!).Distinct().Order());
        Assert.All(stored, s => Assert.False(string.IsNullOrEmpty(s.Context.Queue)));
    }

    [Fact]
    public async Task ImportTickets_NotAJiraExport_RefusedWithMessage()
    {
        var path = Path.Combine(TempDir.Create(), "x.json");
        await File.WriteAllTextAsync(path, "{\"tickets\": []}");
        Assert.Equal(1, await CommentFlow.Cli.CommandLine.Build().Parse(["import-tickets", path, $"--CommentFlow:DataDir={TempDir.Create()}"]).InvokeAsync());
    }
}
