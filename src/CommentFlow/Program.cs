using CommentFlow.Cli;

return await CommandLine.Build().Parse(args).InvokeAsync();
