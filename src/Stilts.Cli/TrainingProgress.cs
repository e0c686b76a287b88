using Spectre.Console;
using Stilts.Pipeline;

namespace Stilts.Cli;

/// <summary>
/// Console feedback for training verbs: a Spectre progress bar per stage (loss, lr, examples/s, ETA) when stdout is
/// an interactive terminal, plain periodic lines otherwise (Spectre prints nothing when stdout is not a TTY).
/// </summary>
public static class TrainingProgress
{
    public static T Run<T>(Func<ITrainingObserver, T> work)
    {
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            return work(new PlainTextObserver(Console.Out));
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => result = work(new SpectreObserver(ctx)));
        return result;
    }

    sealed class SpectreObserver(ProgressContext ctx) : ITrainingObserver
    {
        ProgressTask? _task;

        public void OnStageStart(string stage, long totalSteps, long resumedAt)
        {
            _task?.StopTask();
            _task = ctx.AddTask(Markup.Escape(stage), maxValue: totalSteps);
            _task.Value = resumedAt;
        }

        public void OnStep(StepReport r)
        {
            if (_task == null) return;
            _task.Value = r.Step;
            _task.Description = Markup.Escape($"{r.Stage} {r.Task} loss {r.Loss:F4} lr {r.LearningRate:E1} {r.ExamplesPerSecond:F0} ex/s");
        }

        public void OnEval(EvalReport r) =>
            AnsiConsole.MarkupLine(Markup.Escape($"[{r.Stage}] step {r.Step}: val {r.Metric:F4}{(r.Improved ? " (best)" : "")}"));

        public void OnMessage(string message) => AnsiConsole.MarkupLine(Markup.Escape(message));
    }
}
