using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CommentFlow.Bench;

/// <summary>
/// Scenarios 2 and 4: <c>commentflow serve</c> in its own process under <c>wrk</c> (Debian's, another process) on
/// loopback, against a trivial ASP.NET Core handler that parses the same body (the bench itself, in a third process)
/// in the same run (the rules engine on new tickets and the trivial handler in alternating pairs). Reports requests/s,
/// wrk's latency percentiles, the CPU each side used, what capture did with the samples, and the enqueue cost the
/// server measured on its request path (its /metrics histogram).
/// </summary>
internal static class HttpScenario
{
    private const int Connections = 64;

    public static async Task<List<ResultRow>> RunAsync(BenchEnvironment env, Dictionary<string, object> details)
    {
        await EnsureWrkAsync(env);
        var (warmup, seconds) = env.Quick ? (1, 2) : (5, 15);
        var rows = new List<ResultRow>();
        var runs = new Dictionary<string, object>();

        // One measured run of the service: warm-up first (the JIT tiers the hot paths up over the first seconds), on
        // tickets of its own; its samples are written before the measured run starts, and only the measured run's counts
        // are reported.
        async Task<ServiceRun> ServiceAsync(string name, string engine, string contexts, string fullMode, string dir, string? tickets)
        {
            using var server = await Server.StartServiceAsync(env, dir, [$"--CommentFlow:Engine={engine}", $"--CommentFlow:Capture:FullMode={fullMode}"]);
            if (engine == "local")
            {
                // The server answers before the model is loaded (with the rules engine, saying so): wait for it.
                await server.WaitForOwnModelAsync();
            }
            await WrkAsync(server, contexts, warmup, tickets);
            var before = await server.SnapshotAsync();
            var result = await WrkAsync(server, contexts, seconds, tickets);
            var measured = (await server.SnapshotAsync()).Since(before);
            var run = new ServiceRun(result, measured.Capture, measured.Engines, measured.Enqueue());
            Console.WriteLine($"http {name}: {result.RequestsPerSecond:N0} req/s, p50 {result.P50Ms:N2} ms, p99 {result.P99Ms:N2} ms, p99.9 {result.P999Ms:N2} ms, " +
                $"CPU server {result.ServerCpuSeconds:N1} s / wrk {result.ClientCpuSeconds:N1} s; capture {JsonSerializer.Serialize(run.Capture)}; enqueue {run.Enqueue}; engines {JsonSerializer.Serialize(run.Engines)}");
            return run;
        }

        // The reference, a trivial handler parsing the same body and answering a fixed JSON, and the rules engine on new
        // tickets, in alternating pairs: the ratio of these two is a target, and one pair's ratio is as noisy as the gap.
        var (median, pairs) = await AlternatingPairs.RunAsync(AlternatingPairs.Count(env),
            () => ServiceAsync("rules, new tickets", "rules", "new", "drop", env.NewDir("http"), null),
            async () =>
            {
                using var server = await Server.StartTrivialAsync(env);
                await WrkAsync(server, "new", warmup);
                var result = await WrkAsync(server, "new", seconds);
                Console.WriteLine($"http reference, trivial handler parsing the same body: {result.RequestsPerSecond:N0} req/s, p99 {result.P99Ms:N2} ms, CPU server {result.ServerCpuSeconds:N1} s / wrk {result.ClientCpuSeconds:N1} s");
                return new ServiceRun(result, [], [], null);
            },
            r => r.Wrk.RequestsPerSecond,
            (i, p) => Console.WriteLine($"http pair {i}: rules, new tickets {p.Subject.Wrk.RequestsPerSecond:N0} req/s against the trivial handler's {p.Reference.Wrk.RequestsPerSecond:N0}: {p.Ratio:0.00}×"));
        var trivial = median.Reference.Wrk;
        runs["trivial_parse"] = trivial;
        runs["rules, new tickets"] = new { wrk = median.Subject.Wrk, capture = median.Subject.Capture, enqueue = median.Subject.Enqueue, engines = median.Subject.Engines };
        runs["rules, new tickets: pairs"] = pairs.Select(p => new { rules = p.Subject.Wrk.RequestsPerSecond, trivial = p.Reference.Wrk.RequestsPerSecond, ratio = p.Ratio }).ToList();
        {
            var (result, capture, enqueue) = (median.Subject.Wrk, median.Subject.Capture, median.Subject.Enqueue!);
            rows.Add(new ResultRow("http", "rules, new tickets", "requests/s", result.RequestsPerSecond, "trivial handler parsing the same body (median of alternating pairs)", trivial.RequestsPerSecond,
                "≥ 0.35× and ≥ 10,000/s, none dropped", median.Ratio >= 0.35 && result.RequestsPerSecond >= 10_000 && pairs.All(p => p.Subject.Capture["dropped"] == 0)));
            rows.Add(new ResultRow("enqueue", "rules, new tickets: p99", "µs", enqueue.P99Micros, "(bare TryWrite below)", null, "p99 < 1 µs", enqueue.P99Micros < 1, HigherIsBetter: false));
            rows.Add(new ResultRow("enqueue", "rules, new tickets: p99.9", "µs", enqueue.P999Micros, "(bare TryWrite below)", null, "p99.9 < 5 µs", enqueue.P999Micros < 5, HigherIsBetter: false));
        }

        // The own model's store: the shared tickets imported and trained on, as a team's first model would be.
        var localDir = env.NewDir("http-local");
        foreach (var csv in new[] { "tickets-multilang.csv", "tickets-en-de.csv" })
        {
            await env.RunAsync("dotnet", ["exec", env.ServiceDll, "import-tickets", Path.Combine(env.SharedData, csv), $"--CommentFlow:DataDir={localDir}"]);
        }
        await env.RunAsync("dotnet", ["exec", env.ServiceDll, "train", $"--CommentFlow:DataDir={localDir}"]);

        // Realistic requests: the held-out shared tickets (never imported into the own model's store here: a fifth of
        // them, as RealisticTickets holds them out), each made new by a nonce in its summary.
        var realistic = Path.Combine(env.NewDir("http-tickets"), "tickets.lua");
        await File.WriteAllTextAsync(realistic, TicketsLua(RealisticTickets.Load(env.SharedData).Held));
        WrkResult? rulesRealistic = null;

        foreach (var (name, engine, contexts, fullMode) in new[]
        {
            ("rules, new tickets, full mode wait", "rules", "new", "wait"),
            ("rules, repeated ticket", "rules", "repeat", "drop"),
            ("rules, realistic new tickets", "rules", "realistic", "drop"),
            ("local model, realistic new tickets", "local", "realistic", "drop"),
        })
        {
            var run = await ServiceAsync(name, engine, contexts, fullMode, engine == "local" ? localDir : env.NewDir("http"), realistic);
            var (result, capture, engines) = (run.Wrk, run.Capture, run.Engines);
            runs[name] = new { wrk = result, capture, enqueue = run.Enqueue, engines };
            if (engine == "local")
            {
                // Every answer must have come from the own model, or the figure would be the rules engine's.
                var answered = engines.GetValueOrDefault("local");
                var reference = rulesRealistic!;
                rows.Add(new ResultRow("http", name, "requests/s", result.RequestsPerSecond, "rules engine, the same tickets", reference.RequestsPerSecond,
                    "≥ 0.5× the rules engine, all by the own model", result.RequestsPerSecond >= 0.5 * reference.RequestsPerSecond && answered >= result.Requests - result.Errors));
                rows.Add(new ResultRow("http", $"{name}: p99", "ms", result.P99Ms, "rules engine, the same tickets", reference.P99Ms,
                    "p99 < 20 ms", result.P99Ms < 20, HigherIsBetter: false));
                continue;
            }
            if (contexts == "realistic")
            {
                rulesRealistic = result;
                rows.Add(new ResultRow("http", name, "requests/s", result.RequestsPerSecond, "trivial handler parsing the synthetic body", trivial.RequestsPerSecond, "report", null));
                continue;
            }
            var target = contexts == "new" ? 10_000 : 30_000;
            rows.Add(new ResultRow("http", name, "requests/s", result.RequestsPerSecond, "trivial handler parsing the same body", trivial.RequestsPerSecond,
                contexts == "new" ? "≥ 10,000/s, none dropped" : "≥ 30,000/s", result.RequestsPerSecond >= target && (contexts != "new" || capture["dropped"] == 0)));
            if (contexts == "new")
            {
                rows.Add(new ResultRow("enqueue", $"{name}: p99", "µs", run.Enqueue!.P99Micros, "(bare TryWrite below)", null, "p99 < 1 µs", run.Enqueue.P99Micros < 1, HigherIsBetter: false));
                rows.Add(new ResultRow("enqueue", $"{name}: p99.9", "µs", run.Enqueue.P999Micros, "(bare TryWrite below)", null, "p99.9 < 5 µs", run.Enqueue.P999Micros < 5, HigherIsBetter: false));
            }
        }
        var bare = BareTryWriteNanoseconds();
        rows.Add(new ResultRow("enqueue", "bare Channel.TryWrite + TryRead, mean", "µs", bare / 1000, "(reference)", null, "report", null, HigherIsBetter: false));
        details["http"] = runs;
        return rows;
    }

    /// <summary>The mean cost of a bare bounded-channel write (and the read that makes room), in nanoseconds.</summary>
    private static double BareTryWriteNanoseconds()
    {
        var channel = System.Threading.Channels.Channel.CreateBounded<object>(new System.Threading.Channels.BoundedChannelOptions(10_000) { SingleReader = true });
        var item = new object();
        const int N = 5_000_000;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < N; i++)
        {
            channel.Writer.TryWrite(item);
            channel.Reader.TryRead(out _);
        }
        return clock.Elapsed.TotalNanoseconds / N;
    }

    /// <summary>A measured run: wrk's figures, and for the service what its counters moved by (empty for the trivial handler).</summary>
    internal sealed record ServiceRun(WrkResult Wrk, Dictionary<string, long> Capture, Dictionary<string, long> Engines, EnqueueCost? Enqueue);

    internal sealed record WrkResult(double RequestsPerSecond, long Requests, long Errors, double P50Ms, double P99Ms, double P999Ms, double ServerCpuSeconds, double ClientCpuSeconds);

    internal sealed record EnqueueCost(long Count, double P50Micros, double P99Micros, double P999Micros, double ShareUnder1Micro, double ShareUnder5Micros)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Count:N0} enqueues, p50 {P50Micros:0.###} µs, p99 {P99Micros:0.###} µs, p99.9 {P999Micros:0.###} µs, {ShareUnder1Micro:P2} ≤ 1 µs, {ShareUnder5Micros:P3} ≤ 5 µs");
    }

    private static async Task<WrkResult> WrkAsync(Server server, string contexts, int seconds, string? tickets = null)
    {
        var script = Path.Combine(Path.GetTempPath(), $"commentflow-wrk-{Guid.NewGuid():N}.lua");
        await File.WriteAllTextAsync(script, WrkScript);
        var serverCpuBefore = server.CpuSeconds();
        var nonce = Guid.NewGuid().ToString("N")[..8];
        // `times` prints the CPU the shell's children used: wrk's own, measured by the kernel.
        var command = $"wrk -t1 -c{Connections} -d{seconds}s --timeout 10s -s {script} {server.Url}{server.Path} -- {contexts} {nonce} {tickets ?? ""} >&2; times";
        var info = new ProcessStartInfo("bash", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        File.Delete(script);
        var serverCpu = server.CpuSeconds() - serverCpuBefore;
        var json = stderr.Split('\n').LastOrDefault(l => l.StartsWith("{\"requests\"", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"wrk said: {stderr}");
        var r = JsonNode.Parse(json)!;
        // `times`: the shell's own line, then its children's: "0m1.234s 0m0.567s".
        var children = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Split(' ');
        var clientCpu = children.Sum(ParseTimes);
        var duration = r["duration_us"]!.GetValue<double>() / 1e6;
        return new WrkResult(r["requests"]!.GetValue<long>() / duration, r["requests"]!.GetValue<long>(), r["errors"]!.GetValue<long>(),
            r["p50_us"]!.GetValue<double>() / 1000, r["p99_us"]!.GetValue<double>() / 1000, r["p999_us"]!.GetValue<double>() / 1000, serverCpu, clientCpu);
    }

    private static double ParseTimes(string value)
    {
        var m = value.IndexOf('m', StringComparison.Ordinal);
        return double.Parse(value[..m], CultureInfo.InvariantCulture) * 60 + double.Parse(value[(m + 1)..].TrimEnd('s'), CultureInfo.InvariantCulture);
    }

    // New tickets: a counter per wrk thread and a nonce per run make every body unique. Non-2xx answers count as errors.
    private const string WrkScript = """
        local counter = 0
        local mode = "new"
        local nonce = "x"
        local errors = 0
        local tickets = {}
        function init(args)
          mode = args[1] or "new"
          nonce = args[2] or "x"
          if args[3] then tickets = dofile(args[3]) end
        end
        function request()
          counter = counter + 1
          local n = counter
          if mode == "repeat" then n = 0 end
          local body
          if mode == "realistic" then
            local t = tickets[(n % #tickets) + 1]
            body = string.format('{"ticket_key":"R-%s-%d","summary":"%s (%s %d)","description":"%s","issue_type":"%s","priority":"%s"}', nonce, n, t[1], nonce, n, t[2], t[3], t[4])
          else
            body = string.format('{"ticket_key":"B-%s-%d","summary":"Printer %d on floor %d jams (%s)","description":"User reports the printer jams on every print job since the driver update %d","issue_type":"Incident","priority":"High","all_comments":["Checked the queue"]}', nonce, n, n, n % 9, nonce, n)
          end
          return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
        end
        function response(status, headers, body)
          if status >= 300 then errors = errors + 1 end
        end
        function done(summary, latency, requests)
          local e = summary.errors
          io.stderr:write(string.format('{"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%f,"p99_us":%f,"p999_us":%f}\n',
            summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
            latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
        end
        """;

    /// <summary>The tickets as a Lua table of JSON-escaped {summary, description, type, priority}, in long brackets.</summary>
    private static string TicketsLua(IEnumerable<SharedTicket> tickets)
    {
        static string Field(string value) => $"[==[{JsonEncodedText.Encode(value, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping)}]==]";
        var lua = new System.Text.StringBuilder("return {\n");
        foreach (var t in tickets)
        {
            lua.Append($"{{{Field(t.Subject)},{Field(t.Body)},{Field(t.Type)},{Field(t.Priority)}}},\n");
        }
        return lua.Append("}\n").ToString();
    }

    private static async Task EnsureWrkAsync(BenchEnvironment env)
    {
        if (File.Exists("/usr/bin/wrk"))
        {
            return;
        }
        await env.InstallDebianAsync("wrk");
    }

    /// <summary>A server process under load: the service, or the bench's own trivial handler.</summary>
    internal sealed class Server : IDisposable
    {
        private readonly Process _process;
        private readonly HttpClient _client;

        private Server(Process process, string url, string path)
        {
            _process = process;
            Url = url;
            Path = path;
            _client = new HttpClient { BaseAddress = new Uri(url) };
        }

        public string Url { get; }
        public string Path { get; }

        public static Task<Server> StartServiceAsync(BenchEnvironment env, string dataDir, IEnumerable<string> settings) =>
            StartAsync(["exec", env.ServiceDll, "serve", $"--CommentFlow:DataDir={dataDir}", "--CommentFlow:Ollama:Url=http://127.0.0.1:9",
                "--Logging:LogLevel:Default=Warning", .. settings], "/api/ml/comments/suggestions", "/health");

        // An ASP.NET Core app's defaults (server GC, dynamic PGO), not the bench's runtime settings, which are the service's.
        public static Task<Server> StartTrivialAsync(BenchEnvironment env) =>
            StartAsync(["exec", System.IO.Path.Combine(AppContext.BaseDirectory, "CommentFlow.Bench.dll"), "trivial-server"], "/parse", "/health",
                new() { ["DOTNET_TieredPGO"] = "1", ["DOTNET_gcServer"] = "1" });

        private static async Task<Server> StartAsync(IEnumerable<string> args, string path, string health, Dictionary<string, string>? environment = null)
        {
            var port = FreePort();
            var url = $"http://127.0.0.1:{port}";
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in args.Append($"--urls={url}"))
            {
                info.ArgumentList.Add(arg);
            }
            foreach (var (name, value) in environment ?? [])
            {
                info.Environment[name] = value;
            }
            var process = Process.Start(info)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new Server(process, url, path);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                try
                {
                    using var response = await server._client.GetAsync(health);
                    if (response.IsSuccessStatusCode)
                    {
                        return server;
                    }
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline)
                {
                }
                await Task.Delay(100);
            }
        }

        public long ResidentKilobytes() =>
            File.ReadLines($"/proc/{_process.Id}/status").Where(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
                .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)).Single();

        public double CpuSeconds()
        {
            _process.Refresh();
            return _process.TotalProcessorTime.TotalSeconds;
        }

        /// <summary>
        /// The server's counters once the writer has stored everything queued: capture's counters, the enqueue histogram's
        /// buckets and each engine's answer count (from /metrics; cached answers are not counted, no engine ran).
        /// </summary>
        public async Task<Snapshot> SnapshotAsync()
        {
            JsonNode capture;
            var deadline = DateTime.UtcNow.AddSeconds(120);
            do
            {
                await Task.Delay(200);
                capture = (await _client.GetFromJsonAsync<JsonNode>("/api/ml/comments/health"))!["capture"]!;
            }
            while (capture["written"]!.GetValue<long>() + capture["duplicates"]!.GetValue<long>() + capture["lost"]!.GetValue<long>() < capture["enqueued"]!.GetValue<long>()
                && DateTime.UtcNow < deadline);
            var metrics = await _client.GetStringAsync("/metrics");
            const string engine = "commentflow_engine_latency_seconds_count{engine=\"";
            const string bucket = "commentflow_capture_enqueue_seconds_bucket{le=\"";
            var engines = new Dictionary<string, long>();
            var buckets = new List<(double Le, double Count)>();
            foreach (var line in metrics.Split('\n'))
            {
                var value = line.StartsWith('#') || !line.Contains(' ') ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                if (line.StartsWith(engine, StringComparison.Ordinal))
                {
                    engines[line[engine.Length..line.IndexOf('"', engine.Length)]] = (long)value;
                }
                else if (line.StartsWith(bucket, StringComparison.Ordinal))
                {
                    var le = line[(line.IndexOf('"') + 1)..line.LastIndexOf('"')];
                    buckets.Add((le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture), value));
                }
            }
            var counters = ((JsonObject)capture).Where(kv => kv.Value is JsonValue v && v.TryGetValue<long>(out _))
                .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<long>());
            return new Snapshot(counters, engines, buckets);
        }

        /// <summary>Until the server serves an own model version (<c>commentflow_model_active_info</c> at 1).</summary>
        public async Task WaitForOwnModelAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (!(await _client.GetStringAsync("/metrics")).Split('\n')
                .Any(l => l.StartsWith("commentflow_model_active_info{", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal)))
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException("the own model was not loaded within 120 s");
                }
                await Task.Delay(200);
            }
        }

        /// <summary>Percentiles from the histogram's cumulative buckets, interpolated linearly inside a bucket.</summary>
        internal static EnqueueCost Enqueue(List<(double Le, double Count)> buckets)
        {
            var total = buckets[^1].Count;
            double At(double q)
            {
                var rank = q * total;
                var (lower, below) = (0.0, 0.0);
                foreach (var (le, count) in buckets)
                {
                    if (count >= rank)
                    {
                        var upper = double.IsInfinity(le) ? lower * 2 : le;
                        return (lower + (upper - lower) * (count == below ? 1 : (rank - below) / (count - below))) * 1e6;
                    }
                    (lower, below) = (le, count);
                }
                return lower * 1e6;
            }
            double Share(double bound) => buckets.First(b => Math.Abs(b.Le - bound) < bound / 1000).Count / Math.Max(1, total);
            return new EnqueueCost((long)total, At(0.5), At(0.99), At(0.999), Share(1e-6), Share(5e-6));
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
            _process.Dispose();
            _client.Dispose();
        }
    }

    /// <summary>What a server had counted at one moment; <see cref="Since"/> gives what happened between two.</summary>
    internal sealed record Snapshot(Dictionary<string, long> Capture, Dictionary<string, long> Engines, List<(double Le, double Count)> EnqueueBuckets)
    {
        // Gauges are read as they are at the end; everything else counts up and is subtracted.
        private static readonly string[] Gauges = ["queue_depth", "queue_capacity"];

        public Snapshot Since(Snapshot before) => new(
            Capture.ToDictionary(kv => kv.Key, kv => Gauges.Contains(kv.Key) ? kv.Value : kv.Value - before.Capture.GetValueOrDefault(kv.Key)),
            Engines.ToDictionary(kv => kv.Key, kv => kv.Value - before.Engines.GetValueOrDefault(kv.Key)),
            [.. EnqueueBuckets.Select((b, i) => (b.Le, b.Count - (i < before.EnqueueBuckets.Count ? before.EnqueueBuckets[i].Count : 0)))]);

        public EnqueueCost Enqueue() => Server.Enqueue(EnqueueBuckets);
    }

    /// <summary>The reference server: Kestrel, minimal API, parse the body, answer a fixed JSON. Run as its own process.</summary>
    public static async Task RunTrivialServerAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var answer = """{"success":true,"suggestions":[{"text":"Please send the exact error message.","type":"diagnostic","confidence":0.75}],"engine":"trivial"}"""u8.ToArray();
        app.MapGet("/health", () => "ok");
        app.MapPost("/parse", async (HttpContext context) =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body);
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(answer);
        });
        await app.RunAsync();
    }
}
