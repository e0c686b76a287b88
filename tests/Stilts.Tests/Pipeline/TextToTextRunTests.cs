using System.Text.Json;
using Stilts.Checkpoints;
using Stilts.Models;
using Stilts.Pipeline;
using Stilts.Tasks;
using TorchSharp;

namespace Stilts.Tests.Pipeline;

/// <summary>
/// mT5 through the same runner as the encoders: a tiny mT5-shaped model (gated-GELU, untied head, the public test
/// vectors' SentencePiece vocabulary) trained on the toy world's tasks as text-to-text.
/// </summary>
public sealed class TextToTextRunTests
{
    /// <summary>A toy world and a random tiny mT5 with a real T5 tokenizer.</summary>
    sealed class ToyMt5
    {
        public ToyRun Toy { get; } = new(new ToyWorldOptions { NliTrain = 300, SentimentTrain = 600, PosTrain = 120, DevSize = 60, TestSize = 60, CorpusSize = 50 });
        public string Model => Path.Combine(Toy.Root, "tiny-mt5");

        public ToyMt5()
        {
            TinyMt5.Write(Model, dModel: 48, layers: 2, heads: 4, seed: 11);
        }

        public string Data(string task) => Path.Combine(Toy.World, task);
    }

    [Fact]
    public void Tiny_mt5_learns_toy_sentiment_and_is_scored_zero_shot_in_every_language_with_the_encoder_metrics()
    {
        var t = new ToyMt5();
        var yaml = $"""
            model: {t.Model}
            device: cpu
            seed: 3
            stages:
              - {"{"} name: target, tasks: [{"{"} task: toysent, data: {t.Data("toysent")} {"}"}], epochs: 6, lr: 3e-3, batch_size: 16, grad_accumulation: 1, max_seq_len: 48, max_target_len: 8, eval_every: 40, val_subset: 60, warmup_ratio: 0.05, weight_decay: 0.0 {"}"}
            evaluate: {"{"} task: toysent, data: {t.Data("toysent")}, max_seq_len: 48, max_new_tokens: 8, constrain_to_labels: true {"}"}
            """;
        var result = ExperimentRunner.Run(RunConfig.FromYaml(yaml), t.Toy.Options("mt5-sent"));

        // Learned, not staged: English validation accuracy well above chance (50%).
        Assert.True(result.Stages[0].BestMetric > 0.8, $"best English dev accuracy {result.Stages[0].BestMetric}");
        var eval = result.Evaluation!;
        Assert.Equal(["cy", "en", "gr", "la", "sy"], eval.Languages.Select(l => l.Language));
        Assert.True(eval.ScoreOf("en") > 0.8, $"English test accuracy {eval.ScoreOf("en")}");
        foreach (var l in eval.Languages)
        {
            // Constrained decoding: every prediction is a label word; the score is the plain accuracy of that file.
            var predicted = File.ReadAllLines(l.PredictionFile);
            Assert.All(predicted, p => Assert.Contains(p, ToySentiment.Labels));
            var gold = ToySentiment.Read(Path.Combine(t.Data("toysent"), $"test-{l.Language}.tsv")).Select(e => e.Label!).ToList();
            Assert.Equal(gold.Zip(predicted).Count(p => p.First == p.Second) / (double)gold.Count, l.Score!.Value, 12);
        }
        // The stage folder is a plain HF T5 checkpoint.
        using var reloaded = T5ForConditionalGeneration.FromPretrained(result.ModelDir);
        Assert.Equal(48, reloaded.Config.DModel);
        Assert.Equal(ModelFamily.T5, Pretrained.FamilyOf(result.ModelDir));
        Assert.True(File.Exists(Path.Combine(result.ModelDir, "spiece.model")));

        // stilts bench inference on the trained model: consistent figures, generation length as asked.
        string output = Path.Combine(t.Toy.Root, "bench.json");
        var (exit, _, stderr) = CliProcess.Run("bench", "inference", "--model", result.ModelDir, "--task", "toysent",
            "--batch-sizes", "1,4", "--seq-lens", "16,32", "--generation-length", "3", "--warmup", "1", "--iterations", "5", "--output", output);
        Assert.True(exit == 0, stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        Assert.Equal("T5", doc.RootElement.GetProperty("family").GetString());
        var rows = doc.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(4, rows.Count);
        foreach (var r in rows)
        {
            double p50 = r.GetProperty("p50_ms").GetDouble(), p95 = r.GetProperty("p95_ms").GetDouble(), p99 = r.GetProperty("p99_ms").GetDouble();
            double mean = r.GetProperty("mean_ms").GetDouble();
            int batch = r.GetProperty("batch_size").GetInt32(), len = r.GetProperty("seq_len").GetInt32();
            Assert.True(p50 > 0 && p50 <= p95 && p95 <= p99, r.ToString());
            Assert.Equal(3, r.GetProperty("generation_length").GetInt32());
            Assert.Equal(batch * 1000.0 / mean, r.GetProperty("examples_per_second").GetDouble(), 6);
            Assert.Equal(batch * (len + 3) * 1000.0 / mean, r.GetProperty("tokens_per_second").GetDouble(), 6);
        }
    }

    [Fact]
    public void Mt5_runs_sequential_and_joint_regimes_with_tagging_as_text()
    {
        var t = new ToyMt5();
        string Stage(string name, string tasks, int steps) =>
            $"  - {{ name: {name}, tasks: [{tasks}], max_steps: {steps}, lr: 1e-3, batch_size: 8, grad_accumulation: 1, max_seq_len: 40, max_target_len: 24, eval_every: {steps}, val_subset: 6 }}";
        string nli = $"{{ task: xnli, data: {t.Data("toynli")} }}", pos = $"{{ task: udpos, data: {t.Data("toypos")} }}", sent = $"{{ task: toysent, data: {t.Data("toysent")} }}";

        // Sequential: NLI, then sentiment, starting from the NLI stage's model.
        var sequential = ExperimentRunner.Run(RunConfig.FromYaml($"""
            model: {t.Model}
            device: cpu
            stages:
            {Stage("intermediate", nli, 3)}
            {Stage("target", sent, 2)}
            evaluate: {"{"} task: toysent, data: {t.Data("toysent")}, languages: [en, la], max_seq_len: 40, max_new_tokens: 4 {"}"}
            """), t.Toy.Options("mt5-seq"));
        Assert.Equal([3L, 2L], sequential.Stages.Select(s => s.Steps));
        Assert.Equal(2, sequential.Evaluation!.Languages.Count);
        // The target stage started from the intermediate model, not from the pretrained one: a different starting
        // point gives different final weights after the same target steps.
        var direct = ExperimentRunner.Run(RunConfig.FromYaml($"""
            model: {t.Model}
            device: cpu
            stages:
            {Stage("target", sent, 2)}
            """), t.Toy.Options("mt5-direct"));
        Assert.NotEqual(Weights(direct.ModelDir, "shared.weight"), Weights(sequential.ModelDir, "shared.weight"));

        // Joint: NLI and POS tagging in one stage on one model; POS is written as a tag sequence and read back per word.
        var joint = ExperimentRunner.Run(RunConfig.FromYaml($"""
            model: {t.Model}
            device: cpu
            log_every: 1
            stages:
            {Stage("joint", nli + ", " + pos, 6).Replace("max_steps", "sampler: { kind: uniform }, max_steps")}
            evaluate: {"{"} task: udpos, data: {t.Data("toypos")}, languages: [gr], max_seq_len: 40, max_new_tokens: 24 {"}"}
            """), t.Toy.Options("mt5-joint"));
        var steps = File.ReadLines(Path.Combine(joint.RunDir, "train_log.jsonl")).Where(l => l.Contains("\"type\":\"step\"")).ToList();
        Assert.Contains(steps, l => l.Contains("\"task\":\"xnli\""));
        Assert.Contains(steps, l => l.Contains("\"task\":\"udpos\""));
        var gr = Assert.Single(joint.Evaluation!.Languages);
        var sentences = File.ReadAllText(gr.PredictionFile).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var words = UdPos.ReadXtreme(Path.Combine(t.Data("toypos"), "test-gr.tsv")).ToList();
        Assert.Equal(words.Count, sentences.Length);
        for (int i = 0; i < words.Count; i++)
            Assert.Equal(words[i].Words.Count, sentences[i].Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.InRange(gr.Score!.Value, 0, 1);
    }

    [Fact]
    public void An_interrupted_mt5_run_resumes_to_the_same_weights_and_scores()
    {
        var t = new ToyMt5();
        string yaml = $"""
            model: {t.Model}
            device: cpu
            log_every: 1
            stages:
              - {"{"} name: target, tasks: [{"{"} task: toysent, data: {t.Data("toysent")} {"}"}], max_steps: 8, lr: 1e-3, batch_size: 8, grad_accumulation: 2, max_seq_len: 40, max_target_len: 6, eval_every: 3, val_subset: 10 {"}"}
            evaluate: {"{"} task: toysent, data: {t.Data("toysent")}, languages: [en, cy], max_seq_len: 40, max_new_tokens: 4 {"}"}
            """;
        var whole = ExperimentRunner.Run(RunConfig.FromYaml(yaml), t.Toy.Options("whole"));

        var options = t.Toy.Options("interrupted");
        Assert.Throws<StopAt>(() => ExperimentRunner.Run(RunConfig.FromYaml(yaml), options with { Observer = new StopAtStep(7) }));
        var resumed = ExperimentRunner.Run(RunConfig.FromYaml(yaml), options);

        Assert.Equal(whole.Stages[0], resumed.Stages[0]);
        Assert.Equal(whole.Evaluation!.Languages.Select(l => l.Score), resumed.Evaluation!.Languages.Select(l => l.Score));
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole.ModelDir, "model.safetensors")), File.ReadAllBytes(Path.Combine(resumed.ModelDir, "model.safetensors")));
        Assert.Contains(File.ReadLines(Path.Combine(resumed.RunDir, "train_log.jsonl")), l => l.Contains("\"type\":\"step\"") && l.Contains("\"step\":7"));
    }

    /// <summary>Step losses of one task from train_log.jsonl, in step order.</summary>
    static List<double> Losses(string runDir, string task) =>
        [.. File.ReadLines(Path.Combine(runDir, "train_log.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "step" && e.GetProperty("task").GetString() == task)
            .Select(e => e.GetProperty("loss").GetDouble())];

    [Fact]
    public void An_mt5_mlm_only_stage_trains_span_corruption_and_lowers_its_loss()
    {
        var t = new ToyMt5();
        var yaml = $"""
            model: {t.Model}
            device: cpu
            seed: 2
            log_every: 1
            stages:
              - {"{"} name: pretrain, mlm: {"{"} corpus: {t.Toy.World}/mlm {"}"}, epochs: 10, max_steps: 60, lr: 3e-3, batch_size: 16, grad_accumulation: 1, max_seq_len: 32, eval_every: 60, warmup_ratio: 0.05, weight_decay: 0.0 {"}"}
            """;
        var result = ExperimentRunner.Run(RunConfig.FromYaml(yaml), t.Toy.Options("mt5-mlm"));
        Assert.Equal(60L, result.Stages[0].Steps);
        var losses = Losses(result.RunDir, "mlm");
        Assert.Equal(60, losses.Count);
        // From about ln(2100) = 7.6 (uniform over the vocabulary) to well below: the sentinels, </s> and the toy
        // words are learned. The first and last ten steps, so one odd batch cannot decide it.
        double first = losses.Take(10).Average(), last = losses.TakeLast(10).Average();
        Assert.True(first > 6.5, $"first losses {first:F3}");
        Assert.True(last < first - 2.5, $"loss {first:F3} -> {last:F3}");
        // The stage's model is a plain T5 checkpoint that the next stage (or stilts generate) can start from.
        Assert.NotEqual(Weights(t.Model, "shared.weight"), Weights(result.ModelDir, "shared.weight"));
    }

    [Fact]
    public void An_mt5_stage_mixes_span_corruption_into_a_task_and_resumes_exactly()
    {
        var t = new ToyMt5();
        string yaml = $"""
            model: {t.Model}
            device: cpu
            log_every: 1
            stages:
              - {"{"} name: mixed, tasks: [{"{"} task: toysent, data: {t.Data("toysent")} {"}"}], mlm: {"{"} corpus: {t.Toy.World}/mlm, ratio: 0.5, mask_probability: 0.3 {"}"}, max_steps: 12, lr: 1e-3, batch_size: 8, grad_accumulation: 2, max_seq_len: 40, max_target_len: 6, eval_every: 5, val_subset: 10 {"}"}
            evaluate: {"{"} task: toysent, data: {t.Data("toysent")}, languages: [en], max_seq_len: 40, max_new_tokens: 4 {"}"}
            """;
        var whole = ExperimentRunner.Run(RunConfig.FromYaml(yaml), t.Toy.Options("mixed-whole"));
        var mlm = Losses(whole.RunDir, "mlm");
        var sent = Losses(whole.RunDir, "toysent");
        Assert.Equal(12, mlm.Count + sent.Count);
        Assert.True(mlm.Count >= 2 && sent.Count >= 2, $"{mlm.Count} span-corruption steps, {sent.Count} sentiment steps");
        // Span-corruption targets are words of the vocabulary (higher loss); sentiment targets are one label word.
        Assert.True(mlm.Average() > sent.Average(), $"mlm {mlm.Average():F3}, toysent {sent.Average():F3}");
        Assert.InRange(whole.Evaluation!.ScoreOf("en")!.Value, 0, 1);

        // Killed mid-stage and resumed: the same corruption draws (seeded per step), so the same weights.
        var options = t.Toy.Options("mixed-interrupted");
        Assert.Throws<StopAt>(() => ExperimentRunner.Run(RunConfig.FromYaml(yaml), options with { Observer = new StopAtStep(8) }));
        var resumed = ExperimentRunner.Run(RunConfig.FromYaml(yaml), options);
        Assert.Equal(whole.Stages[0], resumed.Stages[0]);
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole.ModelDir, "model.safetensors")), File.ReadAllBytes(Path.Combine(resumed.ModelDir, "model.safetensors")));
    }

    static float[] Weights(string dir, string name)
    {
        var tensors = SafeTensors.Read(Path.Combine(dir, "model.safetensors"));
        try { return tensors[name].data<float>().ToArray(); }
        finally { foreach (var x in tensors.Values) x.Dispose(); }
    }

    sealed class StopAt : Exception;

    /// <summary>Kills the run (an exception out of the training loop) once the given step has been logged.</summary>
    sealed class StopAtStep(long step) : ITrainingObserver
    {
        public void OnStageStart(string stage, long totalSteps, long resumedAt) { }
        public void OnStep(StepReport report) { if (report.Step >= step) throw new StopAt(); }
        public void OnEval(EvalReport report) { }
        public void OnMessage(string message) { }
    }
}
