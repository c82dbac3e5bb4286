using System.ComponentModel.DataAnnotations;

namespace CommentFlow.Training;

internal sealed class TrainingOptions
{
    public const string Section = "CommentFlow:Training";

    /// <summary>Fewest usable comments a model is trained from.</summary>
    [Range(2, int.MaxValue)]
    public int MinSamples { get; set; } = 50;

    /// <summary>Fewest examples of each type before the type classifier is trained at all.</summary>
    [Range(2, int.MaxValue)]
    public int MinSamplesPerClass { get; set; } = 20;

    [Range(0, int.MaxValue)]
    public int Seed { get; set; } = 42;

    /// <summary>
    /// How the type classifier's classes are evened out: <c>none</c> (default: every example weighted by
    /// n / (K × its class count), which measured best), <c>undersample</c> or <c>oversample</c> to equal counts.
    /// </summary>
    [Required, AllowedValues(Dataset.BalanceModes.None, Dataset.BalanceModes.Undersample, Dataset.BalanceModes.Oversample)]
    public string Balance { get; set; } = Dataset.BalanceModes.None;
}
