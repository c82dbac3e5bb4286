using CommentFlow.OwnModel;
using System.Net;
using System.Text.Json;
using CommentFlow.Domain;
using CommentFlow.Engines.Local;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OllamaSharp.Models.Exceptions;

namespace CommentFlow.Engines.Ollama;

/// <summary>
/// Suggestions from a local LLM through <see cref="IChatClient"/> (OllamaSharp), non-streamed: a streamed answer that
/// breaks off mid-way raises nothing, so we take the whole answer and validate it. When an own model is active, the prompt
/// carries its nearest past tickets with the team's replies (<see cref="OllamaExamples"/>).
/// </summary>
internal sealed partial class OllamaEngine(
    IChatClient chat,
    OllamaStatus status,
    LocalModelHost models,
    IOptions<OllamaOptions> options,
    ILogger<OllamaEngine> logger) : ISuggestionEngine
{
    public string Name => EngineNames.Ollama;

    public string Model => options.Value.Model;

    public async Task<EngineResult> SuggestAsync(TicketContext context, int maxSuggestions, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.TimeoutSeconds));
        var chatOptions = new ChatOptions
        {
            ModelId = Model,
            Temperature = (float)options.Value.Temperature,
            ResponseFormat = ChatResponseFormat.ForJsonSchema(OllamaPrompt.Schema, "suggestions"),
        };

        var examples = OllamaExamples.Select(models.Current, context, options.Value.Examples);
        string? text;
        try
        {
            var response = await chat.GetResponseAsync(OllamaPrompt.Build(context, maxSuggestions, examples), chatOptions, timeout.Token);
            text = response.Text;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Fail(FailureReasons.Timeout, null);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError)
        {
            status.MarkDown(ex.Message);
            return Fail(FailureReasons.ConnectionError, ex);
        }
        catch (HttpRequestException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return Fail(FailureReasons.ModelError, ex);
        }
        catch (HttpRequestException ex)
        {
            return Fail(ex.StatusCode is null ? FailureReasons.ConnectionError : FailureReasons.HttpError, ex);
        }
        catch (OllamaException ex)
        {
            return Fail(FailureReasons.ModelError, ex);
        }
        catch (Exception ex) when (ex is JsonException or IOException or InvalidOperationException or NotSupportedException)
        {
            // A body that is not Ollama's JSON, or a connection dropped while reading it.
            return Fail(FailureReasons.MalformedResponse, ex);
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            return Fail(FailureReasons.EmptyResponse, null);
        }
        var suggestions = OllamaPrompt.Parse(text, maxSuggestions);
        if (suggestions is null)
        {
            return Fail(FailureReasons.MalformedResponse, null);
        }
        if (suggestions.Count == 0)
        {
            return Fail(FailureReasons.InvalidOutput, null);
        }
        return new EngineResult { Engine = Name, Model = Model, Suggestions = suggestions };
    }

    private EngineResult Fail(string reason, Exception? exception)
    {
        LogFailed(logger, exception, reason, Model);
        return EngineResult.Failed(Name, Model, reason);
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Ollama gave no usable answer ({Reason}, model {Model})")]
    private static partial void LogFailed(ILogger logger, Exception? exception, string reason, string model);
}
