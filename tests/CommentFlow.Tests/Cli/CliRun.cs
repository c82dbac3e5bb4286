using System.CommandLine;

namespace CommentFlow.Tests.Cli;

/// <summary>Runs a <c>commentflow</c> command in process and returns its exit code and what it wrote (output, then error).</summary>
internal static class CliRun
{
    public static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommentFlow.Cli.CommandLine.Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output + error.ToString());
    }
}
