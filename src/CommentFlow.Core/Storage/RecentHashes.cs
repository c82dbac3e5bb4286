using System.Globalization;

namespace CommentFlow.Storage;

/// <summary>
/// The context hashes this instance last wrote or found stored, the oldest forgotten first, so that a repeat (the same
/// ticket asked about again) is not masked and compressed only for the insert to skip it: a fifth of the bench's
/// requests, ~40 µs of CPU each. A hint, never the truth: a hash may have been erased since, or two hashes share a key
/// (64 bits of one), so the write checks the samples it leaves unprepared under the writers' lock and prepares there
/// the few that turn out not to be stored. 65,536 keys take ~2 MB.
/// </summary>
internal sealed class RecentHashes(int capacity = RecentHashes.DefaultCapacity)
{
    public const int DefaultCapacity = 65_536;

    private readonly Lock _lock = new();
    private readonly HashSet<ulong> _keys = new(capacity);
    private readonly ulong[] _order = new ulong[capacity];
    private int _oldest;

    public bool Contains(string hash)
    {
        var key = Key(hash);
        lock (_lock)
        {
            return _keys.Contains(key);
        }
    }

    public void Add(IEnumerable<string> hashes)
    {
        lock (_lock)
        {
            foreach (var hash in hashes)
            {
                var key = Key(hash);
                if (!_keys.Add(key))
                {
                    continue;
                }
                // Full: the oldest key makes room (each key is in _order once, where it was added).
                if (_keys.Count > capacity)
                {
                    _keys.Remove(_order[_oldest]);
                }
                _order[_oldest] = key;
                _oldest = (_oldest + 1) % capacity;
            }
        }
    }

    // An MD5 in hex (every hash the service computes): its first 64 bits; any other string: its own hash code.
    private static ulong Key(string hash) =>
        hash.Length >= 16 && ulong.TryParse(hash.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var key)
            ? key
            : (ulong)(uint)hash.GetHashCode(StringComparison.Ordinal);
}
