using System.Net;
using Microsoft.Extensions.Options;

namespace CommentFlow.Api.Access;

/// <summary>
/// Without keys the API is open, which is only acceptable when nothing but this machine can reach it: start-up is refused
/// when an address the server would listen on is not loopback, and a successful open start says so in the log, once.
/// </summary>
internal sealed partial class OpenAccessGuard(IConfiguration configuration) : IValidateOptions<AccessOptions>
{
    public ValidateOptionsResult Validate(string? name, AccessOptions options)
    {
        if (options.Keys.Count > 0)
        {
            return ValidateOptionsResult.Success;
        }
        var exposed = ListenAddresses().Where(a => !IsLoopback(a)).ToList();
        return exposed.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"{AccessOptions.Section}:Keys is empty, so the API is open and may only listen on loopback, but it would listen on {string.Join(", ", exposed)}. " +
                $"Create a key with 'commentflow keys new --name NAME --role admin' and add it to {AccessOptions.Section}:Keys, or listen on http://127.0.0.1:PORT.");
    }

    // ServerApp always sets urls when none is given, so HTTP_PORTS/HTTPS_PORTS (which Kestrel ignores when urls is set) never apply.
    private IEnumerable<string> ListenAddresses() =>
        (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());

    internal static bool IsLoopback(string url)
    {
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(url);
        }
        catch (FormatException)
        {
            return false; // Kestrel refuses it anyway; not calling it loopback keeps this check on the safe side.
        }
        return address.IsUnixPipe || address.IsNamedPipe
            || string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }

    /// <summary>The one warning line of an open start.</summary>
    internal sealed class Warning(ApiKeys keys, ILogger<OpenAccessGuard> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (keys.Open)
            {
                LogOpen(logger);
            }
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning,
        Message = "No keys in CommentFlow:Access:Keys: the API is open to anyone on this machine and listens on loopback only ('commentflow keys new' creates a key)")]
    private static partial void LogOpen(ILogger logger);
}
