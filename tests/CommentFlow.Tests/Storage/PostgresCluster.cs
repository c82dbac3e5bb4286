using System.Diagnostics;

namespace CommentFlow.Tests.Storage;

/// <summary>
/// A PostgreSQL server of the test's own (initdb in a temporary folder), for tests that stop and start it: the shared
/// server of the run must stay up for the other tests. Uses the binaries scripts/postgres.sh found. It listens on a Unix
/// socket in its folder only: a loopback port, free while the server is stopped, could be taken by another test's
/// server in the meantime, and the restart would fail.
/// </summary>
internal sealed class PostgresCluster : IAsyncDisposable
{
    public const string BinVariable = "COMMENTFLOW_TEST_POSTGRES_BIN";

    private readonly string _bin;
    private readonly string _dir;

    private PostgresCluster(string bin, string dir) => (_bin, _dir) = (bin, dir);

    // The port only names the socket file (.s.PGSQL.5432); the folder is the test's own.
    public string ConnectionString => $"Host={Path.Combine(_dir, "socket")};Port=5432;Username=postgres;Database=postgres";

    public static async Task<PostgresCluster> StartAsync()
    {
        var bin = Environment.GetEnvironmentVariable(BinVariable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{BinVariable} is not set: run ./test.sh or scripts/postgres.sh dotnet test ...");
        var dir = Path.Combine(Path.GetTempPath(), $"commentflow-pgc-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(dir, "socket"));
        if (AsRoot)
        {
            await RunAsync("chown", "-R", "postgres", dir);
        }
        var cluster = new PostgresCluster(bin, dir);
        await cluster.RunPgAsync("initdb", "-D", Path.Combine(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync");
        await cluster.StartAgainAsync();
        return cluster;
    }

    /// <summary>Starts the server (again) on the same socket.</summary>
    public Task StartAgainAsync() => RunPgAsync("pg_ctl", "-D", Path.Combine(_dir, "data"), "-l", Path.Combine(_dir, "server.log"), "-w", "-t", "60",
        "-o", $"-c listen_addresses='' -p 5432 -k {Path.Combine(_dir, "socket")} -c fsync=off -c max_connections=100", "start");

    /// <summary>Fast shutdown: open connections are cut, as in an outage.</summary>
    public Task StopAsync() => RunPgAsync("pg_ctl", "-D", Path.Combine(_dir, "data"), "-m", "fast", "-w", "stop");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunPgAsync("pg_ctl", "-D", Path.Combine(_dir, "data"), "-m", "immediate", "-w", "stop");
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        Directory.Delete(_dir, recursive: true);
    }

    private static bool AsRoot => Environment.UserName == "root";

    private Task RunPgAsync(string tool, params string[] args) =>
        AsRoot ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. args]) : RunAsync(Path.Combine(_bin, tool), args);

    private static async Task RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await output}{await error}");
        }
    }
}
