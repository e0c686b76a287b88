using System.Globalization;
using Stilts.Models;
using Stilts.Pipeline;
using Stilts.Studies;
using TorchSharp;

namespace Stilts.Tests.Studies;

/// <summary>
/// Issue #6 end to end on the toy world: two tiny mT5-shaped models of different sizes, direct fine-tuning vs
/// NLI-then-sentiment, trained by `stilts run`, benchmarked by its `inference:` block, and compared by `stilts report`.
/// </summary>
public sealed class Mt5InferenceStudyTests
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    static string WriteStudy()
    {
        string root = TestPaths.NewTempDir("stilts-mt5-study");
        ToyWorld.Generate(new ToyWorldOptions { NliTrain = 120, SentimentTrain = 120, PosTrain = 20, DevSize = 20, TestSize = 24, CorpusSize = 20 })
            .Write(Path.Combine(root, "world"));
        TinyMt5.Write(Path.Combine(root, "models", "mt5-tiny"), dModel: 32, layers: 1, heads: 4, seed: 5);
        TinyMt5.Write(Path.Combine(root, "models", "mt5-small"), dModel: 64, layers: 2, heads: 4, seed: 6);
        string study = Path.Combine(root, "study.yaml");
        // The larger model is listed first: the size ladder orders by parameter count, not by the file.
        File.WriteAllText(study, """
            name: mt5-latency
            output: runs
            models:
              - {name: mt5-small, path: models/mt5-small, size: small}
              - {name: mt5-tiny, path: models/mt5-tiny, size: tiny}
            regimes:
              - baseline
              - {name: nli, stages: [{task: xnli, data: world/toynli}]}
            targets:
              - {task: toysent, data: world/toysent, languages: [en, la], eval_max_seq_len: 32, eval_batch_size: 12, max_new_tokens: 3, constrain_to_labels: true}
            seeds: [1]
            overrides: {device: cpu, log_every: 50}
            stage_defaults: {max_steps: 3, batch_size: 8, grad_accumulation: 1, max_seq_len: 32, max_target_len: 6, eval_every: 3, val_subset: 8, lr: 1e-3}
            inference: {batch_sizes: [1, 4], seq_lens: [8, 24], generation_length: 2, warmup: 1, iterations: 5, device: cpu}
            """);
        return study;
    }

    [Fact]
    public void Intermediate_and_direct_mt5_checkpoints_of_two_sizes_are_trained_benchmarked_and_compared_in_the_report()
    {
        string study = WriteStudy();
        var file = StudyFile.Load(study);

        // Text-to-text evaluation settings of the target reach the evaluation, not the fine-tuning stage.
        var target = StudyPlan.Expand(file).First(r => r.Kind == PlannedRunKind.Target && r.Regime.Name == "nli");
        var config = PipelineExecutor.BuildConfig(file, target, startFrom: null);
        Assert.Equal(3, config.Evaluate!.MaxNewTokens);
        Assert.True(config.Evaluate.ConstrainToLabels);
        Assert.Equal(12, config.Evaluate.BatchSize);
        Assert.Equal(["en", "la"], config.Evaluate.Languages!);
        Assert.Equal(6, Assert.Single(config.Stages).MaxTargetLen);
        Assert.Equal(2, file.Inference!.GenerationLength);

        // The cost estimate reads the mT5 checkpoints' parameter counts like an encoder's.
        var (exit, stdout, stderr) = CliProcess.Run("validate", study);
        Assert.True(exit == 0, stderr + stdout);
        Assert.Contains("2 intermediate run(s)", stdout);
        Assert.Contains("4 target run(s)", stdout);
        Assert.DoesNotContain("note: model", stdout);
        Assert.DoesNotContain(" ? ", stdout.Split('\n').First(l => l.StartsWith("tgt/mt5-tiny/nli/toysent/s1")));

        (exit, stdout, stderr) = CliProcess.Run("run", study);
        Assert.True(exit == 0, stderr + stdout);
        Assert.Contains("6/6 done, 0 failed", stdout);
        // 4 target runs x 2 batch sizes x 2 lengths
        Assert.Contains("inference: 16 new row(s), 4 run(s) benchmarked", stdout);

        List<InferenceRow> rows;
        Dictionary<string, RunRecord> runs;
        using (var store = ResultsStore.Open(file.ResultsPath))
        {
            runs = store.Runs(file.Name).ToDictionary(r => r.Key);
            rows = store.Inference(file.Name).ToList();
            var metrics = store.Metrics(file.Name);
            foreach (var run in runs.Values.Where(r => r.Kind == "Target"))
            {
                var score = Assert.Single(metrics, m => m.RunKey == run.Key && m.Language == "" && m.Metric == "score");
                Assert.InRange(score.Value, 0, 100);
            }
        }
        Assert.Equal(16, rows.Count);
        foreach (var r in rows)
        {
            var run = runs[r.RunKey!];
            Assert.Equal("Target", run.Kind);
            Assert.Equal(run.Model, r.Model);
            Assert.Equal("toysent", r.Task);
            Assert.Equal(2, r.GenerationLength);
            Assert.True(r.P50Ms > 0 && r.P50Ms <= r.P95Ms && r.P95Ms <= r.P99Ms, $"{r.RunKey} {r.BatchSize}x{r.SeqLen}: {r.P50Ms} {r.P95Ms} {r.P99Ms}");
            Assert.True(r.ExamplesPerSecond > 0 && r.TokensPerSecond > r.ExamplesPerSecond);
        }
        Assert.Equal(4, rows.Select(r => r.RunKey).Distinct().Count());

        // Nothing left to train or to measure.
        (exit, stdout, stderr) = CliProcess.Run("run", study);
        Assert.True(exit == 0, stderr + stdout);
        Assert.DoesNotContain("start ", stdout);
        Assert.Contains("inference: 0 new row(s), 0 run(s) benchmarked", stdout);

        string reportDir = Path.Combine(file.Folder, "report");
        (exit, _, stderr) = CliProcess.Run("report", "--study", study, "--output", reportDir);
        Assert.True(exit == 0, stderr);
        string md = File.ReadAllText(Path.Combine(reportDir, "report.md"));
        Assert.Contains("## Inference: intermediate-trained vs directly fine-tuned", md);
        Assert.Contains("## Inference: model-size ladder", md);
        Assert.Contains("## Main table — mt5-tiny", md);
        Assert.Contains("## Model size", md);

        // Regime comparison: one line per (model, regime, setting), figures from the stored rows, ratio to the baseline's.
        RunRecord RunOf(InferenceRow r) => runs[r.RunKey!];
        InferenceRow Row(string model, string regime, int batch, int len) =>
            rows.Single(r => RunOf(r).Model == model && RunOf(r).Regime == regime && r.BatchSize == batch && r.SeqLen == len);
        var regimes = ReadCsv(Path.Combine(reportDir, "inference-regimes.csv"));
        Assert.Equal(16, regimes.Count);
        foreach (var line in regimes)
        {
            var stored = Row(line["model"], line["regime"], int.Parse(line["batch"], Inv), int.Parse(line["seq len"], Inv));
            var direct = Row(line["model"], "baseline", stored.BatchSize, stored.SeqLen);
            Assert.Equal(line["model"] == "mt5-tiny" ? "tiny" : "small", line["size"]);
            Assert.Equal("1", line["rows"]);
            Assert.Equal(stored.P50Ms.ToString("0.00", Inv), line["p50 ms"]);
            Assert.Equal(stored.P95Ms.ToString("0.00", Inv), line["p95 ms"]);
            Assert.Equal(stored.P99Ms.ToString("0.00", Inv), line["p99 ms"]);
            Assert.Equal(stored.ExamplesPerSecond.ToString("0.00", Inv), line["examples/s"]);
            Assert.Equal(stored.TokensPerSecond.ToString("0.00", Inv), line["tokens/s"]);
            Assert.Equal((stored.P50Ms / direct.P50Ms).ToString("0.000", Inv), line["p50 / baseline"]);
            Assert.Equal((stored.ExamplesPerSecond / direct.ExamplesPerSecond).ToString("0.000", Inv), line["examples/s / baseline"]);
            if (line["regime"] == "baseline") Assert.Equal("1.000", line["p50 / baseline"]);
        }
        foreach (var model in new[] { "mt5-tiny", "mt5-small" })
            foreach (var regime in new[] { "baseline", "nli" })
                Assert.Equal(4, regimes.Count(l => l["model"] == model && l["regime"] == regime));

        // Size ladder: per regime and setting, the tiny model first (fewer parameters, counted from the checkpoints).
        long tinyParams = Pretrained.Info(Path.Combine(file.Folder, "models", "mt5-tiny")).Parameters;
        long smallParams = Pretrained.Info(Path.Combine(file.Folder, "models", "mt5-small")).Parameters;
        Assert.True(tinyParams < smallParams);
        var ladder = ReadCsv(Path.Combine(reportDir, "inference-sizes.csv"));
        Assert.Equal(16, ladder.Count);
        for (int i = 0; i < ladder.Count; i += 2)
        {
            var (tiny, small) = (ladder[i], ladder[i + 1]);
            Assert.Equal(("mt5-tiny", "mt5-small"), (tiny["model"], small["model"]));
            Assert.Equal((tiny["regime"], tiny["batch"], tiny["seq len"]), (small["regime"], small["batch"], small["seq len"]));
            Assert.Equal(tinyParams.ToString(Inv), tiny["parameters"]);
            Assert.Equal(smallParams.ToString(Inv), small["parameters"]);
            var t = Row("mt5-tiny", tiny["regime"], int.Parse(tiny["batch"], Inv), int.Parse(tiny["seq len"], Inv));
            var s = Row("mt5-small", small["regime"], int.Parse(small["batch"], Inv), int.Parse(small["seq len"], Inv));
            Assert.Equal(t.P50Ms.ToString("0.00", Inv), tiny["p50 ms"]);
            Assert.Equal(s.ExamplesPerSecond.ToString("0.00", Inv), small["examples/s"]);
            Assert.Equal("1.000", tiny["p50 / smallest"]);
            Assert.Equal((s.P50Ms / t.P50Ms).ToString("0.000", Inv), small["p50 / smallest"]);
        }
        Assert.Equal(["baseline", "nli"], ladder.Select(l => l["regime"]).Distinct());
    }

    [Fact]
    public void A_bad_inference_block_names_the_key()
    {
        string root = TestPaths.NewTempDir("stilts-mt5-study-bad");
        string study = Path.Combine(root, "study.yaml");
        void Write(string inference) => File.WriteAllText(study, $"""
            name: bad
            models: [{"{"}name: m, path: m{"}"}]
            targets: [toysent]
            inference: {inference}
            """);
        Write("{batch_sizes: [1, 0]}");
        Assert.Contains("inference.batch_sizes[1]", Assert.Throws<InvalidInputException>(() => StudyFile.Load(study)).Message);
        Write("{device: tpu}");
        Assert.Contains("inference.device", Assert.Throws<InvalidInputException>(() => StudyFile.Load(study)).Message);
        Write("{seq_len: [8]}");
        Assert.Contains("inference.seq_len", Assert.Throws<InvalidInputException>(() => StudyFile.Load(study)).Message);
        Write("{seq_lens: 128, threads: 2}");
        var ok = StudyFile.Load(study).Inference!;
        Assert.Equal([128], ok.SeqLens);
        Assert.Equal(2, ok.Threads);
        Assert.Equal([1, 8, 32], ok.BatchSizes);
    }

    [Fact]
    public void The_regime_comparison_averages_seeds_and_a_replanned_run_loses_its_rows()
    {
        var (study, store) = StudyReportTests.Populate(); // models small, big, en (no checkpoints: parameters unknown)
        using var _ = store;
        void Add(string model, string regime, int seed, double p50, double eps) => store.AddInference(new InferenceRow(study.Name,
            $"tgt/{model}/{regime}/cls/s{seed}", model, "cls", "cpu", 8, 64, 4, p50, p50 + 1, p50 + 2, eps, eps * 68, 100));
        Add("small", "baseline", 1, 10, 100); Add("small", "baseline", 2, 14, 120);
        Add("small", "nli-then-qa", 1, 15, 50); Add("small", "nli-then-qa", 2, 21, 60);
        Add("big", "baseline", 1, 40, 20); Add("big", "baseline", 2, 44, 30);
        // An intermediate run's checkpoint is not a fine-tuned classifier: kept in the raw table, left out of the comparisons.
        store.AddInference(new InferenceRow(study.Name, "int/small/nli-then-qa/s1", "small", "nli", "cpu", 8, 64, 4, 1, 2, 3, 999, 999, 100));

        string outDir = TestPaths.NewTempDir("report");
        StudyReport.Write(study, store, outDir);
        var regimes = ReadCsv(Path.Combine(outDir, "inference-regimes.csv"));
        Assert.Equal(3, regimes.Count);
        var nli = regimes.Single(l => l["model"] == "small" && l["regime"] == "nli-then-qa");
        Assert.Equal(("2", "18.00", "19.00", "20.00", "55.00"), (nli["rows"], nli["p50 ms"], nli["p95 ms"], nli["p99 ms"], nli["examples/s"]));
        Assert.Equal(("1.500", "0.500"), (nli["p50 / baseline"], nli["examples/s / baseline"])); // 18 / 12, 55 / 110
        Assert.Equal("1.000", regimes.Single(l => l["model"] == "big")["p50 / baseline"]);

        var ladder = ReadCsv(Path.Combine(outDir, "inference-sizes.csv"));
        var baselineLadder = ladder.Where(l => l["regime"] == "baseline").ToList();
        Assert.Equal(["small", "big"], baselineLadder.Select(l => l["model"])); // parameters unknown: the study's order
        Assert.Equal(["—", "—"], baselineLadder.Select(l => l["parameters"]));
        Assert.Equal("3.500", baselineLadder[1]["p50 / smallest"]); // 42 / 12
        Assert.Equal(["small"], ladder.Where(l => l["regime"] == "nli-then-qa").Select(l => l["model"]));
        Assert.Contains(ReadCsv(Path.Combine(outDir, "inference.csv")), l => l["run"] == "int/small/nli-then-qa/s1");

        // Re-planning a run (its config changed) drops the rows that measured its old checkpoint.
        var run = store.Get(study.Name, "tgt/small/baseline/cls/s1")!;
        store.Plan(run with { ConfigHash = "changed" });
        Assert.DoesNotContain(store.Inference(study.Name), r => r.RunKey == run.Key);
        Assert.Contains(store.Inference(study.Name), r => r.RunKey == "tgt/small/baseline/cls/s2");
    }

    static List<Dictionary<string, string>> ReadCsv(string path)
    {
        // The report's CSVs quote only cells with commas or quotes; these tables have none.
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second)).ToList();
    }
}
