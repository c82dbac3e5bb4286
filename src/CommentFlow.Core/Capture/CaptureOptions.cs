using System.ComponentModel.DataAnnotations;

namespace CommentFlow.Capture;

internal sealed class CaptureOptions
{
    public const string Section = "CommentFlow:Capture";

    /// <summary>Samples waiting for the writer. Bounded: memory cannot grow without limit when the store is slow or down.</summary>
    [Range(1, 10_000_000)]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Most samples written in one transaction.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 1_000;

    /// <summary>
    /// What a request does when the queue is full. <c>drop</c>: the sample is dropped and counted, the answer goes out at once.
    /// <c>wait</c>: the request waits up to <see cref="FullWaitMilliseconds"/> for room, then drops and counts.
    /// </summary>
    [Required, AllowedValues(CaptureFullModes.Drop, CaptureFullModes.Wait)]
    public string FullMode { get; set; } = CaptureFullModes.Drop;

    [Range(1, 10_000)]
    public int FullWaitMilliseconds { get; set; } = 20;

    /// <summary>How long a stopping process keeps writing what is queued before it gives up and counts the rest as lost.</summary>
    [Range(1, 3_600)]
    public int DrainTimeoutSeconds { get; set; } = 30;
}

internal static class CaptureFullModes
{
    public const string Drop = "drop";
    public const string Wait = "wait";
}
