using System.ComponentModel.DataAnnotations;

namespace CommentFlow.Privacy;

/// <summary>How long samples are kept. Off by default: deleting training data is the deployment's decision.</summary>
internal sealed class RetentionOptions
{
    public const string Section = "CommentFlow:Retention";

    /// <summary>Samples created more than this many days ago are deleted, with their feedback. 0 keeps everything.</summary>
    [Range(0, 36_500)]
    public int Days { get; set; }

    /// <summary>How often the retention job runs (it also runs once at start).</summary>
    [Range(1, 525_600)]
    public int IntervalMinutes { get; set; } = 60;
}
