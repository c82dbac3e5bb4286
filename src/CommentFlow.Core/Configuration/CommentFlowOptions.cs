using System.ComponentModel.DataAnnotations;

namespace CommentFlow.Configuration;

/// <summary>The top of the <c>CommentFlow</c> configuration section.</summary>
internal sealed class CommentFlowOptions
{
    public const string Section = "CommentFlow";

    /// <summary>Where the store, exports and models live. Relative paths are resolved against the working directory.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DataDir { get; set; } = "./data";

    /// <summary>
    /// <c>auto</c>: <c>hybrid</c> once an own model is active, before that Ollama when it is up, else rules.
    /// <c>hybrid</c>: the own model when confident enough, else Ollama, else the own model anyway, else rules.
    /// <c>local</c>: the own model, rules as the fallback. <c>ollama</c>: Ollama, rules as the fallback. <c>rules</c>: rules only.
    /// </summary>
    [Required, AllowedValues(EngineModes.Auto, EngineModes.Hybrid, EngineModes.Local, EngineModes.Ollama, EngineModes.Rules)]
    public string Engine { get; set; } = EngineModes.Auto;

    public string ResolveDataDir() => Path.GetFullPath(DataDir);

    /// <summary>Model versions, their registry, the saved split, evaluations and the training export.</summary>
    public string ResolveModelsDir() => Path.Combine(ResolveDataDir(), "ml_models");

    /// <summary>Frozen cleaned datasets that models are trained from (<c>commentflow dataset snapshot</c>).</summary>
    public string ResolveSnapshotsDir() => Path.Combine(ResolveDataDir(), "snapshots");
}

internal static class EngineModes
{
    public const string Auto = "auto";
    public const string Hybrid = "hybrid";
    public const string Local = "local";
    public const string Ollama = "ollama";
    public const string Rules = "rules";
}
