using System.ComponentModel.DataAnnotations;

namespace CommentFlow.Storage;

internal sealed class StorageOptions : IValidatableObject
{
    public const string Section = "CommentFlow:Storage";

    [Required, AllowedValues(StorageProviders.Sqlite, StorageProviders.Postgres)]
    public string Provider { get; set; } = StorageProviders.Sqlite;

    /// <summary>
    /// SQLite: empty means <c>Data Source={DataDir}/commentflow.db</c>. PostgreSQL: required, an Npgsql connection string
    /// (<c>Host=…;Port=…;Username=…;Password=…;Database=…</c>); every instance sharing the database names the same one.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>From this many samples on, payloads are stored GZip-compressed, existing ones included. 0 compresses from the first sample.</summary>
    [Range(0, int.MaxValue)]
    public int CompressionThreshold { get; set; } = 100;

    /// <summary>
    /// Once compression is on and the store holds this many samples, payloads are compressed with zstd and a dictionary
    /// trained on the store's own most recent payloads; the GZip ones are converted in the background. 0 keeps GZip.
    /// Measured on the 3,114 shared tickets (bench <c>storage</c>): GZip 614 B a payload, zstd with the dictionary ~360.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int DictionaryFrom { get; set; } = 1_000;

    /// <summary>
    /// Level of compressed payloads: GZip's, and zstd's counterpart (fastest 1, optimal 3, smallest 19). GZip measured on
    /// ../shared/data (bench/storage-size.sh): plain 1,599 B/sample, <c>fastest</c> 1,189, <c>optimal</c> 936;
    /// <c>smallest</c> gains nothing more on ticket-sized texts.
    /// </summary>
    [Required, AllowedValues("fastest", "optimal", "smallest")]
    public string CompressionLevel { get; set; } = "optimal";

    internal System.IO.Compression.CompressionLevel GzipLevel => CompressionLevel switch
    {
        "fastest" => System.IO.Compression.CompressionLevel.Fastest,
        "smallest" => System.IO.Compression.CompressionLevel.SmallestSize,
        _ => System.IO.Compression.CompressionLevel.Optimal,
    };

    /// <summary>
    /// SQLite <c>synchronous</c>: <c>full</c> syncs the WAL at every commit, so a committed batch survives a power cut;
    /// <c>normal</c> survives a process crash (kill -9) but may lose the last commits on a power cut. Neither can corrupt the file.
    /// </summary>
    [Required, AllowedValues("full", "normal")]
    public string Synchronous { get; set; } = "full";

    /// <summary>
    /// SQLite: samples are archived once older than <see cref="ArchiveAfter"/>, this many to a block compressed together
    /// (zstd 19 with the store's dictionary): ~300 B a sample on the shared tickets against ~680 B as rows (bench
    /// <c>storage</c>). Archived samples read, export, train, count and erase as before; reading one decodes its block
    /// (~1–3 ms). 0 never archives. PostgreSQL does not archive.
    /// </summary>
    [Range(0, 65_536)]
    public int ArchiveBlock { get; set; } = 1_024;

    /// <summary>How old a sample is before it is archived (the rows of the last day stay rows, quick to read one by one).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan ArchiveAfter { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How often the archiving job looks for settled samples (it also looks once at start).</summary>
    [Range(1, 1_440)]
    public int ArchiveIntervalMinutes { get; set; } = 10;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider == StorageProviders.Postgres && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult(
                "Storage:ConnectionString is required when Storage:Provider is postgres (Host=…;Port=…;Username=…;Database=…).",
                [nameof(ConnectionString)]);
        }
    }
}

internal static class StorageProviders
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
}
