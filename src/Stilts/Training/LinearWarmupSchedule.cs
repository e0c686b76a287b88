namespace Stilts.Training;

/// <summary>
/// transformers.get_linear_schedule_with_warmup as a torch LambdaLR: lr = base_lr * f(step), f rising linearly
/// from 0 to 1 over the warmup steps, then falling linearly to 0 at the last training step. Construction applies
/// f(0) = 0 (so a warmup run's first update uses lr 0, exactly as in PyTorch); call <see cref="Step"/> after each
/// optimizer step.
/// </summary>
public sealed class LinearWarmupSchedule
{
    readonly AdamWOptimizer optimizer;

    public int WarmupSteps { get; }
    public int TotalSteps { get; }

    /// <summary>How many times <see cref="Step"/> has been called (LambdaLR's last_epoch); save it to resume.</summary>
    public int LastStep { get; private set; }

    public LinearWarmupSchedule(AdamWOptimizer optimizer, int warmupSteps, int totalSteps, int lastStep = 0)
    {
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "must not be negative");
        if (totalSteps < 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "must not be negative");
        this.optimizer = optimizer;
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
        LastStep = lastStep;
        Apply();
    }

    /// <summary>The multiplier f(step).</summary>
    public static double Factor(int step, int warmupSteps, int totalSteps) =>
        step < warmupSteps
            ? (double)step / Math.Max(1, warmupSteps)
            : Math.Max(0.0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmupSteps));

    public void Step()
    {
        LastStep++;
        Apply();
    }

    void Apply()
    {
        double f = Factor(LastStep, WarmupSteps, TotalSteps);
        foreach (var group in optimizer.Groups) group.LearningRate = group.InitialLearningRate * f;
    }
}
