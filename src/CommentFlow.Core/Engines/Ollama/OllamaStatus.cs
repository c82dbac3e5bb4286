namespace CommentFlow.Engines.Ollama;

internal enum OllamaState
{
    Unknown,
    Up,
    Down,
    ModelMissing,
}

/// <summary>
/// The last known state of Ollama, written by <see cref="OllamaMonitor"/> (and by the engine when a call shows it is down)
/// and read lock-free on the request path.
/// </summary>
internal sealed class OllamaStatus(TimeProvider time)
{
    private volatile Snapshot _current = new(OllamaState.Unknown, null, [], null, false);

    public Snapshot Current => _current;

    public bool IsAvailable => _current.State == OllamaState.Up;

    internal void Set(OllamaState state, string? error, IReadOnlyList<string> models) =>
        _current = _current with { State = state, Error = error, Models = models, CheckedAt = time.GetUtcNow() };

    internal void MarkDown(string error) => _current = _current with { State = OllamaState.Down, Error = error, CheckedAt = time.GetUtcNow() };

    internal void MarkWarmedUp() => _current = _current with { WarmedUp = true };

    public sealed record Snapshot(OllamaState State, string? Error, IReadOnlyList<string> Models, DateTimeOffset? CheckedAt, bool WarmedUp)
    {
        public string StateName => State switch
        {
            OllamaState.Up => "up",
            OllamaState.Down => "down",
            OllamaState.ModelMissing => "model_missing",
            _ => "unknown",
        };
    }
}
