using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace CommentFlow.Tests.Fakes;

/// <summary>The real <c>commentflow serve</c> in its own process, for crash and signal tests.</summary>
public sealed partial class ServerProcess : IDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, string url)
    {
        _process = process;
        Client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Client { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    public static Task<ServerProcess> StartAsync(string dataDir, params string[] settings) =>
        StartAsync(dataDir, new Dictionary<string, string>(), settings);

    public static async Task<ServerProcess> StartAsync(string dataDir, IReadOnlyDictionary<string, string> environment, params string[] settings)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        foreach (var arg in (string[])["exec", Path.Combine(AppContext.BaseDirectory, "commentflow.dll"), "serve", "--urls=http://127.0.0.1:0",
                     $"--CommentFlow:DataDir={dataDir}", .. (settings.Any(s => s.StartsWith("Ollama:Url=", StringComparison.Ordinal)) ? Array.Empty<string>() : ["--CommentFlow:Ollama:Url=http://127.0.0.1:9"]),
                     .. settings.Select(s => $"--CommentFlow:{s}")])
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info)!;
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            output.Enqueue(e.Data);
            // Plain or JSON logs alike: the address follows the marker.
            if (ListeningOn().Match(e.Data) is { Success: true } match)
            {
                url.TrySetResult(match.Groups[1].Value);
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var started = await Task.WhenAny(url.Task, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(started == url.Task, "the server did not start within 30 s");
        return new ServerProcess(process, await url.Task) { Output = output };
    }

    /// <summary>Every line the server wrote to standard output so far (its console log).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Output { get; private init; } = new();

    [System.Text.RegularExpressions.GeneratedRegex(@"Now listening on: (http://[^\s""]+)")]
    private static partial System.Text.RegularExpressions.Regex ListeningOn();

    public async Task<JsonObject> StatsAsync() => (await Client.GetFromJsonAsync<JsonObject>("/api/ml/comments/ml-stats"))!;

    /// <summary>SIGKILL: no shutdown code runs. Returns once the process is gone (Kill alone only sends the signal).</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>SIGTERM, as a service manager stops the process; returns once it has exited.</summary>
    public async Task<TimeSpan> TerminateAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return clock.Elapsed;
    }

    public int ExitCode => _process.ExitCode;

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        _process.Dispose();
        Client.Dispose();
    }
}
