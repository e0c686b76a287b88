using System.Diagnostics;
using Stilts.Pipeline;

namespace Stilts.Tests.Pipeline;

/// <summary>
/// The exact-resume guarantee, end to end through the CLI in child processes: a run killed with SIGKILL at several
/// points and re-run with the same command must end with the same model bytes and the same metrics as a run that
/// was never interrupted.
/// </summary>
public class ResumeTests
{
    static string Config(ToyRun toy) => $"""
        model: {toy.Model}
        from_scratch: true
        seed: 11
        device: cpu
        log_every: 1
        stages:
          - name: intermediate
            tasks: [{"{"} task: udpos, data: {toy.World}/toypos {"}"}]
            mlm: {"{"} corpus: {toy.World}/mlm, ratio: 0.3 {"}"}
            epochs: 1
            lr: 1e-3
            batch_size: 8
            grad_accumulation: 2
            max_seq_len: 32
            eval_every: 3
            val_subset: 30
          - name: target
            tasks: [{"{"} task: xnli, data: {toy.World}/toynli {"}"}]
            epochs: 1
            lr: 1e-3
            batch_size: 16
            grad_accumulation: 2
            max_seq_len: 32
            eval_every: 4
            val_subset: 40
            patience: 3
        evaluate: {"{"} task: xnli, data: {toy.World}/toynli, max_seq_len: 32 {"}"}
        """;

    static Process Start(string configPath, string runDir, string cacheDir)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Stilts.Cli.dll"), "train", configPath, "--run-dir", runDir, "--cache-dir", cacheDir, "--no-tensorboard" })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    static int StepLines(string runDir)
    {
        string log = Path.Combine(runDir, "train_log.jsonl");
        if (!File.Exists(log)) return 0;
        using var s = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var r = new StreamReader(s);
        int n = 0;
        while (r.ReadLine() is string line) if (line.Contains("\"type\":\"step\"")) n++;
        return n;
    }

    static void RunToEnd(string configPath, string runDir, string cacheDir)
    {
        using var p = Start(configPath, runDir, cacheDir);
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(5)), "the run did not finish");
        Assert.Equal(0, p.ExitCode);
    }

    static Dictionary<string, byte[]> Outputs(string runDir)
    {
        var files = new[] { "results.json" }
            .Concat(Directory.GetFiles(Path.Combine(runDir, "predictions"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(runDir, f)))
            .Concat(new[] { "intermediate", "target" }.SelectMany(s => new[] { $"stages/{s}/final/model.safetensors", $"stages/{s}/final/heads.safetensors" }));
        return files.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(runDir, f)));
    }

    [Fact]
    public void A_run_killed_at_several_points_and_resumed_ends_exactly_like_an_uninterrupted_one()
    {
        var toy = new ToyRun(new ToyWorldOptions { NliTrain = 300, PosTrain = 120, DevSize = 40, TestSize = 60, CorpusSize = 150 });
        string configPath = Path.Combine(toy.Root, "run.yaml");
        File.WriteAllText(configPath, Config(toy));

        string straight = Path.Combine(toy.Root, "runs", "straight");
        RunToEnd(configPath, straight, toy.Cache);

        // Kill at step-log thresholds spread over both stages; the kill lands wherever the child happens to be
        // (mid-step, mid-validation, mid-checkpoint write).
        string killed = Path.Combine(toy.Root, "runs", "killed");
        int kills = 0;
        foreach (int threshold in new[] { 5, 11, 20 })
        {
            using var p = Start(configPath, killed, toy.Cache);
            var clock = Stopwatch.StartNew();
            while (!p.HasExited && StepLines(killed) < threshold && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(20);
            if (p.HasExited) break;
            p.Kill();
            p.WaitForExit();
            kills++;
        }
        Assert.True(kills >= 2, $"only {kills} kills landed before the run finished");
        RunToEnd(configPath, killed, toy.Cache);

        var expected = Outputs(straight);
        var actual = Outputs(killed);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (file, bytes) in expected) Assert.True(bytes.AsSpan().SequenceEqual(actual[file]), $"{file} differs after resume");
        // The resumed run really resumed: its log shows the stage restarting from a checkpoint.
        Assert.Contains(File.ReadLines(Path.Combine(killed, "train_log.jsonl")), l => l.Contains("\"type\":\"step\""));
    }
}
