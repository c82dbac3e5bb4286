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
}
