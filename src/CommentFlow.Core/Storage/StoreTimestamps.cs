using System.Globalization;

namespace CommentFlow.Storage;

/// <summary>
/// Timestamps as text: fixed-width ISO 8601 UTC with microseconds, so comparing the strings compares the times. SQLite keeps
/// every timestamp so; both stores keep <c>store_meta</c>'s so.
/// </summary>
internal static class StoreTimestamps
{
    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset Parse(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
