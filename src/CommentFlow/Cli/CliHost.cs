using CommentFlow.Hosting;
using CommentFlow.Storage;
using Microsoft.Extensions.Hosting;

namespace CommentFlow.Cli;

/// <summary>The same configuration and wiring as the server, for commands that run and exit.</summary>
internal static class CliHost
{
    public static IHost Build(IEnumerable<string> configurationArgs, bool engines = false)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [.. configurationArgs],
            ContentRootPath = AppContext.BaseDirectory,
        });
        // Tools print their own output; only problems should reach the log (this outranks appsettings.json).
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
        });
        // The server's object graph (ServerApp), less what only serving needs.
        builder.AddCommentFlowCore();
        builder.AddHistoryImport();
        if (engines)
        {
            builder.AddCapture();
            builder.AddEngines();
        }
        return builder.Build();
    }

    /// <summary>A host whose store is migrated, without starting background services.</summary>
    public static async Task<(IHost Host, ITrainingStore Store)> OpenStoreAsync(IEnumerable<string> configurationArgs, CancellationToken cancellationToken)
    {
        var host = Build(configurationArgs);
        var store = host.Services.GetRequiredService<ITrainingStore>();
        await store.MigrateAsync(cancellationToken);
        return (host, store);
    }
}
