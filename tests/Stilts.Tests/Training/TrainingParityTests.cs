using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Stilts.Models;
using Stilts.Training;
using TorchSharp.Modules;
using static Stilts.Tests.Models.ReferenceVectors;
using static TorchSharp.torch;

namespace Stilts.Tests.Training;

// One AdamW step, and three steps under a linear warmup schedule, on the seq-cls checkpoints, against
// torch 1.13 + HF 4.33 (the "training" section of vectors.json; eval mode, so no dropout).
public sealed partial class TrainingParityTests
{
    static readonly AdamWOptions ReferenceOptions = new()
    {
        LearningRate = 1e-3, Beta1 = 0.9, Beta2 = 0.999, Eps = 1e-8, WeightDecay = 0.01,
        DecayScope = WeightDecayScope.AllParameters, // the reference optimizes model.parameters() as one group
    };

    [Theory]
    [InlineData("bert")]
    [InlineData("xlm-roberta")]
    public void OneAdamWStepMatchesTorch(string family)
    {
        var v = Load(family)["training"]!;
        var reference = v["single_step"]!;
        using var model = HeadModel(family, "seq-cls", HeadKind.SequenceClassification);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var optimizer = AdamWOptimizer.Create(model, ReferenceOptions);
        var input = Input(v);
        var labels = Longs(v["labels"]!);

        using (NewDisposeScope())
        {
            var logits = model.forward(input);
            var loss = model.Loss(logits, labels);
            AssertClose(logits, reference["logits"]!, "logits");
            AssertClose(loss.item<float>(), reference["loss"]!, "loss");
            loss.backward();
        }
        AssertClose(Gradients.GlobalNorm(parameters.Values), reference["grad_norm"]!, "grad_norm");
        var gradL2 = reference["per_parameter_grad_l2"]!.AsObject();
        Assert.Equal(gradL2.Select(kv => kv.Key).Order(), parameters.Keys.Order()); // same names as HF's state dict
        foreach (var (name, expected) in gradL2)
            using (NewDisposeScope()) AssertClose(parameters[name].grad!.norm().item<float>(), expected!, $"grad l2 of {name}");
        foreach (var (name, expected) in reference["tracked_grad"]!.AsObject())
            using (NewDisposeScope()) AssertClose(Tracked(parameters, name, grad: true), expected!, $"grad of {name}");

        optimizer.Step();

        foreach (var (name, expected) in reference["tracked_after"]!.AsObject())
            using (NewDisposeScope()) AssertClose(Tracked(parameters, name), expected!, $"{name} after the step", atol: 1e-5, rtol: 0);
        AssertAllParameters(parameters, reference["all_parameters_after"]!, NoiseGradients(v), totalLr: 1e-3);
        using (NewDisposeScope())
        using (no_grad())
        {
            var logits = model.forward(input);
            AssertClose(logits, reference["logits_after_step"]!, "logits after the step");
            AssertClose(model.Loss(logits, labels).item<float>(), reference["loss_after_step"]!, "loss after the step");
        }
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("xlm-roberta")]
    public void WarmupScheduleStepsMatchTorch(string family)
    {
        var v = Load(family)["training"]!;
        var reference = v["warmup_schedule"]!;
        using var model = HeadModel(family, "seq-cls", HeadKind.SequenceClassification);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var optimizer = AdamWOptimizer.Create(model, ReferenceOptions);
        var schedule = new LinearWarmupSchedule(optimizer, warmupSteps: 2, totalSteps: 10);
        var memory = new StepMemory(gcEvery: 2);
        var input = Input(v);
        var labels = Longs(v["labels"]!);

        foreach (var step in reference["steps"]!.AsArray())
        {
            using (memory.BeginStep())
            {
                optimizer.ZeroGrad();
                var loss = model.Loss(model.forward(input), labels);
                loss.backward();
                int n = step!["step"]!.GetValue<int>();
                AssertClose(loss.item<float>(), step["loss"]!, $"loss at step {n}");
                AssertClose(Gradients.GlobalNorm(parameters.Values), step["grad_norm"]!, $"grad_norm at step {n}");
                AssertClose(optimizer.Groups[0].LearningRate, step["lr_used"]!, $"lr used at step {n}", atol: 1e-12);
                optimizer.Step();
                schedule.Step();
                AssertClose(optimizer.Groups[0].LearningRate, step["lr_after_scheduler_step"]!, $"lr after step {n}", atol: 1e-12);
                foreach (var (name, expected) in step["tracked_after"]!.AsObject())
                    AssertClose(Tracked(parameters, name), expected!, $"{name} after step {n}", atol: 1e-5, rtol: 0);
            }
        }
        double totalLr = reference["steps"]!.AsArray().Sum(step => step!["lr_used"]!.GetValue<double>());
        AssertAllParameters(parameters, reference["all_parameters_after"]!, NoiseGradients(v), totalLr);
    }

    /// <summary>
    /// Parameters whose gradient is mathematically zero and only float noise in both implementations: the attention
    /// key biases (softmax ignores a shift shared by all keys). Adam divides noise by its own size, so such a
    /// parameter moves by up to lr per element in a direction neither side controls (README: tracked values are
    /// "only stable where |grad| >> 1e-8").
    /// </summary>
    static HashSet<string> NoiseGradients(JsonNode training) =>
        training["single_step"]!["per_parameter_grad_l2"]!.AsObject()
            .Where(kv => kv.Value!.GetValue<double>() < 1e-6).Select(kv => kv.Key).ToHashSet();

    /// <summary>Sum and L2 of every parameter; for noise-gradient ones only the bound Adam guarantees (|step| &lt;= lr per element).</summary>
    static void AssertAllParameters(Dictionary<string, Parameter> parameters, JsonNode expected, HashSet<string> noise, double totalLr)
    {
        var stats = expected.AsObject();
        Assert.Equal(stats.Select(kv => kv.Key).Order(), parameters.Keys.Order());
        foreach (var (name, s) in stats)
        {
            using var scope = NewDisposeScope();
            var p = parameters[name].detach().to(ScalarType.Float64);
            double slack = noise.Contains(name) ? 2 * totalLr : 0; // each side moves an element by at most ~lr per step
            AssertClose(p.sum().item<double>(), s!["sum"]!, $"sum of {name}", atol: 1e-4 + slack * p.numel());
            AssertClose(p.norm().item<double>(), s["l2"]!, $"l2 of {name}", atol: 1e-4 + slack * Math.Sqrt(p.numel()));
        }
    }

    /// <summary>A tracked tensor: "name" or "name[rows=[i, j, ...]]" (rows of an embedding matrix).</summary>
    static Tensor Tracked(Dictionary<string, Parameter> parameters, string key, bool grad = false)
    {
        var match = RowsPattern().Match(key);
        string name = match.Success ? match.Groups[1].Value : key;
        var t = grad ? parameters[name].grad! : parameters[name].detach();
        if (!match.Success) return t;
        var rows = match.Groups[2].Value.Split(',').Select(r => long.Parse(r.Trim())).ToArray();
        return t.index_select(0, tensor(rows));
    }

    [GeneratedRegex(@"^(.*)\[rows=\[(.*)\]\]$")]
    private static partial Regex RowsPattern();
}
