using System.Text.Json.Serialization;

namespace CommentFlow.Storage;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SamplePayload))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
