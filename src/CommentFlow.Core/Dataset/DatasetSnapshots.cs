using System.Buffers;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using CommentFlow.Domain;
using CommentFlow.Export;
using CommentFlow.Storage;

namespace CommentFlow.Dataset;

/// <summary>
/// One sample as training sees it: the context and the suggestions <see cref="DatasetCleaner.Clean"/> kept (whatever
/// cleaning did to them, agents' feedback included), not the raw sample.
/// </summary>
internal sealed record CleanedSample
{
    public required string ContextHash { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required string Engine { get; init; }
    public required string Model { get; init; }
    public required TicketContext Context { get; init; }
    public required IReadOnlyList<Suggestion> Suggestions { get; init; }

    /// <summary>The kept suggestions of <paramref name="sample"/>; null when cleaning kept none (nothing to learn from).</summary>
    public static CleanedSample? From(TrainingSample sample, DatasetCleaner cleaner)
    {
        var kept = cleaner.Clean(sample);
        return kept.Count == 0 ? null : new CleanedSample
        {
            ContextHash = sample.ContextHash,
            CreatedAt = sample.CreatedAt,
            Engine = sample.Engine,
            Model = sample.Model,
            Context = sample.Context,
            Suggestions = kept,
        };
    }
}

/// <summary>What a snapshot holds, written beside its data as <c>&lt;id&gt;.json</c>.</summary>
internal sealed record SnapshotManifest
{
    /// <summary>How the lines are written. Ids hash the lines, so a later format would give the same data a new id.</summary>
    public const int CurrentFormat = 1;

    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Samples (ticket contexts) with at least one kept suggestion.</summary>
    public required int Samples { get; init; }

    /// <summary>Kept suggestions, i.e. the comments training learns from.</summary>
    public required int Comments { get; init; }

    /// <summary>Comments by suggestion type; types the service does not know count as <see cref="Untyped"/>.</summary>
    public required IReadOnlyDictionary<string, int> ByType { get; init; }

    /// <summary>The cleaning rules in force when the snapshot was first taken.</summary>
    public required CleaningOptions Cleaning { get; init; }
    public required long Bytes { get; init; }
    public int Format { get; init; } = CurrentFormat;

    public const string Untyped = "untyped";
}

/// <summary>
/// Frozen cleaned datasets under <c>DataDir/snapshots/</c>: <c>&lt;id&gt;.jsonl.gz</c> (one <see cref="CleanedSample"/> a line,
/// ordered by context hash) and its manifest <c>&lt;id&gt;.json</c>. The id is the first 16 hex digits of the SHA-256 of the
/// uncompressed lines, so the same data always gets the same id whatever order the store returned it in, a second
/// snapshot of unchanged data reuses the first, and a reader can check that a file is what its name says.
/// </summary>
internal sealed class SnapshotStore(string directory)
{
    public const string DataSuffix = ".jsonl.gz";
    public const string ManifestSuffix = ".json";
    public const int IdLength = 16;

    // Non-ASCII text stays readable in the file; the escaping is fixed, so the bytes (and the id) are too.
    private static readonly JsonWriterOptions LineOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly byte[] Newline = "\n"u8.ToArray();

    public string Directory { get; } = directory;

    public static bool IsValidId(string? id) =>
        id is { Length: IdLength } && id.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    public string DataPath(string id) => Path.Combine(Directory, id + DataSuffix);

    public string ManifestPath(string id) => Path.Combine(Directory, id + ManifestSuffix);

    /// <summary>
    /// Reads the store through the cleaner and freezes the result. Returns the existing snapshot, untouched, when the
    /// same data was frozen before. The cleaned lines are held in memory to be sorted (about 1.6 KB a sample).
    /// </summary>
    public async Task<(SnapshotManifest Manifest, bool Reused)> TakeAsync(ITrainingStore store, CleaningOptions cleaning, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var cleaner = new DatasetCleaner(cleaning, await AgentReplyIndex.ReadAsync(store, cancellationToken));
        var lines = new List<(string Hash, byte[] Line)>();
        var byType = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var comments = 0;
        var buffer = new ArrayBufferWriter<byte>();
        await foreach (var sample in store.ReadAllAsync(cancellationToken))
        {
            if (CleanedSample.From(sample, cleaner) is not { } cleaned)
            {
                continue;
            }
            foreach (var s in cleaned.Suggestions)
            {
                var type = SuggestionTypes.Normalize(s.Type) ?? SnapshotManifest.Untyped;
                byType[type] = byType.GetValueOrDefault(type) + 1;
            }
            comments += cleaned.Suggestions.Count;
            buffer.ResetWrittenCount();
            await using (var writer = new Utf8JsonWriter(buffer, LineOptions))
            {
                JsonSerializer.Serialize(writer, cleaned, SnapshotJsonContext.Default.CleanedSample);
            }
            lines.Add((cleaned.ContextHash, buffer.WrittenSpan.ToArray()));
        }
        // The store's unique constraint makes context hashes distinct, so this order is total.
        lines.Sort((a, b) => string.CompareOrdinal(a.Hash, b.Hash));

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (_, line) in lines)
        {
            sha.AppendData(line);
            sha.AppendData(Newline);
        }
        var id = Convert.ToHexStringLower(sha.GetHashAndReset())[..IdLength];
        if (Find(id) is { } existing)
        {
            return (existing, true);
        }

        // Data first, manifest last: a snapshot exists once its manifest does; a crash in between leaves a data file
        // the next snapshot of the same data overwrites.
        var bytes = await AtomicFile.WriteAsync(DataPath(id), async stream =>
        {
            await using (var gzip = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true))
            {
                foreach (var (_, line) in lines)
                {
                    await gzip.WriteAsync(line, cancellationToken);
                    await gzip.WriteAsync(Newline, cancellationToken);
                }
            }
            return stream.Length;
        });
        var manifest = new SnapshotManifest
        {
            Id = id,
            CreatedAt = time.GetUtcNow(),
            Samples = lines.Count,
            Comments = comments,
            ByType = byType,
            Cleaning = cleaning,
            Bytes = bytes,
        };
        await AtomicFile.WriteAsync(ManifestPath(id), async stream =>
        {
            await JsonSerializer.SerializeAsync(stream, manifest, SnapshotManifestJsonContext.Default.SnapshotManifest, cancellationToken);
            return true;
        });
        return (manifest, false);
    }

    /// <summary>The manifest of snapshot <paramref name="id"/>; null when there is none, its data file is gone, or the id is malformed.</summary>
    public SnapshotManifest? Find(string id)
    {
        if (!IsValidId(id) || !File.Exists(ManifestPath(id)) || !File.Exists(DataPath(id)))
        {
            return null;
        }
        using var stream = File.OpenRead(ManifestPath(id));
        return JsonSerializer.Deserialize(stream, SnapshotManifestJsonContext.Default.SnapshotManifest);
    }

    /// <summary>Every snapshot whose manifest is readable, newest first.</summary>
    public IReadOnlyList<SnapshotManifest> List()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }
        return System.IO.Directory.EnumerateFiles(Directory, "*" + ManifestSuffix)
            .Select(f => Path.GetFileName(f)[..^ManifestSuffix.Length])
            .Select(Find)
            .OfType<SnapshotManifest>()
            .OrderByDescending(m => m.CreatedAt)
            .ThenBy(m => m.Id, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Deletes every snapshot that holds a sample matching <paramref name="holds"/>: a snapshot is a copy of the store's
    /// data, so erasure and retention must reach it. Returns the ids deleted. Models already trained from them keep
    /// their snapshot id, but can no longer be retrained from it.
    /// </summary>
    public async Task<IReadOnlyList<string>> DeleteHoldingAsync(Func<CleanedSample, bool> holds, CancellationToken cancellationToken)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }
        var deleted = new List<string>();
        foreach (var data in System.IO.Directory.EnumerateFiles(Directory, "*" + DataSuffix).Order(StringComparer.Ordinal).ToList())
        {
            var id = Path.GetFileName(data)[..^DataSuffix.Length];
            var found = false;
            await using (var file = new FileStream(data, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true))
            await using (var gzip = new GZipStream(file, CompressionMode.Decompress))
            using (var reader = new StreamReader(gzip, new System.Text.UTF8Encoding(false)))
            {
                while (!found && await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    found = JsonSerializer.Deserialize(line, SnapshotJsonContext.Default.CleanedSample) is { } sample && holds(sample);
                }
            }
            if (found)
            {
                // The manifest first: a snapshot without one is not listed, and a crash in between leaves no half-listed snapshot.
                File.Delete(ManifestPath(id));
                File.Delete(data);
                deleted.Add(id);
            }
        }
        return deleted;
    }

    /// <summary>
    /// The samples of snapshot <paramref name="id"/> in file order. The content is hashed on the way; a file that does not
    /// hash to its id (damaged or edited) throws once it has been read to the end, before the caller can finish with it.
    /// </summary>
    public async IAsyncEnumerable<CleanedSample> ReadAsync(string id, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!IsValidId(id))
        {
            throw new ArgumentException($"'{id}' is not a snapshot id ({IdLength} lower-case hex digits).", nameof(id));
        }
        using var sha = SHA256.Create();
        await using var file = new FileStream(DataPath(id), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        await using var hashing = new CryptoStream(gzip, sha, CryptoStreamMode.Read);
        using var reader = new StreamReader(hashing, new System.Text.UTF8Encoding(false));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            yield return JsonSerializer.Deserialize(line, SnapshotJsonContext.Default.CleanedSample)
                ?? throw new InvalidDataException($"Snapshot {id}: an empty line.");
        }
        var actual = Convert.ToHexStringLower(sha.Hash!)[..IdLength];
        if (actual != id)
        {
            throw new InvalidDataException($"Snapshot {id} does not hash to its id (got {actual}): the file was changed or damaged.");
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CleanedSample))]
internal sealed partial class SnapshotJsonContext : JsonSerializerContext;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(SnapshotManifest))]
internal sealed partial class SnapshotManifestJsonContext : JsonSerializerContext;
