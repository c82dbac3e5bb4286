using System.IO.Compression;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using CommentFlow.Domain;
using CommentFlow.OwnModel;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using CommentFlow.Training;
using Microsoft.Extensions.Options;

namespace CommentFlow.Bench;

/// <summary>
/// The per-sample and per-query hot paths, with BenchmarkDotNet (in process, so no project is generated and built):
/// the context hash, personal-data masking, the stored payload (JSON, then GZip at each level), the classifier's
/// featurised text, and a retrieval query against 10,000 indexed comments.
/// </summary>
[MemoryDiagnoser]
public class MicroBenchmarks
{
    private TicketContext _context = null!;
    private TrainingSample _sample = null!;
    private PersonalDataMasker _masker = null!;
    private string _text = null!;
    private RetrievalIndex _index = null!;
    private string _query = null!;
    private string _language = null!;

    [GlobalSetup]
    public void Setup()
    {
        var repo = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        var data = Path.Combine(repo, "..", "shared", "data");
        var tickets = Directory.GetFiles(data, "*.csv").Order().SelectMany(f => LabelledTickets.Read(f, "type").Tickets).ToList();
        var t = tickets[7];
        _context = new TicketContext
        {
            Summary = t.Text[..Math.Min(80, t.Text.Length)],
            Description = t.Text + " Contact me at jane.doe@example.com or +49 30 1234567.",
            IssueType = "Incident",
            Comments = ["Checked the logs, nothing since 09:00.", "Asked the user for a screenshot of the error."],
        };
        _sample = TrainingSample.From(_context, _context.Hash(), [new Suggestion(t.Answer, SuggestionTypes.Action, 0.8)], "llama3.2", "ollama", 900, DateTimeOffset.UtcNow);
        _masker = new PersonalDataMasker(Options.Create(new MaskingOptions()));
        _text = _context.Description;
        _index = RetrievalIndex.Build(tickets.Skip(100).Take(10_000).Select(x => new RetrievalItem(x.Text, x.Answer, "", x.Language)).ToList());
        _query = tickets[3].Text;
        _language = tickets[3].Language;
    }

    [Benchmark(Description = "context hash (MD5 of summary|description|comments)")]
    public string Hash() => _context.Hash();

    [Benchmark(Description = "mask personal data, one description")]
    public string Mask() => _masker.Mask(_text).Text;

    [Benchmark(Description = "payload JSON")]
    public byte[] PayloadJson() => SamplePayload.Of(_sample).Encode(null);

    [Benchmark(Description = "payload JSON + GZip fastest")]
    public byte[] PayloadGzipFastest() => SamplePayload.Of(_sample).Encode(CompressionLevel.Fastest);

    [Benchmark(Description = "payload JSON + GZip optimal (default)")]
    public byte[] PayloadGzipOptimal() => SamplePayload.Of(_sample).Encode(CompressionLevel.Optimal);

    [Benchmark(Description = "classifier text (featurised input)")]
    public string Featurise() => TicketText.ForClassifier(_context);

    [Benchmark(Description = "retrieval query, 10k comments (nearest 40)")]
    public int Retrieve() => _index.Nearest(_query, _language, 40).Count;

    /// <summary>Runs every benchmark; quick: BenchmarkDotNet's dry job (one iteration each), proving they run.</summary>
    internal static List<ResultRow> Run(bool quick)
    {
        var job = (quick ? Job.Dry : Job.ShortRun).WithToolchain(InProcessEmitToolchain.Instance);
        var config = ManualConfig.CreateMinimumViable().AddJob(job).WithOptions(ConfigOptions.DisableLogFile)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "commentflow-bench", "BenchmarkDotNet"));
        var summary = BenchmarkRunner.Run<MicroBenchmarks>(config);
        return summary.Reports.Where(r => r.ResultStatistics is not null).Select(r => new ResultRow("micro", r.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo,
            "µs", r.ResultStatistics!.Mean / 1000, "(none)", null, "report", null, HigherIsBetter: false)).ToList();
    }
}
