using System.Text;
using ZstdSharp;

namespace CommentFlow.Storage;

/// <summary>
/// A block of the archive (migration 0008): whole samples, their short columns and their payloads' JSON, compressed
/// together as one zstd frame at level 19 (9 when an erasure rewrites one). Samples compressed together share their
/// greetings, field names and boilerplate: on the shared tickets a block of 1,024 takes ~230 B a sample, against
/// ~680 B as rows with a payload each (bench/README.md). The layout is by column (every hash, then every time, …, then
/// every payload), which compresses 4 % better than sample after sample; the store's dictionary is not used, as it
/// gains nothing at this size, so a block reads by itself.
/// </summary>
internal static class ArchiveBlock
{
    /// <summary><c>archive_blocks.encoding</c> of this layout: a zstd frame without a dictionary.</summary>
    public const int Zstd = 1;

    /// <summary>zstd's level for blocks the archiving job packs: the smallest, off the writers' lock.</summary>
    public const int Level = 19;

    /// <summary>
    /// zstd's level for a block rewritten by an erasure or retention, inside its transaction (capture waits meanwhile):
    /// a tenth of level 19's CPU for a slightly larger block (bench/README.md, 2026-12-07, late night).
    /// </summary>
    public const int RewriteLevel = 9;

    // Version 1: the count, then each column for every sample in turn (row ids and times as steps from the one before,
    // strings as BinaryWriter writes them).
    private const byte Version = 1;

    [ThreadStatic]
    private static Dictionary<int, Compressor>? t_compressors;

    [ThreadStatic]
    private static Decompressor? t_decompressor;

    /// <summary>A packed block as <c>archive_blocks</c> holds it: its content and what is read without decoding it.</summary>
    public sealed record Packed(int Samples, long FirstId, long LastId, string Oldest, string Newest, string Days, int Encoding, byte[] Content);

    /// <summary>Packs samples with the row ids they had (which a resumed <c>migrate</c> goes by), in ascending id order.</summary>
    public static Packed Pack(IReadOnlyList<(long Id, StoredRow Row)> samples, PayloadCodec codec, int level = Level)
    {
        var rows = samples.Select(s => s.Row).ToList();
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Version);
            writer.Write7BitEncodedInt(rows.Count);
            var previousId = 0L;
            foreach (var (id, _) in samples)
            {
                writer.Write7BitEncodedInt64(id - previousId);
                previousId = id;
            }
            foreach (var row in rows)
            {
                writer.Write(row.ContextHash);
            }
            // Times as the step from the one before: samples of a block were captured close together.
            var previous = 0L;
            foreach (var row in rows)
            {
                writer.Write7BitEncodedInt64(row.CreatedAt.UtcTicks - previous);
                previous = row.CreatedAt.UtcTicks;
            }
            foreach (var row in rows)
            {
                WriteOptional(writer, row.TicketKey);
            }
            foreach (var row in rows)
            {
                writer.Write(row.IssueType);
                writer.Write(row.Status);
                writer.Write(row.Priority);
                writer.Write(row.Model);
                writer.Write(row.Engine);
                WriteOptional(writer, row.Language);
                WriteOptional(writer, row.Queue);
                writer.Write(row.LatencyMs);
            }
            foreach (var row in rows)
            {
                var json = codec.Decompress(row.Payload, row.PayloadEncoding);
                writer.Write7BitEncodedInt(json.Length);
                writer.Write(json);
            }
        }
        var compressors = t_compressors ??= [];
        if (!compressors.TryGetValue(level, out var compressor))
        {
            compressors[level] = compressor = new Compressor(level);
        }
        return new Packed(rows.Count, samples[0].Id, samples[^1].Id, StoreTimestamps.Format(rows.Min(r => r.CreatedAt)),
            StoreTimestamps.Format(rows.Max(r => r.CreatedAt)), Days(rows), Zstd, compressor.Wrap(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)).ToArray());
    }

    /// <summary>The block's samples with their row ids, in the order they were packed, each payload plain JSON.</summary>
    public static List<(long Id, StoredRow Row)> Unpack(byte[] content, int encoding)
    {
        if (encoding != Zstd)
        {
            throw new InvalidDataException($"An archive block of encoding {encoding}: this build cannot read it.");
        }
        var decompressor = t_decompressor ??= new Decompressor();
        using var reader = new BinaryReader(new MemoryStream(decompressor.Unwrap(content).ToArray()), Encoding.UTF8);
        if (reader.ReadByte() != Version)
        {
            throw new InvalidDataException("An archive block of an unknown version: this build cannot read it.");
        }
        var count = reader.Read7BitEncodedInt();
        var ids = new long[count];
        var id = 0L;
        for (var i = 0; i < count; i++)
        {
            id += reader.Read7BitEncodedInt64();
            ids[i] = id;
        }
        var hashes = new string[count];
        for (var i = 0; i < count; i++)
        {
            hashes[i] = reader.ReadString();
        }
        var created = new DateTimeOffset[count];
        var ticks = 0L;
        for (var i = 0; i < count; i++)
        {
            ticks += reader.Read7BitEncodedInt64();
            created[i] = new DateTimeOffset(ticks, TimeSpan.Zero);
        }
        var keys = new string?[count];
        for (var i = 0; i < count; i++)
        {
            keys[i] = ReadOptional(reader);
        }
        var columns = new (string IssueType, string Status, string Priority, string Model, string Engine, string? Language, string? Queue, double Latency)[count];
        for (var i = 0; i < count; i++)
        {
            columns[i] = (reader.ReadString(), reader.ReadString(), reader.ReadString(), reader.ReadString(), reader.ReadString(),
                ReadOptional(reader), ReadOptional(reader), reader.ReadDouble());
        }
        var rows = new List<(long, StoredRow)>(count);
        for (var i = 0; i < count; i++)
        {
            var payload = reader.ReadBytes(reader.Read7BitEncodedInt());
            var c = columns[i];
            rows.Add((ids[i], new StoredRow(hashes[i], keys[i], created[i], c.IssueType, c.Status, c.Priority, c.Model, c.Engine, c.Latency,
                PayloadCodec.Plain, payload, c.Language, c.Queue)));
        }
        return rows;
    }

    /// <summary>Samples per UTC day, as <c>archive_blocks.days</c> holds them: "yyyy-MM-dd=n;…".</summary>
    private static string Days(IEnumerable<StoredRow> rows) =>
        string.Join(';', rows.CountBy(r => r.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture))
            .OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key}={d.Value}"));

    public static IEnumerable<(string Day, long Samples)> ParseDays(string days) =>
        days.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(d => d.Split('='))
            .Select(p => (p[0], long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)));

    private static void WriteOptional(BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null)
        {
            writer.Write(value);
        }
    }

    private static string? ReadOptional(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;
}
