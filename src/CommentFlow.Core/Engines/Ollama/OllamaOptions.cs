using System.ComponentModel.DataAnnotations;

namespace CommentFlow.Engines.Ollama;

internal sealed class OllamaOptions
{
    public const string Section = "CommentFlow:Ollama";

    [Required, Url]
    public string Url { get; set; } = "http://127.0.0.1:11434";

    [Required(AllowEmptyStrings = false)]
    public string Model { get; set; } = "llama3.2";

    /// <summary>Longest a generation may take before the request falls back to the next engine.</summary>
    [Range(1, 600)]
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>Send a short request when Ollama is first seen up, so the first user does not wait for the model to load.</summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>Start <c>ollama serve</c> when the binary is on the PATH and nothing listens at <see cref="Url"/>.</summary>
    public bool AutoStart { get; set; }

    /// <summary>How often <c>/api/tags</c> is polled; requests read the last result and never wait for a probe.</summary>
    [Range(1, 3_600)]
    public int StatusIntervalSeconds { get; set; } = 5;

    /// <summary>Sampling temperature; low keeps suggestions sober and repeatable.</summary>
    [Range(0.0, 2.0)]
    public double Temperature { get; set; } = 0.2;

    /// <summary>
    /// Past tickets of the active own model shown in the prompt with the replies the team kept, nearest first, so the LLM
    /// writes like the team and knows its real fixes; 0 leaves them out. Without an own model there are none.
    /// </summary>
    [Range(0, 10)]
    public int Examples { get; set; } = 3;
}
