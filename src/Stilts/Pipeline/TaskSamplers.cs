namespace Stilts.Pipeline;

/// <summary>
/// Chooses which task the next optimizer step trains on (jiant samples one task per step; every gradient-accumulation
/// micro-batch of that step comes from it). Draws come from a seeded <see cref="Xoshiro256"/> whose state is part of
/// the checkpoint, so a resumed run draws the same tasks.
/// </summary>
public interface ITaskSampler
{
    IReadOnlyList<string> Tasks { get; }

    /// <summary>The distribution at optimizer step <paramref name="step"/> (0-based); it sums to 1.</summary>
    double[] Probabilities(long step);

    /// <summary>The index into <see cref="Tasks"/> to train on at <paramref name="step"/>.</summary>
    int Next(long step);

    /// <summary>The generator state to checkpoint; <see cref="Restore"/> puts it back.</summary>
    ulong[] GetState();
    void Restore(IReadOnlyList<ulong> state);
}

/// <summary>The generator and the draw every sampler shares; each sampler only says what its distribution is.</summary>
public abstract class TaskSamplerBase(IReadOnlyList<string> tasks, ulong seed) : ITaskSampler
{
    Xoshiro256 _rng = Xoshiro256.Create(seed);

    public IReadOnlyList<string> Tasks { get; } = tasks.Count > 0 ? tasks : throw new ArgumentException("a sampler needs at least one task");
    public abstract double[] Probabilities(long step);
    public int Next(long step) => _rng.Categorical(Probabilities(step));
    public ulong[] GetState() => _rng.GetState();
    public void Restore(IReadOnlyList<ulong> state) => _rng = Xoshiro256.FromState(state);

    protected static double[] Normalize(IEnumerable<double> weights, string what)
    {
        var w = weights.ToArray();
        if (w.Any(x => x < 0 || !double.IsFinite(x))) throw new InvalidInputException(what, "weights must be finite and >= 0");
        double total = w.Sum();
        if (total <= 0) throw new InvalidInputException(what, "weights must not all be zero");
        return w.Select(x => x / total).ToArray();
    }
}

/// <summary>Every task equally often.</summary>
public sealed class UniformSampler(IReadOnlyList<string> tasks, ulong seed) : TaskSamplerBase(tasks, seed)
{
    public override double[] Probabilities(long step) => Enumerable.Repeat(1.0 / Tasks.Count, Tasks.Count).ToArray();
}

/// <summary>p ∝ number of training examples (jiant's multi-task default).</summary>
public sealed class ProportionalSampler(IReadOnlyList<string> tasks, IReadOnlyList<long> sizes, ulong seed) : TaskSamplerBase(tasks, seed)
{
    readonly double[] _p = Normalize(sizes.Select(n => (double)n), "sampler sizes");
    public override double[] Probabilities(long step) => (double[])_p.Clone();
}

/// <summary>p ∝ min(n, cap)^(1/T): T = 1 is proportional, large T tends to uniform; cap limits huge tasks (jiant, T5).</summary>
public sealed class TemperatureSampler : TaskSamplerBase
{
    readonly double[] _p;

    public TemperatureSampler(IReadOnlyList<string> tasks, IReadOnlyList<long> sizes, double temperature, long? cap, ulong seed)
        : base(tasks, seed)
    {
        if (!(temperature > 0)) throw new InvalidInputException("sampler.temperature", $"must be > 0, got {temperature}");
        _p = Normalize(sizes.Select(n => Math.Pow(Math.Min(n, cap ?? long.MaxValue), 1 / temperature)), "sampler sizes");
    }

    public override double[] Probabilities(long step) => (double[])_p.Clone();
}

/// <summary>User-given weights, normalized.</summary>
public sealed class SpecifiedSampler(IReadOnlyList<string> tasks, IReadOnlyList<double> weights, ulong seed) : TaskSamplerBase(tasks, seed)
{
    readonly double[] _p = Normalize(weights, "sampler.probabilities");
    public override double[] Probabilities(long step) => (double[])_p.Clone();
}

/// <summary>
/// A distribution that changes with the step. From YAML the one expression is linear interpolation: weights go from
/// <c>from</c> at step 0 to <c>to</c> at step <c>over_steps</c> and stay there (<see cref="Linear"/>). From C# any
/// function of the step can be given (jiant's numexpr, e.g. 1/sqrt(t), becomes a lambda).
/// </summary>
public sealed class TimeDependentSampler(IReadOnlyList<string> tasks, Func<long, IReadOnlyList<double>> weights, ulong seed)
    : TaskSamplerBase(tasks, seed)
{
    public override double[] Probabilities(long step)
    {
        var w = weights(step);
        if (w.Count != Tasks.Count) throw new InvalidInputException("sampler", $"the weight function gave {w.Count} weights for {Tasks.Count} tasks");
        return Normalize(w, "sampler weights");
    }

    public static TimeDependentSampler Linear(IReadOnlyList<string> tasks, IReadOnlyList<double> from, IReadOnlyList<double> to, long overSteps, ulong seed)
    {
        if (from.Count != tasks.Count || to.Count != tasks.Count)
            throw new InvalidInputException("sampler", $"from/to need one weight per task ({tasks.Count})");
        if (overSteps <= 0) throw new InvalidInputException("sampler.over_steps", "must be > 0");
        var a = Normalize(from, "sampler.from");
        var b = Normalize(to, "sampler.to");
        return new TimeDependentSampler(tasks, step =>
        {
            double f = Math.Clamp(step / (double)overSteps, 0, 1);
            return a.Select((x, i) => x + f * (b[i] - x)).ToArray();
        }, seed);
    }
}
