using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CommentFlow.Api;

/// <summary>
/// Reads a JSON body ourselves rather than through parameter binding, so every way a body can be wrong
/// (too large, not JSON, invalid UTF-8, a field of the wrong type) becomes a 400 problem that names the field; then
/// checks it with the endpoint's validation, whose refusals are the same kind of 400. Every handler with a JSON body uses
/// it, except Jira's webhook, which must check the signature over the raw bytes first.
/// </summary>
internal static class JsonBody
{
    public const int MaxBytes = 1 << 20;

    /// <summary>The body read and checked by <paramref name="validate"/>, which turns it into what the handler works with.</summary>
    public static async Task<JsonInput<TValid>> ReadAsync<TBody, TValid>(HttpRequest request, JsonTypeInfo<TBody> typeInfo,
        Func<TBody, (TValid? Valid, Dictionary<string, string[]>? Errors)> validate, string invalidTitle, CancellationToken cancellationToken)
        where TBody : class where TValid : class
    {
        var read = await ReadAsync(request, typeInfo, invalidTitle, cancellationToken);
        return read.TryGet(out var body, out var problem) ? Check(body, validate, invalidTitle) : JsonInput<TValid>.Refused(problem);
    }

    /// <summary>The body read, not yet checked: for a handler that completes it first (a suggestion by ticket key reads Jira).</summary>
    public static async Task<JsonInput<T>> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo, string invalidTitle,
        CancellationToken cancellationToken) where T : class
    {
        var (value, errors) = await ReadValueAsync(request, typeInfo, cancellationToken);
        return errors is null ? JsonInput<T>.Of(value!) : JsonInput<T>.Refused(TypedResults.ValidationProblem(errors, title: invalidTitle));
    }

    public static JsonInput<TValid> Check<TBody, TValid>(TBody body, Func<TBody, (TValid? Valid, Dictionary<string, string[]>? Errors)> validate,
        string invalidTitle) where TValid : class
    {
        var (valid, errors) = validate(body);
        return errors is null && valid is not null
            ? JsonInput<TValid>.Of(valid)
            : JsonInput<TValid>.Refused(TypedResults.ValidationProblem(errors ?? Error("body", "The request is invalid."), title: invalidTitle));
    }

    private static async Task<(T? Value, Dictionary<string, string[]>? Errors)> ReadValueAsync<T>(
        HttpRequest request, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken) where T : class
    {
        if (request.ContentLength > MaxBytes)
        {
            return (null, Error("body", $"The body is larger than {MaxBytes} bytes (1 MiB)."));
        }

        var buffer = ArrayPool<byte>.Shared.Rent(request.ContentLength is > 0 and var n ? (int)n + 1 : 16 * 1024);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, MaxBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, MaxBytes + 1) - length), cancellationToken);
                if (read == 0)
                {
                    break;
                }
                length += read;
                if (length > MaxBytes)
                {
                    return (null, Error("body", $"The body is larger than {MaxBytes} bytes (1 MiB)."));
                }
            }

            if (length == 0)
            {
                return (null, Error("body", "A JSON object is required."));
            }
            try
            {
                var value = JsonSerializer.Deserialize(buffer.AsSpan(0, length), typeInfo);
                return value is null ? (null, Error("body", "A JSON object is required, not null.")) : (value, null);
            }
            catch (JsonException ex)
            {
                // The serializer's message says what was expected and where (line, byte); the field is the JSON path.
                return (null, Error(FieldOf(ex.Path), ex.Path is null or "$" ? $"The body is not a valid JSON object: {ex.Message}" : ex.Message));
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or NotSupportedException)
            {
                // Invalid UTF-8 inside a string surfaces as a transcoding error rather than a JsonException.
                return (null, Error("body", "The body is not valid UTF-8 JSON."));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static Dictionary<string, string[]> Error(string field, string message) => new() { [field] = [message] };

    // "$.all_comments[2]" -> "all_comments[2]"; "$" or null -> "body".
    private static string FieldOf(string? path) => path is null or "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;
}

/// <summary>A request body read and checked: the value the handler works with, or the 400 problem that answers the request.</summary>
internal sealed class JsonInput<T> where T : class
{
    private readonly T? _value;
    private readonly ValidationProblem? _problem;

    private JsonInput(T? value, ValidationProblem? problem) => (_value, _problem) = (value, problem);

    public static JsonInput<T> Of(T value) => new(value, null);

    public static JsonInput<T> Refused(ValidationProblem problem) => new(null, problem);

    public bool TryGet([NotNullWhen(true)] out T? value, [NotNullWhen(false)] out ValidationProblem? problem)
    {
        if (_problem is null)
        {
            (value, problem) = (_value!, null);
            return true;
        }
        (value, problem) = (null, _problem);
        return false;
    }
}
