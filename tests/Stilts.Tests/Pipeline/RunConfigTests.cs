using Stilts.Models;
using Stilts.Pipeline;

namespace Stilts.Tests.Pipeline;

public class RunConfigTests
{
    const string Baseline = """
        model: models/xlmr-base
        stages:
          - name: target
            tasks: [{ task: xnli, data: data/mnli-as-xnli }]
            epochs: 2
        evaluate: { task: xnli }
        """;

    const string Joint = """
        model: models/xlmr-base
        seed: 7
        device: cpu
        stages:
          - name: joint
            tasks:
              - { task: mnli, head: nli }
              - { task: anli, head: nli }
              - { task: squad_v1 }
            sampler: { kind: temperature, temperature: 2, cap: 100000 }
            mlm: { corpus: data/wiki.txt, ratio: 0.2 }
            max_steps: 5000
          - name: target
            tasks: [{ task: xnli, head: nli }]
            carry_heads: true
        evaluate: { task: xnli, languages: [de, sw] }
        """;

    const string Chain = """
        model: m
        stages:
          - { name: a, tasks: [{ task: siqa }] }
          - { name: b, tasks: [{ task: copa }], lr: 3e-5, batch_size: 8, grad_accumulation: 1, warmup_ratio: 0.06, eval_every: 50, val_subset: 100, patience: 5, max_seq_len: 128 }
          - name: mlm-only
            mlm: { corpus: data/cc100 }
          - name: target
            tasks: [{ task: xcopa, data: translated/xcopa-de, language: de }]
            sampler:
              kind: time_dependent
              from: { xcopa: 1 }
              to: { xcopa: 1 }
              over_steps: 10
        evaluate: { task: xcopa }
        """;

    [Fact]
    public void Baseline_takes_the_paper_defaults()
    {
        var c = RunConfig.FromYaml(Baseline);
        var s = Assert.Single(c.Stages);
        Assert.Equal(("xnli", "data/mnli-as-xnli", "en"), (s.Tasks[0].Task, s.Tasks[0].Data, s.Tasks[0].Language));
        Assert.Equal((2.0, 1e-5, 4, 8, 0.1, 0.01, 1.0), (s.Epochs, s.Lr, s.BatchSize, s.GradAccumulation, s.WarmupRatio, s.WeightDecay, s.MaxGradNorm));
        Assert.Equal((1000, 500, (int?)30, 256), (s.EvalEvery, s.ValSubset, s.Patience, s.MaxSeqLen));
        Assert.Equal(SamplerKind.Proportional, s.Sampler.Kind);
        Assert.False(s.CarryHeads);
        Assert.Null(c.Evaluate!.Languages);
        Assert.Equal((42, DeviceChoice.Auto, false), (c.Seed, c.Device, c.Bf16));
    }

    [Fact]
    public void Joint_with_mlm_and_shared_heads()
    {
        var c = RunConfig.FromYaml(Joint);
        var joint = c.Stages[0];
        Assert.Equal(["nli", "nli", "squad_v1"], joint.Tasks.Select(t => t.HeadName));
        Assert.Equal((SamplerKind.Temperature, 2.0, (long?)100000), (joint.Sampler.Kind, joint.Sampler.Temperature, joint.Sampler.Cap));
        Assert.Equal(0.2, joint.Mlm!.Ratio);
        Assert.Equal(5000, joint.MaxSteps);
        Assert.True(c.Stages[1].CarryHeads);
        Assert.Equal(["de", "sw"], c.Evaluate!.Languages!);
        Assert.Equal(DeviceChoice.Cpu, c.Device);
        var sampler = joint.CreateSampler([400, 100, 100], 1);
        Assert.Equal(20.0 / 40, sampler.Probabilities(0)[0], 12);
    }

    [Fact]
    public void Chain_with_mlm_stage_and_translated_data()
    {
        var c = RunConfig.FromYaml(Chain);
        Assert.Equal(["a", "b", "mlm-only", "target"], c.Stages.Select(s => s.Name));
        Assert.True(c.Stages[2].IsMlmOnly);
        Assert.Equal((3e-5, 8, 1, 0.06, 50, 100, (int?)5, 128), (c.Stages[1].Lr, c.Stages[1].BatchSize, c.Stages[1].GradAccumulation,
            c.Stages[1].WarmupRatio, c.Stages[1].EvalEvery, c.Stages[1].ValSubset, c.Stages[1].Patience, c.Stages[1].MaxSeqLen));
        Assert.Equal(("translated/xcopa-de", "de"), (c.Stages[3].Tasks[0].Data, c.Stages[3].Tasks[0].Language));
        Assert.Equal(SamplerKind.TimeDependent, c.Stages[3].Sampler.Kind);
    }

    [Fact]
    public void Resolved_config_round_trips_through_its_saved_file()
    {
        var c = RunConfig.FromYaml(Joint);
        string path = Path.Combine(TestPaths.NewTempDir(), "resolved.yaml");
        c.Save(path);
        string saved = File.ReadAllText(path);
        Assert.Contains("warmup_ratio: 0.1", saved);
        Assert.Contains("kind: temperature", saved);
        Assert.Equal(saved, RunConfig.FromFile(path).ToYaml());
    }

    [Theory]
    [InlineData("stages: [{ name: a, tasks: [{task: x}] }]", "run.yaml: model")]
    [InlineData("model: m\nstages: [{ name: a, tasks: [{task: x}], lr: -1 }]", "run.yaml: stages[0].lr")]
    [InlineData("model: m\nstages: [{ name: a, tasks: [{task: x}] }, { name: b, tasks: [{task: y}], warmup_ratio: 1.5 }]", "run.yaml: stages[1].warmup_ratio")]
    [InlineData("model: m\nstages: [{ name: a }]", "run.yaml: stages[0].tasks")]
    [InlineData("model: m\nstages: [{ name: a, tasks: [{task: x}, {task: y}], sampler: {kind: specified, probabilities: {x: 1}} }]", "run.yaml: stages[0].sampler.probabilities")]
    [InlineData("model: m\nstages: [{ name: a, tasks: [{task: x}], sampler: {kind: specified, probabilities: {x: 1, z: 2}} }]", "run.yaml: stages[0].sampler.probabilities.z")]
    [InlineData("model: m\nstages: [{ name: a, tasks: [{task: x}] }, { name: a, tasks: [{task: x}] }]", "run.yaml: stages[1].name")]
    [InlineData("model: m\nstages: [{ name: a, tasks: [{task: x}], mlm: {corpus: c, ratio: 0} }]", "run.yaml: stages[0].mlm.ratio")]
    [InlineData("model: m\nevaluate: { languages: [de] }", "run.yaml: evaluate.task")]
    public void Invalid_values_name_their_key(string yaml, string where)
    {
        var e = Assert.Throws<InvalidInputException>(() => RunConfig.FromYaml(yaml));
        Assert.Equal(where, e.Where);
    }

    [Fact]
    public void Unknown_keys_and_bad_enums_name_the_line()
    {
        var e = Assert.Throws<InvalidInputException>(() => RunConfig.FromYaml("model: m\nseed: 1\nlearning_rate: 3\n"));
        Assert.Equal("run.yaml:3", e.Where);
        Assert.Contains("learning_rate", e.Message);
        e = Assert.Throws<InvalidInputException>(() => RunConfig.FromYaml("model: m\ndevice: tpu\n"));
        Assert.Equal("run.yaml:2", e.Where);
    }
}
