using System.CommandLine;
using CommentFlow.Cli;

// Signals are left to the .NET host (Ctrl+C, SIGTERM → graceful stop with the capture drain) rather than to
// System.CommandLine, which would only cancel a token and give up after its own short timeout.
return await CommandLine.Build().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
