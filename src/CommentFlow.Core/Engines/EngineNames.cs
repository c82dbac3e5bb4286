namespace CommentFlow.Engines;

internal static class EngineNames
{
    public const string Ollama = "ollama";
    public const string Rules = "rules";
    public const string Local = "local";

    /// <summary>No engine: a reply an agent posted in Jira, kept as the answer to the ticket as it was (model "agent" too).</summary>
    public const string Agent = "agent";
}
