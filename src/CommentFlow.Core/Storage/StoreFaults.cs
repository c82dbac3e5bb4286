using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CommentFlow.Storage;

/// <summary>
/// Tells a write that failed for what the samples hold from one that failed because the store could not be written
/// (connection, lock, disk full): the first is split to find the sample and quarantine it, the second retried as a whole.
/// Only failures known to come from the data count as content; anything else is retried, as before.
/// </summary>
internal static class StoreFaults
{
    // SQLite result codes for data the database refuses: TOOBIG, CONSTRAINT, MISMATCH, RANGE.
    private static readonly int[] SqliteContentCodes = [18, 19, 20, 25];

    public static bool IsContentFault(Exception error) => error switch
    {
        SqliteException sqlite => SqliteContentCodes.Contains(sqlite.SqliteErrorCode),
        // Classes 22 (data exception: a value the type refuses, a NUL in text), 23 (integrity constraint), 54 (program limit: too large).
        PostgresException postgres => postgres.SqlState.StartsWith("22", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("23", StringComparison.Ordinal) || postgres.SqlState.StartsWith("54", StringComparison.Ordinal),
        // Raised while masking or encoding a sample, before the store is reached.
        JsonException or ArgumentException or InvalidDataException => true,
        _ => false,
    };
}
