using System.ComponentModel.DataAnnotations;

namespace CommentFlow.OwnModel;

internal sealed class LocalOptions
{
    public const string Section = "CommentFlow:Local";

    /// <summary>In <c>hybrid</c>, the own model answers when its best suggestion's calibrated confidence reaches this.</summary>
    [Range(0.0, 1.0)]
    public double Threshold { get; set; } = 0.5;

    /// <summary>How often the registry is checked for a promoted or rolled-back model.</summary>
    [Range(1, 3_600)]
    public int ReloadSeconds { get; set; } = 2;
}
