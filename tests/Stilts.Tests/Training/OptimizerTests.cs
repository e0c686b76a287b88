using Stilts.Checkpoints;
using Stilts.Models;
using Stilts.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stilts.Tests.Training;

public sealed class OptimizerTests
{
    static EncoderWithHead TinyClassifier(int seed)
    {
        manual_seed(seed);
        var config = EncoderConfig.FromJson("""
            {"model_type": "bert", "vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 1,
             "num_attention_heads": 2, "intermediate_size": 24, "max_position_embeddings": 16, "num_labels": 3}
            """);
        var model = EncoderWithHead.Create(config, HeadKind.SequenceClassification);
        model.eval();
        return model;
    }

    static void ForwardBackward(EncoderWithHead model, int step)
    {
        var ids = tensor(new long[] { 2, 7 + step, 9, 11, 3, 4, 5, 0 }, 2, 4);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 0 }, 2, 4);
        model.Loss(model.forward(new EncoderInput(ids, mask)), tensor(new long[] { step % 3, 1 })).backward();
    }

    [Fact]
    public void MatchesTorchSharpsOwnAdamW()
    {
        // Two independent implementations of torch's AdamW on the same random gradients.
        manual_seed(11);
        var ours = new[] { nn.Parameter(randn(4, 3)), nn.Parameter(randn(5)) };
        var theirs = ours.Select(p => nn.Parameter(p.detach().clone())).ToArray();
        var options = new AdamWOptions { LearningRate = 0.01, WeightDecay = 0.05, Beta1 = 0.8, Beta2 = 0.95, Eps = 1e-6, DecayScope = WeightDecayScope.AllParameters };
        var optimizer = new AdamWOptimizer([new AdamWOptimizer.ParamGroup([("a", ours[0]), ("b", ours[1])], options.LearningRate, options.WeightDecay)], options);
        var reference = optim.AdamW(theirs, lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, weight_decay: 0.05);
        for (int step = 0; step < 6; step++)
        {
            using var scope = NewDisposeScope();
            for (int i = 0; i < ours.Length; i++)
            {
                var g = randn(ours[i].shape) * (i + 1);
                ours[i].grad = g.clone();
                theirs[i].grad = g.clone();
            }
            optimizer.Step();
            reference.step();
        }
        for (int i = 0; i < ours.Length; i++) Assert.True(ours[i].allclose(theirs[i], rtol: 1e-6, atol: 1e-7));
        Assert.Equal(6, optimizer.StepCount("a"));
    }

    [Fact]
    public void HfGroupingSkipsDecayForBiasesAndLayerNorms()
    {
        using var model = TinyClassifier(12);
        var noDecay = AdamWOptimizer.NoDecayNames(model);
        Assert.Contains("bert.embeddings.LayerNorm.weight", noDecay);
        Assert.Contains("bert.encoder.layer.0.output.LayerNorm.weight", noDecay);
        Assert.Contains("bert.encoder.layer.0.attention.self.query.bias", noDecay);
        Assert.Contains("classifier.bias", noDecay);
        Assert.DoesNotContain("bert.embeddings.word_embeddings.weight", noDecay);
        Assert.DoesNotContain("classifier.weight", noDecay);
        Assert.DoesNotContain("bert.pooler.dense.weight", noDecay);

        var optimizer = AdamWOptimizer.Create(model, new AdamWOptions { LearningRate = 0.1, WeightDecay = 0.5 });
        Assert.Equal(2, optimizer.Groups.Count);
        Assert.Equal(model.parameters().Count(), optimizer.Groups.Sum(g => g.Parameters.Count));
        Assert.Equal(0.0, optimizer.Groups[1].WeightDecay);

        // With zero gradients Adam's step is 0, so only decay moves a parameter: decayed weights shrink, LayerNorm stays.
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var p in named.Values) p.grad = zeros_like(p);
        var dense = named["classifier.weight"].detach().clone();
        var norm = named["bert.embeddings.LayerNorm.weight"].detach().clone();
        optimizer.Step();
        Assert.True(named["classifier.weight"].allclose(dense * (1 - 0.1 * 0.5)));
        Assert.True(named["bert.embeddings.LayerNorm.weight"].allclose(norm, rtol: 0, atol: 0));

        var all = AdamWOptimizer.Create(model, new AdamWOptions { DecayScope = WeightDecayScope.AllParameters });
        Assert.Single(all.Groups);
    }

    [Fact]
    public void ParametersWithoutGradientsAreLeftAlone()
    {
        var used = nn.Parameter(ones(3));
        var unused = nn.Parameter(ones(3));
        var optimizer = new AdamWOptimizer([new AdamWOptimizer.ParamGroup([("used", used), ("unused", unused)], 0.1, 0.1)], new AdamWOptions());
        used.grad = ones(3);
        optimizer.Step();
        Assert.True(unused.allclose(ones(3), rtol: 0, atol: 0));
        Assert.Equal(0, optimizer.StepCount("unused"));
        Assert.False(used.allclose(ones(3)));
    }

    [Fact]
    public void ResumingFromSavedStateReproducesTheUninterruptedRun()
    {
        const int total = 6, split = 3;
        var options = new AdamWOptions { LearningRate = 1e-2 };

        using var straight = TinyClassifier(13);
        // Copied, not re-seeded: tests run in parallel and share torch's global generator.
        var initial = straight.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        var straightOpt = AdamWOptimizer.Create(straight, options);
        var straightSchedule = new LinearWarmupSchedule(straightOpt, warmupSteps: 2, totalSteps: total);
        for (int step = 0; step < total; step++) Train(straight, straightOpt, straightSchedule, step);

        using var first = TinyClassifier(14);
        Checkpoint.LoadInto(first, initial);
        var firstOpt = AdamWOptimizer.Create(first, options);
        var firstSchedule = new LinearWarmupSchedule(firstOpt, 2, total);
        for (int step = 0; step < split; step++) Train(first, firstOpt, firstSchedule, step);
        string dir = TestPaths.NewTempDir();
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), first.state_dict());
        SafeTensors.Write(Path.Combine(dir, "optimizer.safetensors"), firstOpt.StateTensors());

        using var resumed = TinyClassifier(99); // different init: everything must come from the files
        Assert.Equal(resumed.state_dict().Count, Checkpoint.LoadFile(resumed, Path.Combine(dir, "model.safetensors")).Loaded.Count);
        var resumedOpt = AdamWOptimizer.Create(resumed, options);
        resumedOpt.LoadStateTensors(SafeTensors.Read(Path.Combine(dir, "optimizer.safetensors")), "optimizer.safetensors");
        var resumedSchedule = new LinearWarmupSchedule(resumedOpt, 2, total, lastStep: firstSchedule.LastStep);
        for (int step = split; step < total; step++) Train(resumed, resumedOpt, resumedSchedule, step);

        var expected = straight.state_dict();
        foreach (var (name, value) in resumed.state_dict())
            Assert.True(value.allclose(expected[name], rtol: 0, atol: 0), name);
    }

    static void Train(EncoderWithHead model, AdamWOptimizer optimizer, LinearWarmupSchedule schedule, int step)
    {
        using var scope = NewDisposeScope();
        optimizer.ZeroGrad();
        ForwardBackward(model, step);
        optimizer.Step();
        schedule.Step();
    }

    [Fact]
    public void LoadingForeignStateNamesTheKey()
    {
        var p = nn.Parameter(ones(2));
        var optimizer = new AdamWOptimizer([new AdamWOptimizer.ParamGroup([("w", p)], 0.1, 0)], new AdamWOptions());
        var e = Assert.Throws<InvalidInputException>(() =>
            optimizer.LoadStateTensors(new Dictionary<string, Tensor> { ["other.exp_avg"] = zeros(2) }, "opt.safetensors"));
        Assert.Contains("opt.safetensors: other.exp_avg", e.Message);
        var missing = Assert.Throws<InvalidInputException>(() =>
            optimizer.LoadStateTensors(new Dictionary<string, Tensor> { ["w.exp_avg"] = zeros(2) }, "opt.safetensors"));
        Assert.Contains("w.exp_avg_sq", missing.Message);
    }

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.5)]
    [InlineData(2, 1.0)]
    [InlineData(6, 0.5)]
    [InlineData(10, 0.0)]
    [InlineData(12, 0.0)]
    public void LinearWarmupFactorRisesThenFalls(int step, double expected) =>
        Assert.Equal(expected, LinearWarmupSchedule.Factor(step, warmupSteps: 2, totalSteps: 10), 12);

    [Fact]
    public void ScheduleScalesEachGroupsInitialRate()
    {
        var a = nn.Parameter(ones(1));
        var b = nn.Parameter(ones(1));
        var optimizer = new AdamWOptimizer([new AdamWOptimizer.ParamGroup([("a", a)], 1e-3, 0), new AdamWOptimizer.ParamGroup([("b", b)], 4e-3, 0)], new AdamWOptions());
        var schedule = new LinearWarmupSchedule(optimizer, 4, 8);
        Assert.Equal([0.0, 0.0], optimizer.Groups.Select(g => g.LearningRate));
        schedule.Step();
        Assert.Equal(0.25e-3, optimizer.Groups[0].LearningRate, 15);
        Assert.Equal(1e-3, optimizer.Groups[1].LearningRate, 15);
    }

    [Fact]
    public void ClippingScalesToTheMaxNormAndReturnsTheNormBefore()
    {
        var a = nn.Parameter(zeros(2));
        var b = nn.Parameter(zeros(1));
        var noGrad = nn.Parameter(zeros(3));
        a.grad = tensor(new float[] { 3, 0 });
        b.grad = tensor(new float[] { 4 });
        Assert.Equal(5.0, Gradients.GlobalNorm([a, b, noGrad]), 5);
        Assert.Equal(5.0, Gradients.ClipGlobalNorm([a, b, noGrad], maxNorm: 10), 5);
        Assert.Equal(new float[] { 3, 0 }, a.grad!.data<float>().ToArray()); // below the limit: untouched
        Assert.Equal(5.0, Gradients.ClipGlobalNorm([a, b, noGrad], maxNorm: 1), 5);
        Assert.Equal(1.0, Gradients.GlobalNorm([a, b]), 5);
        Assert.Equal(0.6f, a.grad!.data<float>()[0], 5);
        Assert.Null(noGrad.grad);
    }

    [Fact]
    public void StepMemoryDisposesTheStepsTensors()
    {
        var memory = new StepMemory(gcEvery: 2);
        Tensor inside;
        using (memory.BeginStep()) inside = ones(3) * 2;
        Assert.True(inside.IsInvalid);
        Tensor kept;
        using (memory.BeginStep()) kept = (ones(3) * 2).MoveToOuterDisposeScope();
        Assert.False(kept.IsInvalid);
        Assert.Equal(2, memory.Steps);
    }
}
