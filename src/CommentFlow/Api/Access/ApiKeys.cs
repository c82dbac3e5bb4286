using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace CommentFlow.Api.Access;

/// <summary>The configured keys, held as SHA-256 hashes; a presented key is hashed and compared in constant time.</summary>
internal sealed class ApiKeys(IOptions<AccessOptions> options)
{
    public const string Header = "X-Api-Key";
    public const int HashHexLength = 64;

    // The prefix lets secret scanners and people recognise a CommentFlow key; 32 random bytes make guessing hopeless.
    private const string Prefix = "cf_";
    private const int RandomBytes = 32;

    private readonly (AccessKey Key, byte[] Hash)[] _keys = [.. options.Value.Keys.Select(k => (k, Convert.FromHexString(k.Hash)))];

    /// <summary>No keys configured: every caller is admin, and only loopback may be bound.</summary>
    public bool Open => _keys.Length == 0;

    public AccessKey? Find(string presented)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        AccessKey? match = null;
        // Every key is compared, without stopping at a match, so the time taken says nothing about which one matched.
        foreach (var (key, expected) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
            {
                match = key;
            }
        }
        return match;
    }

    public static string NewKey() => Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(RandomBytes));

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
