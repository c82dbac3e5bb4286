using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using CommentFlow.Domain;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using Microsoft.Extensions.Options;

namespace CommentFlow.Bench;

/// <summary>
/// The profile behind scenario 1: what each sample of the shared workload costs the capture path, stage by stage, on
/// one thread (the second of two passes, so the JIT has settled): reading and hashing the request, masking, the payload
/// JSON, and its compression (GZip at both levels, and zstd with a dictionary trained as the store trains one), with the
/// cost of decoding a payload of each. Masking is also measured on the shared tickets as an import stores them: the
/// workload's texts are word soup with few digits, while real tickets carry the dates, numbers and codes that masking
/// has to look at.
/// </summary>
internal static class PrepScenario
{
    public static async Task<List<ResultRow>> RunAsync(BenchEnvironment env, int requests)
    {
        var path = await Workload.GenerateAsync(env, requests);
        var masker = new PersonalDataMasker(Options.Create(new MaskingOptions()));
        var rows = new List<ResultRow>();
        for (var pass = 0; pass < 2; pass++)
        {
            var clock = Stopwatch.StartNew();
            var samples = new List<TrainingSample>();
            foreach (var line in File.ReadLines(path))
            {
                var r = JsonSerializer.Deserialize(line, WorkloadJson.Default.WorkloadRequest)!;
                var context = new TicketContext { TicketKey = r.TicketKey, Summary = r.Summary, Description = r.Description, IssueType = r.IssueType, Status = r.Status, Priority = r.Priority, Comments = r.AllComments };
                samples.Add(TrainingSample.From(context, context.Hash(), r.Suggestions, "llama3.2", "ollama", 0, DateTimeOffset.UtcNow));
            }
            var parse = clock.Elapsed.TotalMicroseconds / samples.Count;
            clock.Restart();
            var masked = samples.Select(s => masker.Mask(s).Sample).ToList();
            var mask = clock.Elapsed.TotalMicroseconds / samples.Count;
            clock.Restart();
            var json = masked.Select(s => SamplePayload.Of(s).Encode(null)).ToList();
            var encode = clock.Elapsed.TotalMicroseconds / samples.Count;
            (double Micros, double Bytes) Compress(Func<byte[], int> compress)
            {
                clock.Restart();
                long bytes = 0;
                foreach (var j in json)
                {
                    bytes += compress(j);
                }
                return (clock.Elapsed.TotalMicroseconds / json.Count, bytes / (double)json.Count);
            }
            var fastest = Compress(j => SamplePayload.Compress(j, CompressionLevel.Fastest).Length);
            var optimal = Compress(j => SamplePayload.Compress(j, CompressionLevel.Optimal).Length);
            // The store's codec once it has a dictionary: trained as the store trains one, on (up to) 5,000 payloads.
            clock.Restart();
            var dictionary = PayloadDictionary.Train(PayloadCodec.FirstDictionaryId, json.Take(DbTrainingStore.TrainingPayloads).ToList(),
                DbTrainingStore.DictionaryBytes, CompressionLevel.Optimal);
            var trainMs = clock.Elapsed.TotalMilliseconds;
            var zstd = Compress(j => dictionary.Compress(j, CompressionLevel.Optimal).Length);
            var gzipped = json.Select(j => SamplePayload.Compress(j, CompressionLevel.Optimal)).ToList();
            var zstded = json.Select(j => dictionary.Compress(j, CompressionLevel.Optimal)).ToList();
            clock.Restart();
            var inflated = gzipped.Sum(g => (long)SamplePayload.Unpack(g, PayloadCodec.Gzip).Length);
            var inflate = clock.Elapsed.TotalMicroseconds / json.Count;
            clock.Restart();
            var unwrapped = zstded.Sum(z => (long)dictionary.Decompress(z).Length);
            var unwrap = clock.Elapsed.TotalMicroseconds / json.Count;
            if (inflated != unwrapped)
            {
                throw new InvalidOperationException("GZip and zstd gave back different payloads.");
            }
            if (pass == 0)
            {
                continue;
            }
            Console.WriteLine($"prep, {samples.Count:N0} requests, µs per sample on one thread: read+parse+hash {parse:N1}, mask {mask:N1}, JSON {encode:N1} ({json.Average(j => j.Length):N0} B), " +
                $"GZip fastest {fastest.Micros:N1} ({fastest.Bytes:N0} B), GZip optimal {optimal.Micros:N1} ({optimal.Bytes:N0} B), zstd + dictionary {zstd.Micros:N1} ({zstd.Bytes:N0} B; " +
                $"trained in {trainMs:N0} ms); decoding: GZip {inflate:N1}, zstd + dictionary {unwrap:N1}");
            rows.AddRange(
            [
                new ResultRow("prep", "read, parse, hash (request path)", "µs/sample", parse, "(none)", null, "report", null, HigherIsBetter: false),
                new ResultRow("prep", "mask every text field", "µs/sample", mask, "(none)", null, "report", null, HigherIsBetter: false),
                new ResultRow("prep", $"payload JSON ({json.Average(j => j.Length):N0} B)", "µs/sample", encode, "(none)", null, "report", null, HigherIsBetter: false),
                new ResultRow("prep", $"GZip fastest ({fastest.Bytes:N0} B)", "µs/sample", fastest.Micros, "(none)", null, "report", null, HigherIsBetter: false),
                new ResultRow("prep", $"GZip optimal, until a dictionary ({optimal.Bytes:N0} B)", "µs/sample", optimal.Micros, "(none)", null, "report", null, HigherIsBetter: false),
                new ResultRow("prep", $"zstd + the store's dictionary, default from 1,000 samples ({zstd.Bytes:N0} B)", "µs/sample", zstd.Micros, "GZip optimal", optimal.Micros, "report", null, HigherIsBetter: false),
                new ResultRow("prep", "decode: zstd + dictionary (export, reads)", "µs/sample", unwrap, "GZip inflate", inflate, "report", null, HigherIsBetter: false),
            ]);
        }

        // The shared tickets, after the workload (so its figures stay comparable with earlier runs): five rounds to warm, five measured.
        var shared = Directory.GetFiles(env.SharedData, "*.csv").Order(StringComparer.Ordinal)
            .SelectMany(f => CommentFlow.Import.HistoryImport.ReadCsv(f, new CommentFlow.Import.ImportOptions(), DateTimeOffset.UtcNow))
            .Where(i => i.Sample is not null).Select(i => i.Sample!).ToList();
        var sharedChars = shared.Average(s => s.Context.Summary.Length + s.Context.Description.Length + s.Suggestions.Sum(x => x.Text.Length));
        var maskShared = 0.0;
        for (var pass = 0; pass < 2; pass++)
        {
            var clock = Stopwatch.StartNew();
            for (var round = 0; round < 5; round++)
            {
                shared.ForEach(s => masker.Mask(s));
            }
            maskShared = clock.Elapsed.TotalMicroseconds / (5 * shared.Count);
        }
        Console.WriteLine($"prep, the {shared.Count:N0} shared tickets ({sharedChars:N0} characters a sample): mask {maskShared:N1} µs per sample");
        rows.Insert(2, new ResultRow("prep", $"mask every text field, the shared tickets ({sharedChars:N0} characters a sample)", "µs/sample", maskShared, "(none)", null, "report", null,
            HigherIsBetter: false));
        return rows;
    }
}
