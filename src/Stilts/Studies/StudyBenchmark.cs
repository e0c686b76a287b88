using Stilts.Inference;
using Stilts.Models;

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
        return added;
    }
}
