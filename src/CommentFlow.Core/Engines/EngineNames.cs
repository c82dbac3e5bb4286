namespace CommentFlow.Engines;

internal static class EngineNames
{
    public const string Ollama = "ollama";
    public const string Rules = "rules";
    public const string Local = "local";
}
