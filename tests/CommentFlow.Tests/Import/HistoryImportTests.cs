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
    public void ReadJira_AgentCommentsAnswerThePrecedingContext_ReporterIsContext_StatusOfTheTime()
    {
        var path = Path.Combine(TempDir.Create(), "jira.json.gz");
        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest))
        using (var writer = new StreamWriter(gzip))
        {
            // Data Center's users (name), a plain-text body and an ADF one, visibility as jsdPublic and as the property.
            writer.Write("""
                {"issues":[
                  {"key":"WEB-7","fields":{"summary":"Login fails","issuetype":{"name":"Bug"},"status":{"name":"Resolved"},"priority":{"name":"High"},
                    "reporter":{"name":"carla","displayName":"Carla"},
                    "description":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"SSO returns 500"}]}]},
                    "comment":{"comments":[
                      {"author":{"name":"ana"},"body":"Which browser do you use?","created":"2026-01-05T10:00:00.000+0100","jsdPublic":true},
                      {"author":{"name":"carla"},"body":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Chrome 120"}]}]},"created":"2026-01-05T11:00:00.000+0100"},
                      {"body":"A comment whose author was deleted.","created":"2026-01-05T11:30:00.000+0100"},
                      {"author":{"name":"ana"},"body":"Fixed the SSO certificate; please retry.","created":"2026-01-05T12:00:00.000+0100",
                       "properties":[{"key":"sd.public.comment","value":{"internal":true}}]}]}},
                    "changelog":{"histories":[
                      {"created":"2026-01-05T11:45:00.000+0100","items":[{"field":"status","fromString":"In Progress","toString":"Waiting for customer"}]},
                      {"created":"2026-01-05T09:00:00.000+0100","items":[{"field":"assignee","fromString":null,"toString":"ana"},{"field":"status","fromString":"Open","toString":"In Progress"}]},
                      {"created":"2026-01-05T13:00:00.000+0100","items":[{"field":"status","fromString":"Waiting for customer","toString":"Resolved"}]}]}},
                  {"key":"WEB-8","fields":{"summary":"No comments yet","comment":{"comments":[]}}},
                  {"key":"WEB-9","fields":{"summary":"Only the reporter","reporter":{"name":"carla"},"comment":{"comments":[{"author":{"name":"carla"},"body":"Hello?"}]}}}
                ]}
                """);
        }

        var items = HistoryImport.ReadJira(path, Now).ToList();
        var samples = items.Where(i => i.Sample is not null).Select(i => i.Sample!).ToList();

        Assert.Equal(2, samples.Count);
        Assert.All(samples, s => Assert.Equal(("WEB-7", "Login fails", "SSO returns 500", "Bug", "High", "history"),
            (s.Context.TicketKey, s.Context.Summary, s.Context.Description, s.Context.IssueType, s.Context.Priority, s.Engine)));
        Assert.Empty(samples[0].Context.Comments);
        Assert.Equal(("Which browser do you use?", "In Progress", "agent-public"), (samples[0].Suggestions[0].Text, samples[0].Context.Status, samples[0].Model));
        Assert.Equal(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero), samples[0].CreatedAt);
        // The reporter's reply and the unknown author's comment are context; the status is the one of 12:00, not today's.
        Assert.Equal(["Which browser do you use?", "Chrome 120", "A comment whose author was deleted."], samples[1].Context.Comments);
        Assert.Equal(("Fixed the SSO certificate; please retry.", "Waiting for customer", "agent-internal"), (samples[1].Suggestions[0].Text, samples[1].Context.Status, samples[1].Model));
        var problems = items.Where(i => i.Problem is not null).Select(i => i.Problem!).ToList();
        Assert.Equal([2, 3], problems.Select(p => p.Line));
        Assert.Contains("WEB-8: no comments", problems[0].Reason, StringComparison.Ordinal);
        Assert.Contains("WEB-9: no agent comments", problems[1].Reason, StringComparison.Ordinal);
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
