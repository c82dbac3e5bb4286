using System.Diagnostics;

namespace CommentFlow.Bench;

/// <summary>Where the bench finds the repository, the shared baselines and the built service, and keeps its scratch files.</summary>
internal sealed class BenchEnvironment
{
    private readonly Dictionary<int, string> _stores = [];

    public BenchEnvironment(string repo, bool quick)
    {
        Repo = repo;
        Quick = quick;
        ScratchDir = Path.Combine(Path.GetTempPath(), "commentflow-bench", Guid.NewGuid().ToString("N")[..8]);
        CacheDir = Path.Combine(Path.GetTempPath(), "commentflow-bench", "cache");
        Directory.CreateDirectory(ScratchDir);
        Directory.CreateDirectory(CacheDir);
    }

    public string Repo { get; }
    public bool Quick { get; }
    public string ScratchDir { get; }

    /// <summary>Generated workloads, kept between runs (the same requests every time).</summary>
    public string CacheDir { get; }
    public string Shared => Path.GetFullPath(Path.Combine(Repo, "..", "shared"));
    public string SharedData => Path.Combine(Shared, "data");
    public string SeedBaseline => Path.Combine(Shared, "bench", "seed_baseline.py");

    /// <summary>The service as built next to the bench (the bench project references it, so it is always current).</summary>
    public string ServiceDll => Path.Combine(AppContext.BaseDirectory, "commentflow.dll");

    public string NewDir(string name)
    {
        var dir = Path.Combine(ScratchDir, $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A store an earlier scenario filled with <paramref name="samples"/> requests, for the scenarios that read one.</summary>
    public void KeepStore(int samples, string dir) => _stores[samples] = dir;

    public string? StoreOf(int samples) => _stores.GetValueOrDefault(samples);

    public async Task<string> RunAsync(string file, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', info.ArgumentList)} exited {process.ExitCode}: {await stderr}");
        }
        return stdout;
    }

    /// <summary>Installs a Debian package, reading the package lists first: a fresh machine has none.</summary>
    public async Task InstallDebianAsync(string package)
    {
        Console.WriteLine($"installing Debian's {package}");
        await RunAsync("apt-get", ["update", "-qq"]);
        await RunAsync("apt-get", ["install", "-y", "-qq", package]);
    }

    public void Cleanup()
    {
        try
        {
            Directory.Delete(ScratchDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
