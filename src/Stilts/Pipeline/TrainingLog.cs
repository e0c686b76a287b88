using System.Text.Json;
using TorchSharp;

namespace Stilts.Pipeline;

/// <summary>One logged optimizer step (averaged over the steps since the previous log line).</summary>
public sealed record StepReport(string Stage, long Step, long TotalSteps, string Task, double Loss, double LearningRate,
    double ExamplesPerSecond, TimeSpan Eta);

/// <summary>One validation: the stage's major metric (mean over its tasks) and each task's.</summary>
public sealed record EvalReport(string Stage, long Step, double Metric, IReadOnlyDictionary<string, double> PerTask, bool Improved);

/// <summary>Where the runner's progress goes besides the files: the CLI shows a Spectre progress bar on a terminal and plain lines otherwise.</summary>
public interface ITrainingObserver
{
    void OnStageStart(string stage, long totalSteps, long resumedAt);
    void OnStep(StepReport report);
    void OnEval(EvalReport report);
    void OnMessage(string message);
}

/// <summary>Plain periodic lines (what CI logs and pipes need; Spectre prints nothing when stdout is not a terminal).</summary>
public sealed class PlainTextObserver(TextWriter writer) : ITrainingObserver
{
    public void OnStageStart(string stage, long totalSteps, long resumedAt) =>
        writer.WriteLine(resumedAt > 0 ? $"[{stage}] resuming at step {resumedAt}/{totalSteps}" : $"[{stage}] {totalSteps} steps");
    public void OnStep(StepReport r) =>
        writer.WriteLine($"[{r.Stage}] step {r.Step}/{r.TotalSteps} task={r.Task} loss={r.Loss:F4} lr={r.LearningRate:E2} ex/s={r.ExamplesPerSecond:F1} eta={r.Eta:hh\\:mm\\:ss}");
    public void OnEval(EvalReport r) =>
        writer.WriteLine($"[{r.Stage}] step {r.Step} val={r.Metric:F4}{(r.Improved ? " (best)" : "")} " +
            string.Join(" ", r.PerTask.Select(p => $"{p.Key}={p.Value:F4}")));
    public void OnMessage(string message) => writer.WriteLine(message);
}

/// <summary>The run's own records: train_log.jsonl (one JSON object per step log and per validation) and TensorBoard scalars under tb/.</summary>
public sealed class TrainingLog : IDisposable
{
    readonly StreamWriter _jsonl;
    readonly TorchSharp.Modules.SummaryWriter? _tensorboard;
    readonly ITrainingObserver? _observer;
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public TrainingLog(string runDir, ITrainingObserver? observer, bool tensorboard = true)
    {
        Directory.CreateDirectory(runDir);
        // Appending: a resumed run continues the same log (steps redone after a kill appear twice, with equal values).
        _jsonl = new StreamWriter(new FileStream(Path.Combine(runDir, "train_log.jsonl"), FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        _tensorboard = tensorboard ? torch.utils.tensorboard.SummaryWriter(Path.Combine(runDir, "tb")) : null;
        _observer = observer;
    }

    public void StageStart(string stage, long totalSteps, long resumedAt) => _observer?.OnStageStart(stage, totalSteps, resumedAt);

    public void Step(StepReport r)
    {
        _jsonl.WriteLine(JsonSerializer.Serialize(new { type = "step", r.Stage, r.Step, r.TotalSteps, r.Task, r.Loss, lr = r.LearningRate, examples_per_second = r.ExamplesPerSecond }, Json));
        _tensorboard?.add_scalar($"{r.Stage}/loss", (float)r.Loss, (int)r.Step);
        _tensorboard?.add_scalar($"{r.Stage}/lr", (float)r.LearningRate, (int)r.Step);
        _observer?.OnStep(r);
    }

    public void Eval(EvalReport r)
    {
        _jsonl.WriteLine(JsonSerializer.Serialize(new { type = "eval", r.Stage, r.Step, r.Metric, per_task = r.PerTask, r.Improved }, Json));
        _tensorboard?.add_scalar($"{r.Stage}/val", (float)r.Metric, (int)r.Step);
        _observer?.OnEval(r);
    }

    public void Message(string message)
    {
        _jsonl.WriteLine(JsonSerializer.Serialize(new { type = "message", message }, Json));
        _observer?.OnMessage(message);
    }

    public void Dispose()
    {
        _jsonl.Dispose();
    }
}
