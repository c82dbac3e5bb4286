using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using CommentFlow.Tests.Fakes;

namespace CommentFlow.Tests.Engines;

// Linux only: a shell-script stand-in for the binary and /proc to check the child is gone.
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class OllamaAutoStartTests
{
    [Fact]
    public async Task AutoStart_OllamaOnPathAndNothingListening_StartsServeOnConfiguredHostAndStopsIt()
    {
        // Records how it was started, then stays up like `ollama serve`.
        var (environment, marker) = await StandInOllamaAsync("echo \"$1 $OLLAMA_HOST $$\" > \"$MARKER\"\nexec sleep 60");
        using var reserved = ReservedPort();
        var port = ((IPEndPoint)reserved.LocalEndPoint!).Port;
        using var server = await ServerProcess.StartAsync(TempDir.Create(), environment, $"Ollama:Url=http://127.0.0.1:{port}", "Ollama:AutoStart=true");

        // The script writes its line in one go; a line without its newline is still being written.
        var line = await WaitForAsync(async () => File.Exists(marker) && await File.ReadAllTextAsync(marker) is { } text && text.EndsWith('\n') ? text : null,
            "ollama serve was not started");
        var parts = line.Trim().Split(' ');
        Assert.Equal("serve", parts[0]);
        Assert.Equal($"127.0.0.1:{port}", parts[1]);

        // The service still answers (from rules) while the started Ollama is not up.
        var answer = await server.Client.PostAsync("/api/ml/comments/suggestions",
            new StringContent("""{"summary":"Sistema lento"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);

        await server.TerminateAsync(TimeSpan.FromSeconds(30));
        // The service kills it on stop; the kernel may take a moment to finish it. Left running, it would sleep for 60 s.
        var pid = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
        await WaitForAsync(() => Task.FromResult(IsGone(pid) ? "gone" : null), "the ollama process it started outlived the service");
    }

    [Fact]
    public async Task AutoStart_Off_NeverStartsOllama()
    {
        var (environment, marker) = await StandInOllamaAsync("echo started > \"$MARKER\"");
        using var reserved = ReservedPort();
        using var server = await ServerProcess.StartAsync(TempDir.Create(), environment, $"Ollama:Url=http://127.0.0.1:{((IPEndPoint)reserved.LocalEndPoint!).Port}",
            "Ollama:StatusIntervalSeconds=1");

        // The monitor decides on starting Ollama right after its first probe finds it down. A second probe (a newer
        // checked_at) means that decision has been taken, so the marker's absence is the answer, not a race.
        var first = await WaitForAsync(async () => await OllamaStateAsync(server) is ("down", { } at) ? at : null, "Ollama was never probed");
        await WaitForAsync(async () => await OllamaStateAsync(server) is ("down", { } at) && at != first ? at : null, "Ollama was probed only once");

        Assert.False(File.Exists(marker), "ollama was started although Ollama:AutoStart is off");
        Assert.DoesNotContain(server.Output, l => l.Contains(" serve for ", StringComparison.Ordinal));
    }

    /// <summary>Ollama's state and when it was last checked, as the service health reports them.</summary>
    private static async Task<(string State, string? CheckedAt)> OllamaStateAsync(ServerProcess server)
    {
        var ollama = (await server.Client.GetFromJsonAsync<JsonObject>("/api/ml/comments/health"))!["ollama"]!;
        return (ollama["state"]!.GetValue<string>(), ollama["checked_at"]?.GetValue<string>());
    }

    /// <summary>Polls until <paramref name="probe"/> gives a value, for at most 15 s.</summary>
    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, string failure) where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(50);
        }
    }

    /// <summary>No such process, or only a zombie waiting for its parent to read its exit status.</summary>
    private static bool IsGone(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return true;
        }
    }

    /// <summary>An <c>ollama</c> shell script first on the PATH; <c>$MARKER</c> is the file it may write.</summary>
    private static async Task<(Dictionary<string, string> Environment, string Marker)> StandInOllamaAsync(string body)
    {
        var bin = TempDir.Create();
        var marker = Path.Combine(bin, "started.txt");
        var script = Path.Combine(bin, "ollama");
        await File.WriteAllTextAsync(script, $"#!/bin/sh\nMARKER='{marker}'\n{body}\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return (new Dictionary<string, string> { ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}" }, marker);
    }

    /// <summary>
    /// A loopback port bound and never listened on, held for the test: nothing can take it in the meantime (a port freed
    /// again could be handed to another test's server), and a connection to it is refused, as when Ollama is not running.
    /// </summary>
    private static Socket ReservedPort()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }
}
