using System.CommandLine;
using System.Text.Json;
using CommentFlow.Import;
using CommentFlow.Jira;
using Microsoft.Extensions.Options;

namespace CommentFlow.Cli;

/// <summary>
/// <c>import-jira --jql …</c>: history straight from Jira (<see cref="JiraImport"/>). Exit 0 done; 1 Jira failed (what was
/// imported before stays, and a rerun goes on from the last finished page); 2 bad input, Jira not configured or its
/// options invalid (nothing read, nothing stored).
/// </summary>
internal static class ImportJiraCommand
{
    public static Command Create()
    {
        var jql = new Option<string>("--jql") { Description = "The issues to import, e.g. \"project = SD AND created >= -365d\"." };
        var pageSize = new Option<int>("--page-size") { Description = $"Issues per search page (1–{JiraImport.MaxPageSize}).", DefaultValueFactory = _ => JiraImport.DefaultPageSize };
        var restart = new Option<bool>("--restart") { Description = "Ignore the position saved by an interrupted run of this query; read from the first page (what is stored is skipped as duplicates)." };
        var json = new Option<bool>("--json") { Description = "No progress bar; print the result as JSON." };
        var command = new Command("import-jira",
            "Import ticket history from Jira: every agent comment becomes a sample answering the ticket as it was then (earlier comments, status at that time).")
        {
            jql, pageSize, restart, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var query = parse.GetValue(jql)?.Trim();
            if (string.IsNullOrEmpty(query))
            {
                await error.WriteLineAsync("--jql is required: the issues to import, e.g. --jql \"project = SD AND created >= -365d\".");
                return 2;
            }
            var size = parse.GetValue(pageSize);
            if (size is < 1 or > JiraImport.MaxPageSize)
            {
                await error.WriteLineAsync($"--page-size must be 1 to {JiraImport.MaxPageSize} (Jira's largest search page with fields).");
                return 2;
            }

            using var host = CliHost.Build(parse.UnmatchedTokens);
            JiraOptions jiraOptions;
            ImportOptions importOptions;
            try
            {
                jiraOptions = host.Services.GetRequiredService<IOptions<JiraOptions>>().Value;
                importOptions = host.Services.GetRequiredService<IOptions<ImportOptions>>().Value;
            }
            catch (OptionsValidationException ex)
            {
                await error.WriteLineAsync($"Options are invalid: {ex.Message}");
                return 2;
            }
            if (!jiraOptions.IsConfigured)
            {
                await error.WriteLineAsync($"Jira is not configured: set {JiraOptions.Section}:BaseUrl (CommentFlow__Jira__BaseUrl) and its credentials.");
                return 2;
            }

            var store = host.Services.GetRequiredService<CommentFlow.Storage.ITrainingStore>();
            await store.MigrateAsync(ct);
            var import = new JiraImport(host.Services.GetRequiredService<JiraClient>(), store, host.Services.GetRequiredService<TimeProvider>());
            var quiet = parse.GetValue(json);
            try
            {
                // The total is Jira's estimate (or unknown): the bar starts at one page and grows when the count is short.
                var result = await CliProgress.RunAsync(quiet, "Importing from Jira", size, async counter =>
                {
                    var done = await import.RunAsync(query, size, importOptions.BatchSize, parse.GetValue(restart),
                        total => counter.SetTotal(total), issues => counter.Set(issues, grow: size), ct);
                    counter.Complete();
                    return done;
                });
                if (quiet)
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(result, CliJson.Options));
                    return 0;
                }
                var resumed = result.Resumed ? $" (resumed after {result.ResumedAfterIssues:N0} issues)" : "";
                await output.WriteLineAsync(
                    $"Imported {result.Written:N0} samples from {result.Issues:N0} issues{resumed}: {result.AgentComments:N0} agent comments " +
                    $"({result.Public:N0} public, {result.Internal:N0} internal), {result.Duplicates:N0} already stored; " +
                    $"{result.ReporterComments:N0} reporter comments and {result.UnknownAuthorComments:N0} by unknown authors kept as context only.");
                return 0;
            }
            catch (JiraResumeRefusedException ex)
            {
                await error.WriteLineAsync(ex.Message);
                return 1;
            }
            catch (InvalidDataException ex)
            {
                await error.WriteLineAsync(ex.Message);
                return 2;
            }
            catch (JiraException ex)
            {
                var state = JiraImportState.FromJson(await store.ReadMetaAsync(JiraImport.MetaKey(query), CancellationToken.None));
                var resume = state is { Completed: false, NextPageToken: not null }
                    ? $" {state.Issues:N0} issues are imported; run the same command again to go on from there."
                    : " No page of this run was finished; a rerun starts from the first page (what is stored is skipped as a duplicate).";
                await error.WriteLineAsync($"Jira import failed: {ex.Message}{resume}");
                return 1;
            }
        });
        return command;
    }
}
