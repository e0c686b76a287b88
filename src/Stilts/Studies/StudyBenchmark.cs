using Stilts.Inference;
using Stilts.Models;
using Stilts.Pipeline;
using Stilts.Tasks;

namespace Stilts.Studies;

/// <summary>
/// Benchmarks the final models of a study's finished target runs with the study's `inference:` settings and stores
/// the rows under the run's key, so the report can set regimes (intermediate-trained vs directly fine-tuned) and
/// model sizes side by side. Runs one checkpoint at a time after training, so no training worker competes for the
/// cores being timed. Settings already measured for a run are skipped: a second `stilts run` measures nothing.
/// </summary>
public static class StudyBenchmark
{
    /// <summary>Measures what is missing and returns the rows it added.</summary>
    public static IReadOnlyList<InferenceRow> Run(StudyFile study, ResultsStore store, StudyInference settings, Action<string>? log = null)
    {
        var planned = StudyPlan.Expand(study).Where(r => r.Kind == PlannedRunKind.Target).Select(r => r.Key).ToHashSet();
        var runs = store.Runs(study.Name).Where(r => planned.Contains(r.Key) && r.Status == RunStatus.Done && r.Checkpoint != null).ToList();
        string device = Placement.Resolve(settings.Device).type.ToString().ToLowerInvariant();
        var added = new List<InferenceRow>();
        foreach (var run in runs)
        {
            if (!Directory.Exists(run.Checkpoint)) { log?.Invoke($"inference: {run.Key}: checkpoint {run.Checkpoint} is gone, skipped"); continue; }
            // Encoders generate nothing, so their rows carry generation length 0.
            int generation = Pretrained.FamilyOf(run.Checkpoint!) == ModelFamily.T5 ? settings.GenerationLength : 0;
            var have = store.Inference(study.Name)
                .Where(r => r.RunKey == run.Key && r.Device == device && r.GenerationLength == generation)
                .Select(r => (r.BatchSize, r.SeqLen)).ToHashSet();
            var missing = settings.BatchSizes.SelectMany(b => settings.SeqLens.Select(l => (b, l))).Where(s => !have.Contains(s)).ToHashSet();
            if (missing.Count == 0) continue;
            var options = new InferenceBenchOptions
            {
                BatchSizes = settings.BatchSizes.Where(b => missing.Any(s => s.b == b)).ToList(),
                SeqLens = settings.SeqLens.Where(l => missing.Any(s => s.l == l)).ToList(),
                GenerationLength = settings.GenerationLength, Warmup = settings.Warmup, Iterations = settings.Iterations,
                Device = settings.Device, Threads = settings.Threads,
            };
            log?.Invoke($"inference: {run.Key} ({missing.Count} setting(s))");
            foreach (var r in InferenceBenchmark.Run(run.Checkpoint!, options, line => log?.Invoke("  " + line)))
            {
                if (!missing.Contains((r.BatchSize, r.SeqLen))) continue;
                var row = new InferenceRow(study.Name, run.Key, run.Model, run.Target, device, r.BatchSize, r.SeqLen, r.GenerationLength,
                    r.P50Ms, r.P95Ms, r.P99Ms, r.ExamplesPerSecond, r.TokensPerSecond, r.PeakMemoryMb);
                store.AddInference(row);
                added.Add(row);
            }
        }
        if (settings.Data is not null)
        {
            var taskRows = RunTaskData(study, store, settings, log);
            log?.Invoke($"inference: task data: {taskRows.Count} new row(s), {taskRows.Select(r => r.RunKey).Distinct().Count()} run(s) benchmarked");
        }
        return added;
    }

    /// <summary>
    /// `data: test|dev`: each finished target run timed on its target's real examples with its own evaluation
    /// settings (the work its evaluation did), one row per language and batch size. Batch sizes already measured for a
    /// run on this device and split are skipped.
    /// </summary>
    public static IReadOnlyList<TaskInferenceRow> RunTaskData(StudyFile study, ResultsStore store, StudyInference settings, Action<string>? log = null)
    {
        if (settings.Data is not Tasks.Split split) return [];
        var planned = StudyPlan.Expand(study).Where(r => r.Kind == PlannedRunKind.Target).ToDictionary(r => r.Key);
        var runs = store.Runs(study.Name).Where(r => planned.ContainsKey(r.Key) && r.Status == RunStatus.Done && r.Checkpoint != null).ToList();
        string device = Placement.Resolve(settings.Device).type.ToString().ToLowerInvariant();
        var added = new List<TaskInferenceRow>();
        foreach (var run in runs)
        {
            if (!Directory.Exists(run.Checkpoint)) { log?.Invoke($"inference: {run.Key}: checkpoint {run.Checkpoint} is gone, skipped"); continue; }
            var config = PipelineExecutor.BuildConfig(study, planned[run.Key], startFrom: null);
            if (config.Evaluate is not { } eval || RetrievalEvaluation.Handles(eval.Task)) continue; // retrieval has no per-example predictions to time
            var task = PipelineTasks.Get(eval.Task, $"{study.SourcePath}: targets");
            bool t5 = Pretrained.FamilyOf(run.Checkpoint!) == ModelFamily.T5;
            if (!t5 && task.Kind is not (TaskKind.SentenceClassification or TaskKind.PairClassification or TaskKind.MultipleChoice))
            {
                log?.Invoke($"inference: {run.Key}: task data is timed for classification and multiple choice on encoders; {task.Name} skipped");
                continue;
            }
            var have = store.TaskInference(study.Name).Where(r => r.RunKey == run.Key && r.Device == device && r.Result.Split == split)
                .Select(r => r.Result.BatchSize).ToHashSet();
            var missing = settings.BatchSizes.Where(b => !have.Contains(b)).ToList();
            if (missing.Count == 0) continue;
            var options = new TaskBenchOptions
            {
                BatchSizes = missing, Split = split, Languages = eval.Languages, MaxSeqLen = eval.MaxSeqLen,
                MaxNewTokens = eval.MaxNewTokens, ConstrainToLabels = eval.ConstrainToLabels, MaxExamples = settings.Examples,
                Warmup = settings.Warmup, Passes = 1, Device = settings.Device, Threads = settings.Threads,
            };
            string folder = Path.GetFullPath(eval.Data ?? Path.Combine(config.DataDir, eval.Task));
            log?.Invoke($"inference: {run.Key} on {split.ToString().ToLowerInvariant()} data ({missing.Count} batch size(s))");
            foreach (var r in TaskInferenceBenchmark.Run(run.Checkpoint!, task, folder, options, line => log?.Invoke("  " + line)))
            {
                var row = new TaskInferenceRow(study.Name, run.Key, run.Model, run.Target, device, r);
                store.AddTaskInference(row);
                added.Add(row);
            }
        }
        return added;
    }
}
