using System.ComponentModel.DataAnnotations;

namespace CommentFlow.Configuration;

/// <summary>The top of the <c>CommentFlow</c> configuration section.</summary>
internal sealed class CommentFlowOptions : IValidatableObject
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

    /// <summary>
    /// Model versions, their registry, the saved split, evaluations and the training export. Empty means
    /// <c>{DataDir}/ml_models</c>; several instances sharing one PostgreSQL store point this at one shared folder, so they
    /// serve the same active version. Relative paths are resolved against the working directory.
    /// </summary>
    public string? ModelsDir { get; set; }

    public string ResolveDataDir() => Path.GetFullPath(DataDir);

    public string ResolveModelsDir() => string.IsNullOrEmpty(ModelsDir) ? Path.Combine(ResolveDataDir(), "ml_models") : Path.GetFullPath(ModelsDir);

    /// <summary>Frozen cleaned datasets that models are trained from (<c>commentflow dataset snapshot</c>).</summary>
    public string ResolveSnapshotsDir() => Path.Combine(ResolveDataDir(), "snapshots");

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ModelsDir is { Length: > 0 } dir && (string.IsNullOrWhiteSpace(dir) || dir.Contains('\0', StringComparison.Ordinal)))
        {
            yield return new ValidationResult("ModelsDir must be a folder path (or empty for {DataDir}/ml_models).", [nameof(ModelsDir)]);
        }
        else if (ModelsDir is { Length: > 0 } && File.Exists(ResolveModelsDir()))
        {
            yield return new ValidationResult($"ModelsDir names a file, not a folder: {ResolveModelsDir()}.", [nameof(ModelsDir)]);
        }
    }
}

internal static class EngineModes
{
    public const string Auto = "auto";
    public const string Hybrid = "hybrid";
    public const string Local = "local";
    public const string Ollama = "ollama";
    public const string Rules = "rules";
}
