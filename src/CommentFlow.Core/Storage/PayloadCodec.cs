using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Compression;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace CommentFlow.Storage;

/// <summary>
/// How a payload's bytes are stored (<c>samples.payload_encoding</c>): plain JSON, GZip, or zstd with one of the store's
/// own dictionaries (<c>payload_dictionaries</c>). A zstd payload names its dictionary in its frame header (the standard
/// Dictionary_ID field, RFC 8878), so old payloads keep reading after a newer dictionary takes over. One codec per store.
/// </summary>
internal sealed class PayloadCodec(Func<int, byte[]?> loadDictionary)
{
    public const int Plain = 0;
    public const int Gzip = 1;
    public const int Zstd = 2;

    /// <summary>The first dictionary id: RFC 8878 leaves ids below 32,768 to a registry, and ids from 2^31 on as well.</summary>
    public const int FirstDictionaryId = 32_768;

    private readonly ConcurrentDictionary<int, PayloadDictionary> _dictionaries = new();
    private volatile PayloadDictionary? _current;

    // Bytes in and out of the current dictionary since it took over or since the last drift check (see DriftWindow).
    private long _plainBytes;
    private long _storedBytes;
    private long _compressedSince;

    /// <summary>The dictionary new payloads are compressed with; null until the store has one.</summary>
    public PayloadDictionary? Current => _current;

    /// <summary>
    /// Set while the store trains a dictionary: without one yet, new payloads are then stored plain rather than GZip, as
    /// the conversion that follows re-encodes them anyway. Under capture the first training took 0.3–1.3 s, in which
    /// 4,000–21,000 payloads were GZip-compressed (~36 µs each) only to be decompressed again (bench/README.md, 2026-12-08).
    /// </summary>
    public bool DictionaryComing
    {
        get => Volatile.Read(ref _dictionaryComing);
        set => Volatile.Write(ref _dictionaryComing, value);
    }

    private bool _dictionaryComing;

    /// <summary>Adds a dictionary read from or written to the store; the newest becomes current.</summary>
    public void Add(PayloadDictionary dictionary)
    {
        _dictionaries[dictionary.Id] = dictionary;
        lock (_dictionaries)
        {
            if (_current is null || dictionary.Id > _current.Id)
            {
                _current = dictionary;
                Interlocked.Exchange(ref _plainBytes, 0);
                Interlocked.Exchange(ref _storedBytes, 0);
                Interlocked.Exchange(ref _compressedSince, 0);
            }
        }
    }

    /// <summary>
    /// Compresses a payload's JSON: with the current dictionary when there is one (zstd at <paramref name="level"/>'s
    /// counterpart), else GZip, or not at all while a dictionary is coming (<see cref="DictionaryComing"/>). Returns the
    /// encoding and bytes.
    /// </summary>
    public (int Encoding, byte[] Bytes) Compress(ReadOnlySpan<byte> json, CompressionLevel level)
    {
        if (_current is not { } dictionary)
        {
            return DictionaryComing ? (Plain, json.ToArray()) : (Gzip, SamplePayload.Compress(json, level));
        }
        var bytes = dictionary.Compress(json, level);
        Interlocked.Add(ref _plainBytes, json.Length);
        Interlocked.Add(ref _storedBytes, bytes.Length);
        Interlocked.Increment(ref _compressedSince);
        return (Zstd, bytes);
    }

    /// <summary>The payload's JSON; valid until the calling thread decodes the next one.</summary>
    public ReadOnlySpan<byte> Decompress(byte[] bytes, int encoding)
    {
        if (encoding != Zstd)
        {
            return SamplePayload.Unpack(bytes, encoding);
        }
        var id = DictionaryIdOf(bytes);
        if (!_dictionaries.TryGetValue(id, out var dictionary))
        {
            // Written by another instance (or process) after this codec loaded the store's dictionaries: the dictionary
            // was committed before any payload naming it, so it is there to read.
            var content = loadDictionary(id) ?? throw new InvalidDataException($"Payload names zstd dictionary {id}, which the store does not hold.");
            dictionary = _dictionaries.GetOrAdd(id, _ => new PayloadDictionary(id, content, double.NaN));
        }
        return dictionary.Decompress(bytes);
    }

    /// <summary>
    /// Whether payloads compressed since the current dictionary took over (at least <paramref name="window"/> of them)
    /// compress worse than it did on the payloads held out of its training, by more than <paramref name="tolerance"/>;
    /// each call that looks at a full window starts the next one.
    /// </summary>
    public bool Drifted(int window, double tolerance)
    {
        if (_current is not { } dictionary || Interlocked.Read(ref _compressedSince) < window || double.IsNaN(dictionary.HeldOutRatio))
        {
            return false;
        }
        var ratio = (double)Interlocked.Exchange(ref _storedBytes, 0) / Math.Max(1, Interlocked.Exchange(ref _plainBytes, 0));
        Interlocked.Exchange(ref _compressedSince, 0);
        return ratio > dictionary.HeldOutRatio * (1 + tolerance);
    }

    /// <summary>The Dictionary_ID of a zstd frame header (RFC 8878, 3.1.1.1); 0 when the frame names none.</summary>
    internal static int DictionaryIdOf(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 6 || BinaryPrimitives.ReadUInt32LittleEndian(frame) != 0xFD2FB528)
        {
            throw new InvalidDataException("A zstd payload does not start with a zstd frame.");
        }
        var descriptor = frame[4];
        var singleSegment = (descriptor & 0x20) != 0;
        var at = 5 + (singleSegment ? 0 : 1); // Window_Descriptor is absent in single-segment frames
        return (descriptor & 0x03) switch
        {
            0 => 0,
            1 => frame[at],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(frame[at..]),
            _ => (int)BinaryPrimitives.ReadUInt32LittleEndian(frame[at..]),
        };
    }
}

/// <summary>
/// A zstd dictionary trained on a store's payloads. Compressors and decompressors are not thread-safe, and loading a
/// dictionary into one costs far more than a payload: each thread keeps its own.
/// </summary>
internal sealed class PayloadDictionary
{
    // RFC 8878, 5: a dictionary starts with its magic number, then its Dictionary_ID, both little-endian.
    private const uint Magic = 0xEC30A437;

    private readonly ThreadLocal<Decompressor> _decompressor;
    private readonly ThreadLocal<Dictionary<int, Compressor>> _compressors;

    [ThreadStatic]
    private static byte[]? t_output;

    [ThreadStatic]
    private static byte[]? t_compressed;

    public PayloadDictionary(int id, byte[] content, double heldOutRatio)
    {
        if (content.Length < 8 || BinaryPrimitives.ReadUInt32LittleEndian(content) != Magic || BinaryPrimitives.ReadInt32LittleEndian(content.AsSpan(4)) != id)
        {
            throw new InvalidDataException($"Payload dictionary {id} is not a zstd dictionary with that id.");
        }
        (Id, Content, HeldOutRatio) = (id, content, heldOutRatio);
        _decompressor = new(() =>
        {
            var decompressor = new Decompressor();
            decompressor.LoadDictionary(content);
            return decompressor;
        });
        _compressors = new(() => []);
    }

    public int Id { get; }

    public byte[] Content { get; }

    /// <summary>Compressed over plain bytes of the payloads held out of its training; NaN when not measured (loaded on a miss).</summary>
    public double HeldOutRatio { get; }

    /// <summary>
    /// Trains a dictionary of at most <paramref name="capacity"/> bytes on the payloads' JSON, every fifth one held out
    /// to measure it, and gives it <paramref name="id"/>.
    /// </summary>
    public static PayloadDictionary Train(int id, IReadOnlyList<byte[]> payloads, int capacity, CompressionLevel level)
    {
        var training = payloads.Where((_, i) => i % 5 != 4).ToList();
        var content = DictBuilder.TrainFromBufferFastCover(training, FastCover, capacity).ToArray();
        // The trainer picks a random id; the store's ids are sequential, so a payload's frame names the table's row.
        BinaryPrimitives.WriteInt32LittleEndian(content.AsSpan(4), id);
        var heldOut = payloads.Where((_, i) => i % 5 == 4).ToList();
        var trial = new PayloadDictionary(id, content, double.NaN);
        var stored = heldOut.Sum(p => (long)trial.Compress(p, level).Length);
        return new PayloadDictionary(id, content, (double)stored / Math.Max(1, heldOut.Sum(p => (long)p.Length)));
    }

    /// <summary>
    /// zstd's own trainer (fastCover, d 8, f 20) with its segment size fixed instead of searched: the search trains several
    /// dictionaries to keep one. Segments of 200 bytes gave payloads within half a percent of the searched dictionary's,
    /// in 27–40 % of the time, on the shared tickets and on the bench's workload (bench/README.md, 2026-12-07,
    /// evening).
    /// </summary>
    private static readonly ZDICT_fastCover_params_t FastCover = new() { k = 200, d = 8, f = 20, accel = 1, steps = 0, splitPoint = 1.0 };

    /// <summary>GZip's levels mapped onto zstd's: fastest 1, optimal 3 (zstd's default), smallest 19.</summary>
    public byte[] Compress(ReadOnlySpan<byte> json, CompressionLevel level)
    {
        var zstdLevel = level switch
        {
            CompressionLevel.Fastest => 1,
            CompressionLevel.SmallestSize => 19,
            _ => 3,
        };
        var compressors = _compressors.Value!;
        if (!compressors.TryGetValue(zstdLevel, out var compressor))
        {
            compressor = new Compressor(zstdLevel);
            compressor.LoadDictionary(Content);
            compressors[zstdLevel] = compressor;
        }
        // Into a per-thread buffer, then copied once at its size: Wrap(json) would allocate a buffer of the worst-case
        // size (larger than the JSON) for every payload, only to copy it.
        var output = ThreadBuffer(ref t_compressed, Compressor.GetCompressBound(json.Length));
        var bytes = output.AsSpan(0, compressor.Wrap(json, output)).ToArray();
        LetLargeGo(ref t_compressed);
        return bytes;
    }

    public ReadOnlySpan<byte> Decompress(byte[] frame)
    {
        var decompressor = _decompressor.Value!;
        var size = Decompressor.GetDecompressedSize(frame);
        if (size > int.MaxValue / 2)
        {
            throw new InvalidDataException("A zstd payload declares an impossible size.");
        }
        var output = ThreadBuffer(ref t_output, (int)size);
        var written = decompressor.Unwrap(frame, output);
        LetLargeGo(ref t_output);
        return output.AsSpan(0, written);
    }

    /// <summary>The thread's buffer when it holds <paramref name="size"/> bytes, else a larger one kept in its place.</summary>
    private static byte[] ThreadBuffer(ref byte[]? kept, int size) =>
        kept is { } buffer && buffer.Length >= size ? buffer : kept = new byte[Math.Max(size, 16 * 1024)];

    /// <summary>An unusually large payload's buffer is not kept alive by the thread afterwards (the caller still holds it).</summary>
    private static void LetLargeGo(ref byte[]? kept)
    {
        if (kept is { Length: > 1 << 20 })
        {
            kept = null;
        }
    }
}
