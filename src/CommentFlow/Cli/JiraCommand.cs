using System.CommandLine;
using System.Text.Json;
using CommentFlow.Jira;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CommentFlow.Cli;

/// <summary><c>jira check</c>: who the service is connected to Jira as, or exactly what failed. Exit 0 connected, 1 Jira refused or failed, 2 not configured or invalid options.</summary>
internal static class JiraCommand
{
    public static Command Create()
    {
        var command = new Command("jira", "The connection to Jira (CommentFlow:Jira:*).");
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var check = new Command("check", "Call Jira's /myself with the configured credentials and say who the service is connected as.") { json };
        check.TreatUnmatchedTokensAsErrors = false;
        check.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            using var host = CliHost.Build(parse.UnmatchedTokens);
            JiraOptions options;
            try
            {
                options = host.Services.GetRequiredService<IOptions<JiraOptions>>().Value;
            }
            catch (OptionsValidationException ex)
            {
                await error.WriteLineAsync($"Jira options are invalid: {ex.Message}");
                return 2;
            }
            if (!options.IsConfigured)
            {
                await error.WriteLineAsync($"Jira is not configured: set {JiraOptions.Section}:BaseUrl (CommentFlow__Jira__BaseUrl) and its credentials.");
                return 2;
            }

            var auth = options.UsesPersonalAccessToken ? "personal access token (Bearer)" : "e-mail and API token (Basic)";
            try
            {
                var me = await host.Services.GetRequiredService<JiraClient>().GetMyselfAsync(ct);
                if (parse.GetValue(json))
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(new
                    {
                        Success = true, options.BaseUrl, options.ApiVersion, me.DisplayName, me.AccountId, me.Name, me.EmailAddress,
                    }, CliJson.Options));
                    return 0;
                }
                var id = me.AccountId is { } accountId ? $"accountId {accountId}" : $"name {me.Name}";
                await output.WriteLineAsync($"Connected to {options.BaseUrl} (REST API v{options.ApiVersion}, {auth}) as {me.DisplayName} ({id}).");
                return 0;
            }
            catch (JiraException ex)
            {
                if (parse.GetValue(json))
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(new
                    {
                        Success = false, options.BaseUrl, options.ApiVersion, JiraStatus = ex.Status, JiraMessages = ex.JiraMessages, Error = ex.Message,
                    }, CliJson.Options));
                }
                await error.WriteLineAsync($"Jira check failed at {options.BaseUrl} (REST API v{options.ApiVersion}, {auth}): {ex.Message}");
                return 1;
            }
        });
        command.Subcommands.Add(check);
        return command;
    }
}
