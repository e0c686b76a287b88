using System.Text.Json;
using Stilts.Pipeline;
using Stilts.Studies;
using Stilts.Tests.Pipeline;

namespace Stilts.Tests.Studies;

/// <summary>A tiny real study on the toy world (2 intermediate regimes + baseline x 2 targets x 2 seeds), run by the CLI.</summary>
public sealed class StudyEndToEndTests
{
    /// <summary>A toy world, a tiny BERT pretrained on it with a few MLM steps, and a study file over both.</summary>
    internal static string WriteToyStudy(string? name = null)
    {
        var toy = new ToyRun();
        var pretrain = ExperimentRunner.Run(RunConfig.FromYaml($$"""
            model: {{toy.Model}}
            from_scratch: true
            seed: 1
            device: cpu
            stages:
              - { name: mlm, mlm: { corpus: {{toy.World}}/mlm }, max_steps: 10, batch_size: 16, grad_accumulation: 1, max_seq_len: 32, lr: 1e-3, eval_every: 10 }
            """), toy.Options("pretrain"));
        string study = Path.Combine(toy.Root, "study.yaml");
        File.WriteAllText(study, $$"""
            name: {{name ?? "toy-study"}}
            output: runs
            models: [{name: tiny, path: {{pretrain.ModelDir}}}]
            regimes:
              - baseline
              - {name: nli, stages: [{task: xnli, data: world/toynli}]}
              - {name: pos, stages: [{task: udpos, data: world/toypos}]}
            targets:
              - {task: xnli, data: world/toynli, eval_max_seq_len: 32}
              - {task: udpos, data: world/toypos, eval_max_seq_len: 32}
            seeds: [1, 2]
            overrides: {device: cpu, log_every: 50}
            stage_defaults: {max_steps: 6, batch_size: 8, grad_accumulation: 1, max_seq_len: 32, eval_every: 3, val_subset: 20, lr: 1e-3}
            """);
        return study;
    }

    [Fact]
    public void LocalBackendRunsTheStudyOnceAndTheReportShowsIt()
    {
        string study = WriteToyStudy();
        var (exit, stdout, stderr) = CliProcess.Run("validate", study);
        Assert.True(exit == 0, stderr + stdout);
        Assert.Contains("4 intermediate run(s)", stdout);
        Assert.Contains("12 target run(s)", stdout);

        (exit, stdout, stderr) = CliProcess.Run("run", study, "--workers", "2");
        Assert.True(exit == 0, stderr + stdout);
        Assert.Contains("16/16 done, 0 failed", stdout);

        var file = StudyFile.Load(study);
        using (var store = ResultsStore.Open(file.ResultsPath))
        {
            var runs = store.Runs(file.Name);
            Assert.All(runs, r => Assert.Equal(RunStatus.Done, r.Status));
            var metrics = store.Metrics(file.Name);
            // every target run has a task-level score and per-language scores for the 5 toy languages
            foreach (var run in runs.Where(r => r.Kind == "Target"))
            {
                Assert.Single(metrics, m => m.RunKey == run.Key && m.Language == "" && m.Metric == "score");
                Assert.Equal(5, metrics.Count(m => m.RunKey == run.Key && m.Language != "" && m.Metric == "score"));
            }
            Assert.All(metrics, m => Assert.InRange(m.Value, 0, 100));
        }

        // A second invocation finds nothing to do: finished runs are never recomputed.
        (exit, stdout, stderr) = CliProcess.Run("run", study);
        Assert.True(exit == 0, stderr + stdout);
        Assert.DoesNotContain("start ", stdout);

        string csv = Path.Combine(Path.GetDirectoryName(study)!, "results.csv");
        (exit, _, stderr) = CliProcess.Run("results", "export", "--study", study, "--format", "csv", "--output", csv);
        Assert.True(exit == 0, stderr);
        Assert.True(File.ReadAllLines(csv).Length > 16 * 2);

        string report = Path.Combine(Path.GetDirectoryName(study)!, "report");
        (exit, _, stderr) = CliProcess.Run("report", "--study", study, "--output", report);
        Assert.True(exit == 0, stderr);
        string md = File.ReadAllText(Path.Combine(report, "report.md"));
        Assert.Contains("Main table — tiny", md);
        Assert.Contains("Per language — xnli", md);
        Assert.Contains("By resource level — udpos", md);
        Assert.True(File.Exists(Path.Combine(report, "heatmap-tiny.png")));
    }

    [Fact]
    public void AFailedRunIsMarkedAndRetriedOnTheNextRun()
    {
        string study = WriteToyStudy("retry");
        string pos = Path.Combine(Path.GetDirectoryName(study)!, "world", "toypos");
        string hidden = pos + ".hidden";
        Directory.Move(pos, hidden); // the pos regime and the udpos target cannot read their data
        var (exit, stdout, _) = CliProcess.Run("run", study);
        Assert.Equal(1, exit);
        var file = StudyFile.Load(study);
        using (var store = ResultsStore.Open(file.ResultsPath))
        {
            var failed = store.Runs(file.Name).Where(r => r.Status == RunStatus.Failed).ToList();
            Assert.Contains(failed, r => r.Key == "int/tiny/pos/s1");
            Assert.All(failed, r => Assert.False(string.IsNullOrEmpty(r.Error)));
            Assert.Contains(store.Runs(file.Name), r => r.Key == "tgt/tiny/nli/xnli/s1" && r.Status == RunStatus.Done);
        }
        Directory.Move(hidden, pos);
        (exit, stdout, _) = CliProcess.Run("run", study);
        Assert.True(exit == 0, stdout);
        Assert.Contains("16/16 done, 0 failed", stdout);
    }
}

/// <summary>The same tiny study submitted to a real Slurm (slurmctld + slurmd on localhost) as job arrays.</summary>
public sealed class SlurmBackendTests
{
    [Fact]
    public void SlurmBackendRunsEveryRunAsArrayTasksWithIntermediateFirst()
    {
        using var slurm = new LocalSlurm();
        string study = StudyEndToEndTests.WriteToyStudy("slurm-study");
        var (exit, stdout, stderr) = CliProcess.RunWith(null, slurm.Configure, "run", study, "--backend", "slurm", "--wait");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("submitted 4 intermediate run(s)", stdout);
        Assert.Contains("16/16 done, 0 failed", stdout);
        var file = StudyFile.Load(study);
        using var store = ResultsStore.Open(file.ResultsPath);
        var runs = store.Runs(file.Name).ToDictionary(r => r.Key);
        // Every target run of a regime started after its intermediate run finished.
        foreach (var run in runs.Values.Where(r => r.Kind == "Target" && r.Regime != "baseline"))
            Assert.True(run.StartedAt >= runs[$"int/{run.Model}/{run.Regime}/s{run.Seed}"].FinishedAt, run.Key);
        // Each ran in its own Slurm task process, not in the submitting one.
        Assert.DoesNotContain(runs.Values, r => r.Checkpoint == null);
        string logs = Directory.GetDirectories(Path.Combine(file.OutputDir, "slurm")).Single();
        Assert.Equal(4, Directory.GetFiles(logs, "intermediate-*.log").Length);
        Assert.Equal(12, Directory.GetFiles(logs, "target-*.log").Length);
    }
}
