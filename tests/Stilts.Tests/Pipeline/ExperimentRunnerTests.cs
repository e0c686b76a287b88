using Stilts.Pipeline;

namespace Stilts.Tests.Pipeline;

public class ExperimentRunnerTests
{
    static string Yaml(ToyRun toy, string stages, string extra = "") => $"""
        model: {toy.Model}
        from_scratch: true
        seed: 5
        device: cpu
        log_every: 5
        {extra}
        stages:
        {stages}
        evaluate: {"{"} task: xnli, data: {toy.World}/toynli, max_seq_len: 32 {"}"}
        """;

    static string Target(string world, string extra = "") =>
        $"  - {{ name: target, tasks: [{{ task: xnli, data: {world}/toynli }}], epochs: 1, lr: 1e-3, batch_size: 16, grad_accumulation: 2, max_seq_len: 32, eval_every: 5, val_subset: 40{extra} }}";

    [Fact]
    public void Baseline_runs_end_to_end_and_writes_predictions_metrics_and_logs()
    {
        var toy = new ToyRun();
        var config = RunConfig.FromYaml(Yaml(toy, Target(toy.World)));
        var result = ExperimentRunner.Run(config, toy.Options("baseline"));
        var stage = Assert.Single(result.Stages);
        Assert.Equal(13, stage.Steps); // ceil(400 / 32)
        Assert.NotNull(stage.BestMetric);
        Assert.Equal(["cy", "en", "gr", "la", "sy"], result.Evaluation!.Languages.Select(l => l.Language));
        foreach (var lang in result.Evaluation.Languages)
        {
            Assert.Equal(80, File.ReadAllLines(lang.PredictionFile).Length);
            Assert.All(File.ReadAllLines(lang.PredictionFile), l => Assert.Contains(l, Stilts.Tasks.Xnli.Labels));
            Assert.InRange(lang.Score!.Value, 0, 1);
        }
        string run = result.RunDir;
        Assert.True(File.Exists(Path.Combine(run, "run.yaml")));
        Assert.True(File.Exists(Path.Combine(run, "results.json")));
        Assert.EndsWith(Path.Combine("predictions", "xnli", "test-la.tsv"), result.Evaluation.Languages.Single(l => l.Language == "la").PredictionFile);
        var log = File.ReadAllLines(Path.Combine(run, "train_log.jsonl"));
        Assert.Contains(log, l => l.Contains("\"type\":\"step\""));
        Assert.Contains(log, l => l.Contains("\"type\":\"eval\""));
        Assert.True(File.Exists(Path.Combine(result.ModelDir, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(result.ModelDir, "config.json")));
    }
}
