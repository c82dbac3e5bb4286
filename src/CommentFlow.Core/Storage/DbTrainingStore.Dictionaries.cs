using System.Data.Common;
using System.Diagnostics;
using Dapper;

namespace CommentFlow.Storage;

/// <summary>
/// The store's zstd dictionaries. Once compression is on and the store holds <see cref="StorageOptions.DictionaryFrom"/>
/// samples, a dictionary is trained on its most recent payloads outside any transaction and committed in a short one
/// that capture batches do not wait for; new payloads are compressed with it and the GZip ones converted in batches,
/// one short transaction each (while the first one trains, new payloads are stored plain and converted the same way:
/// see <see cref="PayloadCodec.DictionaryComing"/>). A dictionary is
/// committed before any payload naming it, and each row's payload and encoding change together, so a kill -9 at any
/// point leaves only rows that read. A newer dictionary is trained when payloads compress worse than the current one did
/// on the payloads held out of its training (measured over <see cref="DriftWindow"/> payloads), never on a timer; older
/// payloads keep their dictionary.
/// </summary>
internal abstract partial class DbTrainingStore
{
    /// <summary>The most recent payloads a dictionary is trained on (zstd wants ~100× the dictionary's size; this is ~50×).</summary>
    internal const int TrainingPayloads = 5_000;

    /// <summary>zstd's default dictionary size: larger ones measured little smaller payloads on the shared tickets.</summary>
    internal const int DictionaryBytes = 112_640;

    internal const int DriftWindow = 5_000;

    /// <summary>Payloads compressing this much worse than the held-out ones did (a quarter) mean the data has drifted.</summary>
    internal const double DriftTolerance = 0.25;

    /// <summary>Rows rewritten per transaction: small, so a capture batch that meets one of them waits a few milliseconds at most.</summary>
    private const int ConvertBatch = 250;

    /// <summary>For tests: awaited by the dictionary work before it trains, payloads meanwhile stored as while it trains.</summary>
    internal Func<Task>? BeforeTraining { get; set; }

    /// <summary>The dictionary work in flight, or a completed task: tests and the bench wait on it.</summary>
    internal Task DictionaryWork => Volatile.Read(ref _dictionaryWork) ?? Task.CompletedTask;

    /// <summary>Reads the store's dictionaries and its size; both stores call it at the end of their MigrateAsync.</summary>
    protected async Task LoadDictionariesAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<(int Id, byte[] Content, double HeldOutRatio)>(new CommandDefinition(
            "SELECT id, content, held_out_ratio FROM payload_dictionaries", cancellationToken: cancellationToken));
        foreach (var (id, content, ratio) in rows)
        {
            Codec.Add(new PayloadDictionary(id, content, ratio));
        }
        Interlocked.Exchange(ref _held, await connection.ExecuteScalarAsync<long>(new CommandDefinition(StatsDelta.SamplesSql, cancellationToken: cancellationToken)));
        _compressedKnown |= await connection.ExecuteScalarAsync<string>(new CommandDefinition(
            "SELECT value FROM store_meta WHERE key = 'compressed'", cancellationToken: cancellationToken)) == "1";
        StartDictionaryWorkWhenDue();
    }

    // A payload written by another instance after this one loaded its dictionaries. Synchronous because decoding is (it
    // runs on the export's decoding threads); it happens once per dictionary.
    private byte[]? LoadDictionary(int id)
    {
        using var connection = ConnectAsync(CancellationToken.None).GetAwaiter().GetResult();
        return connection.ExecuteScalar<byte[]?>("SELECT content FROM payload_dictionaries WHERE id = @id", new { id });
    }

    private void StartDictionaryWorkWhenDue()
    {
        if (Options.DictionaryFrom == 0 || !_compressedKnown || _dictionaryWork is { IsCompleted: false }
            || Interlocked.Read(ref _held) < Interlocked.Read(ref _dictionaryRetryFrom))
        {
            return;
        }
        var train = Codec.Current is null ? Interlocked.Read(ref _held) >= Options.DictionaryFrom : Codec.Drifted(DriftWindow, DriftTolerance);
        var convert = _unconvertedAfterDictionary;
        if (train || convert)
        {
            _unconvertedAfterDictionary = false;
            Codec.DictionaryComing = train;
            // A background failure is logged and tried again once DictionaryFrom more samples are held (training costs
            // ~0.2 s of CPU: not at every batch); capture goes on with the codec it has.
            _dictionaryWork = Task.Run(async () =>
            {
                try
                {
                    if (train)
                    {
                        try
                        {
                            if (BeforeTraining is { } pause)
                            {
                                await pause();
                            }
                            await TrainDictionaryAsync(CancellationToken.None);
                        }
                        finally
                        {
                            // Trained (payloads now zstd) or not (GZip again): what was stored plain meanwhile stays readable.
                            Codec.DictionaryComing = false;
                        }
                    }
                    await ConvertToDictionaryAsync(CancellationToken.None);
                }
                catch (Exception e)
                {
                    Interlocked.Exchange(ref _dictionaryRetryFrom, Interlocked.Read(ref _held) + Options.DictionaryFrom);
                    _unconvertedAfterDictionary |= convert;
                    OnDictionaryFailed(e);
                }
            });
        }
    }

    /// <summary>
    /// Trains a dictionary on the store's most recent payloads and makes it current; if another instance committed one
    /// meanwhile, that one is taken instead. Null when the store holds too few payloads to train on.
    /// </summary>
    internal async Task<PayloadDictionary?> TrainDictionaryAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var payloads = new List<byte[]>(TrainingPayloads);
        await using (var connection = await ConnectAsync(cancellationToken))
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT payload_encoding, payload FROM samples ORDER BY id DESC LIMIT {TrainingPayloads}";
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    var encoding = Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture); // INTEGER / smallint
                    payloads.Add(Codec.Decompress(reader.GetFieldValue<byte[]>(1), encoding).ToArray());
                }
            }
            // Where most samples are archived, the newest blocks make up the rest (their payloads are plain JSON).
            foreach (var block in payloads.Count < TrainingPayloads ? await BlocksAsync(connection, null, newestFirst: true, cancellationToken) : [])
            {
                payloads.AddRange(Enumerable.Reverse(await ReadBlockAsync(connection, null, block, cancellationToken)).Take(TrainingPayloads - payloads.Count).Select(r => r.Payload));
                if (payloads.Count >= TrainingPayloads)
                {
                    break;
                }
            }
        }
        if (payloads.Count < 10)
        {
            return null;
        }
        var id = (Codec.Current?.Id ?? PayloadCodec.FirstDictionaryId - 1) + 1;
        var trained = PayloadDictionary.Train(id, payloads, DictionaryBytes, Options.GzipLevel);

        // Only the dictionaries table is written: capture batches go on meanwhile. Two instances that trained at once both
        // insert the next id; the second's insert does nothing (the key is taken) and it uses the first's dictionary.
        await using (var connection = await ConnectAsync(cancellationToken))
        await using (var tx = await BeginWriteAsync(connection, exclusive: false, cancellationToken))
        {
            var newest = await connection.ExecuteScalarAsync<int?>(new CommandDefinition(
                "SELECT MAX(id) FROM payload_dictionaries", transaction: tx, cancellationToken: cancellationToken));
            if (newest >= id || !await InsertDictionaryAsync(connection, tx, trained, payloads.Count, cancellationToken))
            {
                var theirs = await connection.QuerySingleAsync<(int Id, byte[] Content, double HeldOutRatio)>(new CommandDefinition(
                    "SELECT id, content, held_out_ratio FROM payload_dictionaries ORDER BY id DESC LIMIT 1", transaction: tx, cancellationToken: cancellationToken));
                await tx.CommitAsync(cancellationToken);
                var current = new PayloadDictionary(theirs.Id, theirs.Content, theirs.HeldOutRatio);
                Codec.Add(current);
                return current;
            }
            await tx.CommitAsync(cancellationToken);
        }
        Codec.Add(trained);
        OnDictionaryTrained(id, payloads.Count, trained.HeldOutRatio, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return trained;
    }

    /// <summary>
    /// <c>migrate</c>: takes another store's dictionary, under its id, when this store has none yet; true when it did.
    /// </summary>
    internal async Task<bool> AdoptDictionaryAsync(PayloadDictionary dictionary, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        await using var tx = await BeginWriteAsync(connection, exclusive: true, cancellationToken);
        if (await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM payload_dictionaries", transaction: tx, cancellationToken: cancellationToken)) > 0)
        {
            return false;
        }
        await InsertDictionaryAsync(connection, tx, dictionary, trainedOn: 0, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        Codec.Add(dictionary);
        return true;
    }

    /// <summary>False when the id was taken meanwhile (another instance's dictionary); nothing is inserted then.</summary>
    /// <param name="trainedOn">Payloads it was trained on here; 0 for one carried from another store.</param>
    private async Task<bool> InsertDictionaryAsync(DbConnection connection, DbTransaction tx, PayloadDictionary dictionary, int trainedOn, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO payload_dictionaries (id, created_at, trained_on, held_out_ratio, content)
            VALUES (@id, @created, @trainedOn, @ratio, @content) ON CONFLICT (id) DO NOTHING
            """, new { id = dictionary.Id, created = TimestampValue(Time.GetUtcNow()), trainedOn, ratio = dictionary.HeldOutRatio, content = dictionary.Content },
            tx, cancellationToken: cancellationToken)) == 1;

    /// <summary>
    /// Re-encodes the GZip and plain payloads (compression is on: plain ones were stored while the dictionary trained) with
    /// the current dictionary, <see cref="ConvertBatch"/> rows at a time. The rows are read and compressed outside any
    /// transaction; only the rewrite takes one (the writers' lock shared, as a batch does), so a capture batch inserting a
    /// duplicate of a row being rewritten waits a moment at most. Once compression is on, a payload that is not zstd never
    /// changes until it is converted, so a rewrite that finds its row still unconverted writes what was read. Returns how many.
    /// </summary>
    internal async Task<int> ConvertToDictionaryAsync(CancellationToken cancellationToken)
    {
        if (Codec.Current is not { } dictionary)
        {
            return 0;
        }
        var converted = 0;
        long after = 0;
        while (true)
        {
            await using var connection = await ConnectAsync(cancellationToken);
            var rows = (await connection.QueryAsync<(long Id, int Encoding, byte[] Payload)>(new CommandDefinition(
                $"SELECT id, CAST(payload_encoding AS integer), payload FROM samples WHERE payload_encoding <> {PayloadCodec.Zstd} AND id > @after ORDER BY id LIMIT {ConvertBatch}",
                new { after }, cancellationToken: cancellationToken))).ToList();
            if (rows.Count == 0)
            {
                break;
            }
            var ids = rows.Select(r => r.Id).ToArray();
            var payloads = rows.Select(r => dictionary.Compress(SamplePayload.Unpack(r.Payload, r.Encoding), Options.GzipLevel)).ToArray();
            await using (var tx = await BeginWriteAsync(connection, exclusive: false, cancellationToken))
            {
                converted += await RewriteUnconvertedPayloadsAsync(connection, tx, ids, payloads, cancellationToken);
                await tx.CommitAsync(cancellationToken);
            }
            after = ids[^1];
        }
        if (converted > 0)
        {
            OnDictionaryConverted(dictionary.Id, converted);
        }
        return converted;
    }

    /// <summary>
    /// Replaces the payloads of the rows still not zstd with the given zstd ones, inside <paramref name="tx"/>; returns how
    /// many rows it rewrote. Row by row here (SQLite: one writer, no round trips).
    /// </summary>
    protected virtual async Task<int> RewriteUnconvertedPayloadsAsync(DbConnection connection, DbTransaction tx, long[] ids, byte[][] payloads, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE samples SET payload = @payload, payload_encoding = {PayloadCodec.Zstd} WHERE id = @id AND payload_encoding <> {PayloadCodec.Zstd}",
            ids.Select((id, i) => new { id, payload = payloads[i] }), tx, cancellationToken: cancellationToken));
}
