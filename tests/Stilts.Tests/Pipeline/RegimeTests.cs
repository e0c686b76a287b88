using Stilts.Checkpoints;
using Stilts.Pipeline;

namespace Stilts.Tests.Pipeline;

/// <summary>Each training regime end to end on the toy world (tiny model, a few steps), run in-process.</summary>
public class RegimeTests
{
    static string Head(ToyRun toy) => $"""
        model: {toy.Model}
        from_scratch: true
        seed: 3
        device: cpu
        log_every: 1
        """;

    static string Eval(ToyRun toy) => $"evaluate: {{ task: xnli, data: {toy.World}/toynli, max_seq_len: 32 }}";
    static string Nli(ToyRun toy, string head = "") => $"{{ task: xnli, data: {toy.World}/toynli{head} }}";
    static string Pos(ToyRun toy) => $"{{ task: udpos, data: {toy.World}/toypos }}";
    const string Small = "batch_size: 8, grad_accumulation: 2, max_seq_len: 32, val_subset: 20";

    static RunResult Run(ToyRun toy, string name, string yaml) => ExperimentRunner.Run(RunConfig.FromYaml(yaml), toy.Options(name));

    static Dictionary<string, float[]> Tensors(string file) =>
        SafeTensors.Read(file).ToDictionary(p => p.Key, p => p.Value.data<float>().ToArray());

    static void Close(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(expected.Zip(actual).All(p => Math.Abs(p.First - p.Second) < 1e-8), "tensors differ");
    }

    [Fact]
    public void Joint_mixture_with_mlm_and_a_shared_head_then_target_with_carried_heads()
    {
        var toy = new ToyRun();
        var yaml = $$"""
            {{Head(toy)}}
            stages:
              - { name: joint, tasks: [{{Nli(toy, ", head: nli")}}, {{Pos(toy)}}], sampler: { kind: temperature, temperature: 2 }, mlm: { corpus: {{toy.World}}/mlm, ratio: 0.3 }, max_steps: 12, eval_every: 6, {{Small}}, lr: 1e-3 }
              - { name: target, tasks: [{{Nli(toy, ", head: nli")}}], carry_heads: true, max_steps: 1, eval_every: 1, {{Small}}, lr: 1e-12 }
            {{Eval(toy)}}
            """;
        var result = Run(toy, "joint", yaml);
        Assert.Equal([12L, 1L], result.Stages.Select(s => s.Steps));
        // All three kinds of step happened in the joint stage.
        var steps = File.ReadLines(Path.Combine(result.RunDir, "train_log.jsonl")).Where(l => l.Contains("\"stage\":\"joint\"") && l.Contains("\"type\":\"step\"")).ToList();
        foreach (var task in new[] { "xnli", "udpos", "mlm" }) Assert.Contains(steps, l => l.Contains($"\"task\":\"{task}\""));
        var joint = Tensors(Path.Combine(result.RunDir, "stages", "joint", "final", "heads.safetensors"));
        Assert.Contains("nli.classifier.weight", joint.Keys);
        Assert.Contains("udpos.classifier.weight", joint.Keys);
        // carry_heads with an lr too small to move float32 weights: the target's nli head is the joint stage's.
        var target = Tensors(Path.Combine(result.RunDir, "stages", "target", "final", "heads.safetensors"));
        Close(joint["nli.classifier.weight"], target["nli.classifier.weight"]);
        Assert.Equal(5, result.Evaluation!.Languages.Count);
    }

    [Fact]
    public void Sequential_chain_with_an_mlm_only_stage_and_fresh_heads()
    {
        var toy = new ToyRun();
        var yaml = $$"""
            {{Head(toy)}}
            stages:
              - { name: a, tasks: [{{Nli(toy)}}], max_steps: 4, eval_every: 4, {{Small}}, lr: 1e-3 }
              - { name: b, mlm: { corpus: {{toy.World}}/mlm/la.txt }, max_steps: 3, eval_every: 3, {{Small}}, lr: 1e-3 }
              - { name: c, tasks: [{{Nli(toy)}}], max_steps: 1, eval_every: 1, {{Small}}, lr: 1e-12 }
            {{Eval(toy)}}
            """;
        var result = Run(toy, "chain", yaml);
        Assert.Equal(["a", "b", "c"], result.Stages.Select(s => s.Name));
        Assert.Null(result.Stages[1].BestMetric); // MLM-only stages do not validate
        // c starts from b's encoder but with a fresh xnli head (b had none; a's is not carried by default).
        var a = Tensors(Path.Combine(result.RunDir, "stages", "a", "final", "heads.safetensors"));
        var c = Tensors(Path.Combine(result.RunDir, "stages", "c", "final", "heads.safetensors"));
        Assert.NotEqual(a["xnli.classifier.weight"], c["xnli.classifier.weight"]);
        var b = Tensors(Path.Combine(result.RunDir, "stages", "b", "final", "model.safetensors"));
        var cEncoder = Tensors(Path.Combine(result.RunDir, "stages", "c", "final", "model.safetensors"));
        // c's encoder is b's moved by one step of lr 1e-12.
        Close(b["bert.encoder.layer.0.attention.self.query.weight"], cEncoder["bert.encoder.layer.0.attention.self.query.weight"]);
    }

    [Fact]
    public void Same_seed_is_bit_identical_and_the_second_run_reuses_the_cache()
    {
        var toy = new ToyRun();
        var yaml = $$"""
            {{Head(toy)}}
            stages:
              - { name: t, tasks: [{{Nli(toy)}}], max_steps: 5, eval_every: 5, {{Small}}, lr: 1e-3 }
            {{Eval(toy)}}
            """;
        var first = Run(toy, "one", yaml);
        var entries = Directory.GetDirectories(toy.Cache).Select(d => (d, Directory.GetLastWriteTimeUtc(d))).ToList();
        var second = Run(toy, "two", yaml);
        Assert.Equal(entries, Directory.GetDirectories(toy.Cache).Select(d => (d, Directory.GetLastWriteTimeUtc(d))).ToList());
        Assert.Equal(File.ReadAllBytes(Path.Combine(first.ModelDir, "model.safetensors")), File.ReadAllBytes(Path.Combine(second.ModelDir, "model.safetensors")));
        Assert.Equal(first.Evaluation!.Languages.Select(l => l.Score), second.Evaluation!.Languages.Select(l => l.Score));
        var other = Run(toy, "three", yaml.Replace("seed: 3", "seed: 4"));
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(first.ModelDir, "model.safetensors")), File.ReadAllBytes(Path.Combine(other.ModelDir, "model.safetensors")));
    }

    [Fact]
    public void Early_stopping_stops_after_patience_and_restores_the_best_weights()
    {
        var toy = new ToyRun();
        // An lr below float32 resolution: validation never improves after the first, so patience 2 stops at step 6.
        var yaml = $$"""
            {{Head(toy)}}
            stages:
              - { name: t, tasks: [{{Nli(toy)}}], epochs: 5, eval_every: 2, patience: 2, {{Small}}, lr: 1e-12 }
            """;
        var result = Run(toy, "early", yaml);
        var stage = Assert.Single(result.Stages);
        Assert.True(stage.StoppedEarly);
        Assert.Equal((6L, 2L), (stage.Steps, stage.BestStep));
        string dir = Path.Combine(result.RunDir, "stages", "t");
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "best", "model.safetensors")), File.ReadAllBytes(Path.Combine(dir, "final", "model.safetensors")));
    }

    [Fact]
    public void Early_stopping_reloads_an_earlier_best_step_after_real_training()
    {
        var toy = new ToyRun();
        var yaml = $$"""
            {{Head(toy)}}
            stages:
              - { name: t, tasks: [{{Nli(toy)}}], max_steps: 16, eval_every: 2, {{Small}}, lr: 3e-3 }
            """;
        var result = Run(toy, "best", yaml);
        var stage = Assert.Single(result.Stages);
        var evals = File.ReadLines(Path.Combine(result.RunDir, "train_log.jsonl")).Where(l => l.Contains("\"type\":\"eval\""))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).Select(e => (Step: e.GetProperty("step").GetInt64(), Metric: e.GetProperty("metric").GetDouble())).ToList();
        Assert.Equal(8, evals.Count);
        var best = evals.First(e => e.Metric == evals.Max(x => x.Metric));
        Assert.Equal((best.Step, best.Metric), (stage.BestStep, stage.BestMetric!.Value));
        string dir = Path.Combine(result.RunDir, "stages", "t");
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "best", "model.safetensors")), File.ReadAllBytes(Path.Combine(dir, "final", "model.safetensors")));
    }

    [Fact]
    public void A_diverging_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint()
    {
        var toy = new ToyRun();
        var yaml = $$"""
            {{Head(toy)}}
            stages:
              - { name: t, tasks: [{{Nli(toy)}}], max_steps: 10, eval_every: 1, warmup_ratio: 0, {{Small}}, lr: 1e30 }
            """;
        var e = Assert.Throws<TrainingDivergedException>(() => Run(toy, "nan", yaml));
        Assert.Contains("became", e.Message);
        string checkpoint = Path.Combine(toy.Root, "runs", "nan", "stages", "t", "checkpoint");
        Assert.Contains(checkpoint, e.Message);
        var state = TrainerState.FromFile(Path.Combine(checkpoint, "trainer_state.json"));
        Assert.InRange(state.Step, 1, 9);
        Assert.False(Directory.Exists(Path.Combine(toy.Root, "runs", "nan", "stages", "t", "final")));
    }

    [Fact]
    public void Missing_data_names_the_file()
    {
        var toy = new ToyRun();
        var yaml = $$"""
            {{Head(toy)}}
            stages:
              - { name: t, tasks: [{ task: xnli, data: {{toy.Root}}/nowhere }], {{Small}}, lr: 1e-3 }
            """;
        var e = Assert.Throws<InvalidInputException>(() => Run(toy, "missing", yaml));
        Assert.Contains(Path.Combine(toy.Root, "nowhere", "train-en.tsv"), e.Message);
    }
}

public class MultipleChoiceRunTests
{
    static string Copa(int i, string lang) =>
        $$"""{"premise": "ana sees the dog {{i}}", "choice1": "the dog likes ana", "choice2": "the cat fears boris", "question": "{{(i % 2 == 0 ? "cause" : "effect")}}", "label": {{i % 2}}, "idx": {{i}}}""";

    [Fact]
    public void Copa_style_multiple_choice_trains_and_writes_xtreme_jsonl_predictions()
    {
        var toy = new ToyRun();
        string data = Path.Combine(toy.Root, "xcopa");
        Directory.CreateDirectory(data);
        File.WriteAllLines(Path.Combine(data, "train-en.jsonl"), Enumerable.Range(0, 24).Select(i => Copa(i, "en")));
        File.WriteAllLines(Path.Combine(data, "val-en.jsonl"), Enumerable.Range(0, 6).Select(i => Copa(i, "en")));
        foreach (var lang in new[] { "en", "la" }) File.WriteAllLines(Path.Combine(data, $"test-{lang}.jsonl"), Enumerable.Range(0, 5).Select(i => Copa(i, lang)));
        var yaml = $$"""
            model: {{toy.Model}}
            from_scratch: true
            device: cpu
            stages:
              - { name: t, tasks: [{ task: xcopa, data: {{data}} }], max_steps: 3, eval_every: 3, batch_size: 4, grad_accumulation: 2, max_seq_len: 24, lr: 1e-3 }
            evaluate: { task: xcopa, data: {{data}} }
            """;
        var result = ExperimentRunner.Run(RunConfig.FromYaml(yaml), toy.Options("copa"));
        Assert.Equal(3, result.Stages[0].Steps);
        Assert.Equal(["en", "la"], result.Evaluation!.Languages.Select(l => l.Language));
        foreach (var l in result.Evaluation.Languages)
        {
            Assert.EndsWith($"xcopa/test-{l.Language}.jsonl", l.PredictionFile);
            // The file stilts score reads for XCOPA: {"label": i} per line.
            Assert.All(File.ReadAllLines(l.PredictionFile), p => Assert.Contains(System.Text.Json.JsonDocument.Parse(p).RootElement.GetProperty("label").GetInt32(), new[] { 0, 1 }));
            Assert.Equal(l.Score!.Value, Stilts.Metrics.Scoring.XtremeFiles.ReadXcopaLabels(l.PredictionFile)
                .Zip(File.ReadAllLines(Path.Combine(data, $"test-{l.Language}.jsonl")).Select(j => System.Text.Json.JsonDocument.Parse(j).RootElement.GetProperty("label").GetInt32()))
                .Average(p => p.First == p.Second.ToString() ? 1.0 : 0.0), 12);
            Assert.Equal(5, File.ReadAllLines(l.PredictionFile).Length);
        }
    }
}

public class RunFolderTests
{
    [Fact]
    public void A_run_folder_refuses_a_different_config()
    {
        var toy = new ToyRun();
        string Yaml(int seed) => $$"""
            model: {{toy.Model}}
            from_scratch: true
            seed: {{seed}}
            device: cpu
            stages:
              - { name: t, tasks: [{ task: xnli, data: {{toy.World}}/toynli }], max_steps: 1, eval_every: 1, batch_size: 4, grad_accumulation: 1, max_seq_len: 24, val_subset: 4 }
            """;
        var first = ExperimentRunner.Run(RunConfig.FromYaml(Yaml(1)), toy.Options("r"));
        // Same config again: everything is already done, the result comes back unchanged.
        var again = ExperimentRunner.Run(RunConfig.FromYaml(Yaml(1)), toy.Options("r"));
        Assert.Equal(first.Stages, again.Stages);
        var e = Assert.Throws<InvalidInputException>(() => ExperimentRunner.Run(RunConfig.FromYaml(Yaml(2)), toy.Options("r")));
        Assert.EndsWith("run.yaml", e.Where);

        // A folder saved before a setting existed (its run.yaml lacks the key) resumes: the default fills it in.
        string saved = Path.Combine(first.RunDir, "run.yaml");
        var lines = File.ReadAllLines(saved);
        Assert.Contains(lines, l => l.Contains("doc_stride: 128"));
        File.WriteAllLines(saved, lines.Where(l => !l.Contains("doc_stride")));
        Assert.Equal(first.Stages, ExperimentRunner.Run(RunConfig.FromYaml(Yaml(1)), toy.Options("r")).Stages);
    }
}
