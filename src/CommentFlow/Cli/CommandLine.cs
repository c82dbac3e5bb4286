using System.CommandLine;
using CommentFlow.Api;
using Microsoft.Extensions.Hosting;

namespace CommentFlow.Cli;

/// <summary>
/// <c>commentflow</c>: the server and the tools in one executable. Tokens a command does not know
/// (<c>--urls …</c>, <c>--CommentFlow:DataDir=…</c>) go to the standard .NET configuration.
/// </summary>
internal static class CommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("CommentFlow: suggests the next comment on a service-desk ticket and learns from every answer.");

        var serve = Configurable(new Command("serve", $"Run the HTTP server (default {ServerApp.DefaultUrl}; --urls to change)."));
        serve.SetAction((parse, ct) => ((IHost)ServerApp.Build([.. parse.UnmatchedTokens])).RunAsync(ct));
        root.Subcommands.Add(serve);

        root.Subcommands.Add(Configurable(StatsCommand.Create()));
        root.Subcommands.Add(Configurable(ExportCommand.Create()));
        root.Subcommands.Add(Configurable(SuggestCommand.Create()));
        root.Subcommands.Add(Configurable(ImportLegacyCommand.Create()));
        root.Subcommands.Add(Configurable(ImportTicketsCommand.Create()));
        root.Subcommands.Add(Configurable(ImportJiraCommand.Create()));
        root.Subcommands.Add(Configurable(ForgetCommand.Create()));
        root.Subcommands.Add(Configurable(ArchiveCommand.Create()));
        root.Subcommands.Add(Configurable(MigrateCommand.Create()));
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(Configurable(ModelCommands.Train()));
        root.Subcommands.Add(ModelCommands.Models());
        root.Subcommands.Add(DatasetCommand.Create());
        root.Subcommands.Add(KeysCommand.Create());
        root.Subcommands.Add(JiraCommand.Create());
        root.Subcommands.Add(QuarantineCommand.Create());
        return root;
    }

    private static Command Configurable(Command command)
    {
        command.TreatUnmatchedTokensAsErrors = false;
        return command;
    }
}
