using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CommentFlow.Tests.Fakes;

public enum OllamaFault
{
    None,
    Slow,
    ServerError,
    ModelNotFound,
    MalformedJson,
    EmptyContent,
    NotJsonContent,
    InvalidSuggestions,
    DropConnection,
    ErrorMidStream,
}

/// <summary>
/// A fake Ollama on 127.0.0.1 speaking the documented wire protocol: <c>GET /api/tags</c> and <c>POST /api/chat</c>,
/// streamed (NDJSON, one chunk per line, a final <c>done:true</c>) or not, with the faults real servers show.
/// </summary>
public sealed class FakeOllama : IAsyncDisposable
{
    private WebApplication _app = null!;

    public string Url { get; private set; } = "";
    public OllamaFault Fault { get; set; }
    public TimeSpan SlowDelay { get; set; } = TimeSpan.FromSeconds(10);
    public string ModelName { get; set; } = "llama3.2:latest";

    /// <summary>The JSON the model "writes"; by default three valid suggestions.</summary>
    public string Content { get; set; } =
        """{"suggestions":[{"text":"¿Puede enviar una captura del error?","type":"diagnostic","confidence":0.9},{"text":"Reviso los logs del servidor web.","type":"action","confidence":0.8},{"text":"Cerramos el ticket cuando confirme que funciona.","type":"resolution","confidence":0.6}]}""";

    public ConcurrentQueue<JsonObject> ChatRequests { get; } = new();
    public int TagRequests => _tagRequests;
    private int _tagRequests;

    public static async Task<FakeOllama> StartAsync()
    {
        var fake = new FakeOllama();
        (fake._app, fake.Url) = await LoopbackApp.StartAsync(app =>
        {
            app.MapGet("/api/tags", fake.TagsAsync);
            app.MapPost("/api/chat", fake.ChatAsync);
        });
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task TagsAsync(HttpContext context)
    {
        Interlocked.Increment(ref _tagRequests);
        await context.Response.WriteAsJsonAsync(new
        {
            models = new[]
            {
                new
                {
                    name = ModelName, model = ModelName, modified_at = "2025-11-02T10:00:00.000000Z", size = 2019393189L,
                    digest = "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
                    details = new { format = "gguf", family = "llama", families = new[] { "llama" }, parameter_size = "3.2B", quantization_level = "Q4_K_M" },
                },
            },
        });
    }

    private async Task ChatAsync(HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        ChatRequests.Enqueue(body);
        var model = body["model"]?.GetValue<string>() ?? "";
        var stream = body["stream"]?.GetValue<bool>() ?? true; // Ollama streams unless told not to

        switch (Fault)
        {
            case OllamaFault.Slow:
                await Task.Delay(SlowDelay, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                if (context.RequestAborted.IsCancellationRequested)
                {
                    return;
                }
                break;
            case OllamaFault.ServerError:
                context.Response.StatusCode = 500;
                await context.Response.WriteAsJsonAsync(new { error = "llama runner process has terminated: signal: killed" });
                return;
            case OllamaFault.ModelNotFound:
                context.Response.StatusCode = 404;
                await context.Response.WriteAsJsonAsync(new { error = $"model \"{model}\" not found, try pulling it first" });
                return;
            case OllamaFault.MalformedJson:
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"{\\\"sugg");
                return;
            case OllamaFault.DropConnection:
                context.Abort();
                return;
        }

        var content = Fault switch
        {
            OllamaFault.EmptyContent => "",
            OllamaFault.NotJsonContent => "Sure! Here are some ideas: ask for logs, restart the server.",
            OllamaFault.InvalidSuggestions => """{"suggestions":[{"text":"","type":"action","confidence":0.5},{"text":"x","type":"escalation","confidence":0.5},{"text":"y","type":"action","confidence":7}]}""",
            _ => Content,
        };

        if (!stream)
        {
            await context.Response.WriteAsJsonAsync(Final(model, content));
            return;
        }

        context.Response.ContentType = "application/x-ndjson";
        var pieces = Chunk(content, 12).ToList();
        for (var i = 0; i < pieces.Count; i++)
        {
            if (Fault == OllamaFault.ErrorMidStream && i == pieces.Count / 2)
            {
                await WriteLineAsync(context, new JsonObject { ["error"] = "an error was encountered while running the model: unexpected EOF" });
                return;
            }
            await WriteLineAsync(context, new JsonObject
            {
                ["model"] = model,
                ["created_at"] = "2026-11-24T08:00:00.000000Z",
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = pieces[i] },
                ["done"] = false,
            });
        }
        var final = Final(model, "");
        await WriteLineAsync(context, final);
    }

    private static JsonObject Final(string model, string content) => new()
    {
        ["model"] = model,
        ["created_at"] = "2026-11-24T08:00:00.000000Z",
        ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
        ["done"] = true,
        ["done_reason"] = "stop",
        ["total_duration"] = 4_883_583_458L,
        ["load_duration"] = 1_334_875L,
        ["prompt_eval_count"] = 26,
        ["prompt_eval_duration"] = 342_546_000L,
        ["eval_count"] = 282,
        ["eval_duration"] = 4_535_599_000L,
    };

    private static async Task WriteLineAsync(HttpContext context, JsonObject line)
    {
        await context.Response.WriteAsync(line.ToJsonString() + "\n", Encoding.UTF8);
        await context.Response.Body.FlushAsync();
    }

    private static IEnumerable<string> Chunk(string text, int size)
    {
        for (var i = 0; i < text.Length; i += size)
        {
            yield return text.Substring(i, Math.Min(size, text.Length - i));
        }
    }
}
