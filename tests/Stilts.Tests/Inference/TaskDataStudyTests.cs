using Stilts.Inference;
using Stilts.Models;
using Stilts.Pipeline;
using Stilts.Studies;
using Stilts.Tasks;
using TorchSharp;

namespace Stilts.Tests.Inference;

/// <summary>
/// The study `inference:` block's `data: test`: every finished target run is timed on its target's real test
/// examples with its own evaluation settings, and stored in the task_inference table.
/// </summary>
public sealed class TaskDataStudyTests
{
    [Fact]
    public void Finished_target_runs_are_timed_on_their_targets_test_data_with_their_evaluation_settings()
    {
        string root = TestPaths.NewTempDir("stilts-taskdata-study");
        ToyWorld.Generate(new ToyWorldOptions { NliTrain = 60, SentimentTrain = 60, PosTrain = 10, DevSize = 10, TestSize = 12, CorpusSize = 10 })
            .Write(Path.Combine(root, "world"));
        string model = Path.Combine(root, "models", "mt5-tiny");
        TinyMt5.Write(model, dModel: 16, layers: 1, heads: 2, seed: 3, dKv: 4);
        string study = Path.Combine(root, "study.yaml");
        File.WriteAllText(study, """
            name: taskdata
            output: runs
            models:
              - {name: mt5-tiny, path: models/mt5-tiny}
            regimes:
              - baseline
              - {name: nli, stages: [{task: xnli, data: world/toynli}]}
            targets:
              - {task: toysent, data: world/toysent, languages: [en, la], eval_max_seq_len: 32, max_new_tokens: 3, constrain_to_labels: true}
            seeds: [1]
            overrides: {device: cpu, log_every: 50}
            stage_defaults: {max_steps: 2, batch_size: 8, grad_accumulation: 1, max_seq_len: 32, max_target_len: 6, eval_every: 2, val_subset: 8, lr: 1e-3}
            inference: {batch_sizes: [1, 4], seq_lens: [8], generation_length: 2, warmup: 1, iterations: 2, device: cpu, data: test, examples: 5}
            """);
        var file = StudyFile.Load(study);
        Assert.Equal((Split.Test, 5), (file.Inference!.Data, file.Inference.Examples));

        var (exit, stdout, stderr) = CliProcess.Run("run", study);
        Assert.True(exit == 0, stderr + stdout);
        // 2 target runs x 2 languages x 2 batch sizes
        Assert.Contains("inference: task data: 8 new row(s), 2 run(s) benchmarked", stdout);
        using (var store = ResultsStore.Open(file.ResultsPath))
        {
            var rows = store.TaskInference(file.Name);
            Assert.Equal(8, rows.Count);
            var targets = store.Runs(file.Name).Where(r => r.Kind == "Target").Select(r => r.Key).Order().ToList();
            Assert.Equal(targets, rows.Select(r => r.RunKey!).Distinct().Order());
            foreach (var r in rows)
            {
                Assert.True(r.Result.IsConsistent(), r.Result.ToString());
                // The run's evaluation settings: its languages, max_seq_len 32, constrained decoding.
                Assert.Contains(r.Result.Language, new[] { "en", "la" });
                Assert.Equal((TaskBenchCall.ConstrainedGenerate, 32, 3, 5, Split.Test), (r.Result.Call, r.Result.MaxSeqLen, r.Result.MaxNewTokens, r.Result.Examples, r.Result.Split));
                Assert.Equal(("toysent", "mt5-tiny"), (r.Task, r.Model));
            }
            Assert.Equal(4, store.Inference(file.Name).Count); // the fixed-work rows are still measured
        }

        (exit, stdout, stderr) = CliProcess.Run("run", study);
        Assert.True(exit == 0, stderr + stdout);
        Assert.Contains("inference: task data: 0 new row(s), 0 run(s) benchmarked", stdout);

        // The report compares the regimes on this real work: one line per (regime, language, batch), ratios to the baseline.
        string reportDir = Path.Combine(root, "report");
        (exit, stdout, stderr) = CliProcess.Run("report", "--study", study, "--output", reportDir);
        Assert.True(exit == 0, stderr + stdout);
        var csv = File.ReadAllLines(Path.Combine(reportDir, "inference-task-regimes.csv"));
        var header = csv[0].Split(',');
        var lines = csv.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(8, lines.Count);
        int regime = Array.IndexOf(header, "regime"), ratio = Array.IndexOf(header, "p50 / baseline"), gen = Array.IndexOf(header, "mean generated");
        Assert.Equal(["baseline", "nli"], lines.Select(l => l[regime]).Distinct().Order());
        Assert.All(lines.Where(l => l[regime] == "baseline"), l => Assert.Equal("1.000", l[ratio]));
        using (var store = ResultsStore.Open(file.ResultsPath))
        {
            var runs = store.Runs(file.Name).ToDictionary(r => r.Key);
            foreach (var l in lines)
            {
                var stored = store.TaskInference(file.Name).Single(r => runs[r.RunKey!].Regime == l[regime]
                    && r.Result.Language == l[Array.IndexOf(header, "language")] && r.Result.BatchSize.ToString() == l[Array.IndexOf(header, "batch")]);
                Assert.Equal(stored.Result.MeanGeneratedLength.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), l[gen]);
            }
        }

        File.WriteAllText(study, File.ReadAllText(study).Replace("data: test, examples: 5", "data: train"));
        var e = Assert.Throws<InvalidInputException>(() => StudyFile.Load(study));
        Assert.Contains("inference.data", e.Message);
    }
}
