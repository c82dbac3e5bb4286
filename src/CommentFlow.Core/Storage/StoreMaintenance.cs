using System.Data.Common;
using System.IO.Compression;
using Dapper;

namespace CommentFlow.Storage;

/// <summary>Whole-table steps both stores run inside their own transaction, in SQL both accept unchanged.</summary>
internal static class StoreMaintenance
{
    /// <summary>
    /// Suggestion types live in the payloads, so the migration that adds acceptance rates counts them here (into the table
    /// of that migration's time; migration 0005 moves its rows into shard 0).
    /// </summary>
    public static async Task BackfillShownTypesAsync(DbConnection connection, DbTransaction tx, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, long>();
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = tx;
            command.CommandText = "SELECT payload_encoding, payload FROM samples";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                // INTEGER in SQLite, smallint in PostgreSQL.
                var encoding = Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture);
                foreach (var suggestion in SamplePayload.Decode(reader.GetFieldValue<byte[]>(1), encoding).Suggestions)
                {
                    var type = StatsDelta.ShownTypeOf(suggestion.Type);
                    counts[type] = counts.GetValueOrDefault(type) + 1;
                }
            }
        }
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO stats_counts (dimension, value, count) VALUES (@Dimension, @Value, @Count)",
            counts.Select(c => new { Dimension = StatsDelta.ShownType, Value = c.Key, Count = c.Value }), tx, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Inside a batch's write transaction, for a batch prepared before compression was known to be on: whether its
    /// payloads go in compressed. Compression turns on once the store, with this batch, holds
    /// <see cref="StorageOptions.CompressionThreshold"/> samples; the stored payloads are then converted in the same
    /// transaction. Compressed payloads come back in a new array: the prepared batch stays as it was, should this attempt
    /// fail and be retried. <c>Converted</c> is set only when this batch turned compression on.
    /// </summary>
    public static async Task<(bool Compressed, byte[]?[] Payloads, int[] Encodings, int? Converted)> CompressionForBatchAsync(DbConnection connection,
        DbTransaction tx, long held, BatchPreparation.Prepared prepared, PayloadCodec codec, StorageOptions options, CancellationToken cancellationToken)
    {
        var on = await connection.ExecuteScalarAsync<string>(new CommandDefinition(
            "SELECT value FROM store_meta WHERE key = 'compressed'", transaction: tx, cancellationToken: cancellationToken)) == "1";
        if (!on && held + prepared.Samples.Count < options.CompressionThreshold)
        {
            return (false, prepared.Payloads, prepared.Encodings, null);
        }
        // Prepared before compression was known to be on: every sample was prepared (BatchPreparation).
        var compressed = prepared.Payloads.Select(p => codec.Compress(p!, options.GzipLevel)).ToList();
        return (true, [.. compressed.Select(c => c.Bytes)], [.. compressed.Select(c => c.Encoding)],
            on ? null : await CompressExistingAsync(connection, tx, options.GzipLevel, cancellationToken));
    }

    /// <summary>Turns the existing plain payloads into GZip ones and records that compression is on.</summary>
    public static async Task<int> CompressExistingAsync(DbConnection connection, DbTransaction tx, CompressionLevel level, CancellationToken cancellationToken)
    {
        var plain = (await connection.QueryAsync<(long Id, byte[] Payload)>(new CommandDefinition(
            "SELECT id, payload FROM samples WHERE payload_encoding = 0", transaction: tx, cancellationToken: cancellationToken))).ToList();
        foreach (var (id, payload) in plain)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE samples SET payload = @payload, payload_encoding = 1 WHERE id = @id",
                new { id, payload = SamplePayload.Compress(payload, level) }, tx, cancellationToken: cancellationToken));
        }
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE store_meta SET value = '1' WHERE key = 'compressed'", transaction: tx, cancellationToken: cancellationToken));
        return plain.Count;
    }
}
