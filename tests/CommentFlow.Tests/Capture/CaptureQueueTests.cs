using CommentFlow.Capture;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CommentFlow.Tests.Capture;

public sealed class CaptureQueueTests
{
    private static CaptureQueue Queue(int capacity, string fullMode = CaptureFullModes.Drop, int waitMs = 20) =>
        new(Options.Create(new CaptureOptions { QueueCapacity = capacity, FullMode = fullMode, FullWaitMilliseconds = waitMs }),
            new CaptureCounters(), TimeProvider.System, NullLogger<CaptureQueue>.Instance);

    [Fact]
    public async Task EnqueueAsync_QueueFull_DropsAndCountsWithoutWaiting()
    {
        var queue = Queue(2);
        var accepted = 0;
        for (var i = 0; i < 5; i++)
        {
            var task = queue.EnqueueAsync(Some.Sample(), CancellationToken.None);
            Assert.True(task.IsCompleted); // drop mode never makes the request wait
            accepted += await task ? 1 : 0;
        }
        Assert.Equal(2, accepted);
        Assert.Equal(2, queue.Counters.Enqueued);
        Assert.Equal(3, queue.Counters.Dropped);
        Assert.Equal(2, queue.Depth);
    }

    [Fact]
    public async Task EnqueueAsync_WaitModeAndRoomFreed_Accepted()
    {
        var queue = Queue(1, CaptureFullModes.Wait, waitMs: 5_000);
        Assert.True(await queue.EnqueueAsync(Some.Sample(), CancellationToken.None));
        var waiting = queue.EnqueueAsync(Some.Sample(), CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        Assert.True(queue.Reader.TryRead(out _));
        Assert.True(await waiting);
        Assert.Equal(0, queue.Counters.Dropped);
    }

    [Fact]
    public async Task EnqueueAsync_WaitModeStillFull_DropsAfterTheWait()
    {
        var queue = Queue(1, CaptureFullModes.Wait, waitMs: 30);
        await queue.EnqueueAsync(Some.Sample(), CancellationToken.None);
        Assert.False(await queue.EnqueueAsync(Some.Sample(), CancellationToken.None));
        Assert.Equal(1, queue.Counters.Dropped);
    }

    [Fact]
    public async Task EnqueueAsync_AfterComplete_DropsAndCounts()
    {
        var queue = Queue(10);
        queue.Complete();
        Assert.False(await queue.EnqueueAsync(Some.Sample(), CancellationToken.None));
        Assert.Equal(1, queue.Counters.Dropped);
    }
}
