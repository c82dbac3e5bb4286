using Spectre.Console;
using Spectre.Console.Rendering;

namespace CommentFlow.Cli;

/// <summary>
/// The progress display of long commands: a bar with the count done of the total, the rate and the time left. With
/// <c>--json</c> nothing is drawn (standard output is the JSON alone); on a console that is not interactive Spectre
/// draws nothing live either, only the result lines follow.
/// </summary>
internal static class CliProgress
{
    public static Task<T> RunAsync<T>(bool quiet, string description, long total, Func<ProgressCounter, Task<T>> work)
    {
        if (quiet)
        {
            return work(new ProgressCounter(null));
        }
        return AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new CountColumn(), new RateColumn(), new RemainingTimeColumn())
            .StartAsync(context => work(new ProgressCounter(context.AddTask(description, maxValue: Math.Max(1, total)))));
    }

    /// <summary>
    /// Work that goes in phases of unknown length (training, evaluation): a spinner, the current phase and the time
    /// elapsed; the work calls the given action at each new phase.
    /// </summary>
    public static Task<T> PhasesAsync<T>(bool quiet, string title, Func<Action<string>, Task<T>> work)
    {
        if (quiet)
        {
            return work(_ => { });
        }
        return AnsiConsole.Progress()
            .Columns(new SpinnerColumn(), new TaskDescriptionColumn { Alignment = Justify.Left }, new ElapsedTimeColumn())
            .StartAsync(context =>
            {
                var task = context.AddTask(title).IsIndeterminate();
                return work(phase => task.Description = $"{title}: {Markup.Escape(phase)}");
            });
    }

    /// <summary>"12,345/100,000": what is done of the total.</summary>
    internal sealed class CountColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text($"{task.Value:N0}/{task.MaxValue:N0}", new Style(Color.Grey));
    }

    /// <summary>"8,120/s": Spectre's rolling speed of the task.</summary>
    internal sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is { } speed ? $"{speed:N0}/s" : "–/s", new Style(Color.Grey));
    }
}

/// <summary>What the work reports; a no-op when nothing is drawn.</summary>
internal sealed class ProgressCounter(ProgressTask? task)
{
    public void Increment(double count) => task?.Increment(count);

    public void Set(double value)
    {
        if (task is not null)
        {
            task.Value = value;
        }
    }

    /// <summary>Sets the value of work whose total is an estimate: reaching the total raises it by <paramref name="grow"/>.</summary>
    public void Set(double value, double grow)
    {
        if (task is not null)
        {
            if (value >= task.MaxValue)
            {
                task.MaxValue = value + grow;
            }
            task.Value = value;
        }
    }

    public void SetTotal(double total)
    {
        if (task is not null)
        {
            task.MaxValue = Math.Max(Math.Max(1, total), task.Value);
        }
    }

    /// <summary>The work is done: the bar is full whatever the estimate was.</summary>
    public void Complete()
    {
        if (task is not null)
        {
            task.MaxValue = Math.Max(1, task.Value);
            task.Value = task.MaxValue;
        }
    }
}
