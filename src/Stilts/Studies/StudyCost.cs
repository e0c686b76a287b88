using Stilts.Models;
using Stilts.Pipeline;
using Stilts.Tasks;

namespace Stilts.Studies;

/// <summary>A run's estimated optimizer steps and training FLOPs (6 x parameters x tokens), where they can be known.</summary>
public sealed record RunCost(long? Steps, double? Flops, IReadOnlyList<string> Notes);

/// <summary>
/// Cost estimates for `stilts validate`: each run definition is built and validated (so type errors surface before
/// any training), training sets are counted from the files, and FLOPs use the padded length as an upper bound.
/// </summary>
public static class StudyCost
{
    public static RunCost Estimate(StudyFile study, PlannedRun run)
    {
        // The intermediate checkpoint does not exist yet: validate against the pretrained model's path.
        var config = PipelineExecutor.BuildConfig(study, run, startFrom: null);
        var notes = new List<string>();
        long? parameters = Parameters(run.Model.Path, notes);
        long steps = 0;
        double tokens = 0;
        foreach (var stage in config.Stages)
        {
            long perStep = (long)stage.BatchSize * stage.GradAccumulation;
            long stageSteps;
            if (stage.MaxSteps is long max) stageSteps = max;
            else
            {
                long examples = 0;
                foreach (var task in stage.Tasks)
                {
                    long? n = CountTrain(config, task, notes);
                    if (n == null) return new RunCost(null, null, notes);
                    examples += n.Value;
                }
                if (stage.Tasks.Length == 0) { notes.Add($"{run.Key}: MLM-only stage '{stage.Name}' needs max_steps for an estimate"); return new RunCost(null, null, notes); }
                stageSteps = (long)Math.Ceiling(stage.Epochs * examples / perStep);
            }
            steps += stageSteps;
            tokens += (double)stageSteps * perStep * stage.MaxSeqLen;
        }
        return new RunCost(steps, parameters is long p ? 6.0 * p * tokens : null, notes);
    }

    public static double Hours(double flops, double flopsPerSecond) => flops / flopsPerSecond / 3600;

    static long? CountTrain(RunConfig config, TaskSpec task, List<string> notes)
    {
        try
        {
            var definition = TaskRegistry.Get(task.Task);
            string folder = task.Data ?? Path.Combine(config.DataDir, definition.Name);
            return definition.ReadExamples(folder, Split.Train, task.Language).LongCount();
        }
        catch (InvalidInputException e)
        {
            notes.Add($"no estimate for {task.Task}: {e.Message}");
            return null;
        }
    }

    static long? Parameters(string modelPath, List<string> notes)
    {
        try { return Pretrained.Info(modelPath).Parameters; }
        catch (InvalidInputException e) { notes.Add($"model {modelPath}: {e.Message}"); return null; }
    }
}
