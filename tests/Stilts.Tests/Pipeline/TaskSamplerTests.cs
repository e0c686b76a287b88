using Stilts.Pipeline;

namespace Stilts.Tests.Pipeline;

public class TaskSamplerTests
{
    static readonly string[] Tasks = ["mnli", "squad", "cosmosqa"];
    static readonly long[] Sizes = [390_000, 88_000, 25_000];

    static double[] Frequencies(ITaskSampler sampler, int draws, long step = 0)
    {
        var counts = new double[sampler.Tasks.Count];
        for (int i = 0; i < draws; i++) counts[sampler.Next(step)]++;
        return counts.Select(c => c / draws).ToArray();
    }

    static void Close(double[] expected, double[] actual, double tolerance = 0.01)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < tolerance, $"task {i}: expected {expected[i]:F4}, drew {actual[i]:F4}");
    }

    [Fact]
    public void Uniform_draws_each_task_equally()
    {
        Close([1 / 3.0, 1 / 3.0, 1 / 3.0], Frequencies(new UniformSampler(Tasks, 1), 60_000));
    }

    [Fact]
    public void Proportional_draws_by_size()
    {
        double total = Sizes.Sum();
        var sampler = new ProportionalSampler(Tasks, Sizes, 2);
        Close(Sizes.Select(n => n / total).ToArray(), sampler.Probabilities(0), 1e-12);
        Close(Sizes.Select(n => n / total).ToArray(), Frequencies(sampler, 60_000));
    }

    [Fact]
    public void Temperature_flattens_and_caps()
    {
        // T = 2, cap 100k: weights sqrt(100000), sqrt(88000), sqrt(25000).
        double[] w = [Math.Sqrt(100_000), Math.Sqrt(88_000), Math.Sqrt(25_000)];
        var expected = w.Select(x => x / w.Sum()).ToArray();
        var sampler = new TemperatureSampler(Tasks, Sizes, 2.0, 100_000, 3);
        Close(expected, sampler.Probabilities(0), 1e-12);
        Close(expected, Frequencies(sampler, 60_000));
        // T = 1 without cap is proportional.
        Close(new ProportionalSampler(Tasks, Sizes, 0).Probabilities(0), new TemperatureSampler(Tasks, Sizes, 1.0, null, 0).Probabilities(0), 1e-12);
    }

    [Fact]
    public void Specified_normalizes_the_weights()
    {
        var sampler = new SpecifiedSampler(Tasks, [2, 1, 1], 4);
        Close([0.5, 0.25, 0.25], Frequencies(sampler, 60_000));
    }

    [Fact]
    public void Time_dependent_interpolates_linearly_and_then_holds()
    {
        var sampler = TimeDependentSampler.Linear(Tasks, [1, 0, 0], [0, 0, 1], overSteps: 100, seed: 5);
        Close([1, 0, 0], sampler.Probabilities(0), 1e-12);
        Close([0.5, 0, 0.5], sampler.Probabilities(50), 1e-12);
        Close([0, 0, 1], sampler.Probabilities(1000), 1e-12);
        Close([0.75, 0, 0.25], Frequencies(sampler, 60_000, step: 25));
        var lambda = new TimeDependentSampler(Tasks, t => [1 / Math.Sqrt(t + 1), 1, 0], 6);
        Close([0.5, 0.5, 0], lambda.Probabilities(0), 1e-12);
        Close([0.25, 0.75, 0], Frequencies(lambda, 60_000, step: 8));
    }

    [Fact]
    public void Restored_state_continues_the_same_sequence()
    {
        var a = new TemperatureSampler(Tasks, Sizes, 3, null, 99);
        for (int i = 0; i < 37; i++) a.Next(i);
        var state = a.GetState();
        var rest = Enumerable.Range(37, 200).Select(i => a.Next(i)).ToArray();

        var b = new TemperatureSampler(Tasks, Sizes, 3, null, 12345);
        b.Restore(state);
        Assert.Equal(rest, Enumerable.Range(37, 200).Select(i => b.Next(i)).ToArray());
    }

    [Fact]
    public void Same_seed_same_draws_different_seed_different_draws()
    {
        int[] Draws(ulong seed) { var s = new UniformSampler(Tasks, seed); return Enumerable.Range(0, 100).Select(i => s.Next(i)).ToArray(); }
        Assert.Equal(Draws(7), Draws(7));
        Assert.NotEqual(Draws(7), Draws(8));
    }

    [Fact]
    public void Xoshiro_bounded_ints_are_uniform()
    {
        var rng = Xoshiro256.Create(11);
        var counts = new int[7];
        for (int i = 0; i < 70_000; i++) counts[rng.Next(7)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
        var mean = Enumerable.Range(0, 10_000).Select(_ => rng.NextDouble()).Average();
        Assert.InRange(mean, 0.49, 0.51);
    }
}
