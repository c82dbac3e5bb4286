namespace CommentFlow.OwnModel;

/// <summary>
/// The served path's scratch arrays, kept by each thread between requests so that a request allocates only what it
/// returns: the array a thread keeps when it is long enough, else a new one (twice the old length when it grows, so a
/// few long requests do not reallocate each time) kept in its place. Its contents are whatever the last use left.
/// </summary>
internal static class PerThread
{
    public static T[] Buffer<T>(ref T[]? kept, int length) =>
        kept is { } buffer && buffer.Length >= length ? buffer : kept = new T[Math.Max(length, 2 * (kept?.Length ?? 0))];
}
