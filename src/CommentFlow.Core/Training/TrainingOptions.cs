using System.ComponentModel.DataAnnotations;

namespace CommentFlow.Training;

internal sealed class TrainingOptions
{
    public const string Section = "CommentFlow:Training";

    /// <summary>
    /// Fewest samples training accepts without <c>--force</c> (the data gate; <c>evaluate</c> on the store needs as many).
    /// A sample is a ticket context with at least one comment left after cleaning, not a comment: an Ollama answer
    /// brings three suggestions about one ticket, and it is the number of distinct tickets that says how much a
    /// model has seen.
    /// </summary>
    [Range(2, int.MaxValue)]
    public int MinSamples { get; set; } = 200;

    /// <summary>
    /// Fewest comments of each suggestion type present in the data (the type classifier's examples of that class)
    /// training accepts without <c>--force</c>. Forced past it, a type below it is left out of the classifier.
    /// Untyped comments (imported history) are no class.
    /// </summary>
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
