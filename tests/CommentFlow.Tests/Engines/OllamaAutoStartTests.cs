using System.Net;
using System.Net.Sockets;
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
        var port = FreePort();
        using var server = await ServerProcess.StartAsync(TempDir.Create(), environment, $"Ollama:Url=http://127.0.0.1:{port}", "Ollama:AutoStart=true");

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!File.Exists(marker) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.True(File.Exists(marker), "ollama serve was not started");
        await Task.Delay(100);
        var parts = (await File.ReadAllTextAsync(marker)).Trim().Split(' ');
        Assert.Equal("serve", parts[0]);
        Assert.Equal($"127.0.0.1:{port}", parts[1]);

        // The service still answers (from rules) while the started Ollama is not up.
        var answer = await server.Client.PostAsync("/api/ml/comments/suggestions",
            new StringContent("""{"summary":"Sistema lento"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);

        await server.TerminateAsync(TimeSpan.FromSeconds(30));
        var pid = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal),
            "the ollama process it started outlived the service");
    }

    [Fact]
    public async Task AutoStart_Off_NeverStartsOllama()
    {
        var (environment, marker) = await StandInOllamaAsync("echo started > \"$MARKER\"");
        using var server = await ServerProcess.StartAsync(TempDir.Create(), environment, $"Ollama:Url=http://127.0.0.1:{FreePort()}");
        var health = await server.Client.GetStringAsync("/api/ml/comments/health");
        await Task.Delay(1500);
        Assert.Contains("\"state\"", health, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
