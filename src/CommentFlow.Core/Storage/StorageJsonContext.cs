using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CommentFlow.Storage;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SamplePayload))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class StorageJsonContext : JsonSerializerContext
{
    /// <summary>
    /// How <see cref="SamplePayload.Utf8Json"/> writes: text kept as UTF-8 (only quotes, backslashes and control
    /// characters escaped). The default encoder writes every non-ASCII character as a six-byte <c>\uXXXX</c>, which a
    /// multilingual store compresses and an export unescapes. Payloads written before read the same: JSON is JSON.
    /// </summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };
}
