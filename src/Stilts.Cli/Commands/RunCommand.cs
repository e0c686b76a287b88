using System.CommandLine;
using System.Diagnostics;
using Stilts.Pipeline;
using Stilts.Studies;

namespace Stilts.Cli.Commands;

/// <summary>
/// stilts run STUDY.yaml [--workers N] [--backend local|slurm] [--only KEY] [--cache-dir DIR] [--partition P] [--sbatch-arg A]... [--wait]
/// Runs what is missing of a study and skips what is done; stop and restart it at any time. With an `inference:`
/// block in the study, the local backend then benchmarks every finished target run not yet measured.
/// </summary>
public static class RunCommand
{
    public enum Backend { Local, Slurm }

    public static Command Create()
    {
        var study = new Argument<FileInfo>("study") { Description = "Study file (YAML)" };
        var workers = new Option<int>("--workers") { Description = "Local backend: runs at once, each in its own process", DefaultValueFactory = _ => 1 };
        var backend = new Option<Backend>("--backend") { Description = "local or slurm", DefaultValueFactory = _ => Backend.Local };
        var only = new Option<string?>("--only") { Description = "Run just this run key (what each worker and Slurm task does)" };
        var cacheDir = new Option<DirectoryInfo?>("--cache-dir") { Description = "Tokenize-once cache shared by the runs" };
        var partition = new Option<string?>("--partition") { Description = "Slurm partition" };
        var sbatchArgs = new Option<string[]>("--sbatch-arg") { Description = "Extra sbatch argument, e.g. --sbatch-arg=--gres=gpu:1 (repeatable)", AllowMultipleArgumentsPerToken = false };
        var wait = new Option<bool>("--wait") { Description = "Slurm: wait until the submitted jobs have left the queue, then print the status" };
        var command = new Command("run", "Run (or resume) a study: every missing run, intermediate before target")
        {
            study, workers, backend, only, cacheDir, partition, sbatchArgs, wait,
        };
        command.SetAction(parse => CliCommon.Guard(() =>
        {
            var file = StudyFile.Load(parse.GetValue(study)!.FullName);
            string? cache = parse.GetValue(cacheDir)?.FullName ?? Path.Combine(file.OutputDir, "cache");
            using var store = ResultsStore.Open(file.ResultsPath);
            var executor = PipelineExecutor.Create(cache, new PlainTextObserver(Console.Out));

            if (parse.GetValue(only) is string key)
            {
                StudyRunner.Sync(file, store);
                var run = StudyPlan.Expand(file).FirstOrDefault(r => r.Key == key)
                    ?? throw new InvalidInputException("--only", $"no run '{key}' in {file.SourcePath}");
                if (run.DependsOn != null && store.Get(file.Name, run.DependsOn)?.Status != RunStatus.Done)
                {
                    store.TryStart(file.Name, key);
                    store.Fail(file.Name, key, $"its intermediate run {run.DependsOn} is not done");
                    Console.Error.WriteLine($"{key}: its intermediate run {run.DependsOn} is not done");
                    return 1;
                }
                StudyRunner.RunOne(file, store, run, executor, Console.Out);
                return store.Get(file.Name, key)?.Status == RunStatus.Done ? 0 : 1;
            }

            if (parse.GetValue(backend) == Backend.Slurm)
            {
                var submission = SlurmBackend.Submit(file, store, SelfCommand(), new SlurmOptions(parse.GetValue(partition), parse.GetValue(sbatchArgs)));
                Console.WriteLine($"submitted {submission.IntermediateRuns} intermediate run(s) (job {submission.IntermediateJob ?? "-"}) and " +
                                  $"{submission.TargetRuns} target run(s) (job {submission.TargetJob ?? "-"}); scripts and logs in {submission.ScriptDir}");
                if (!parse.GetValue(wait)) return 0;
                while (SlurmBackend.InQueue(submission.IntermediateJob, submission.TargetJob)) Thread.Sleep(2000);
                if (file.Inference != null) // timing the login node would say nothing about the compute nodes
                    Console.WriteLine("inference: not measured with --backend slurm; run `stilts run STUDY` on a compute node to benchmark the finished runs");
                return PrintStatus(StudyRunner.Status(file, store));
            }

            int n = Math.Max(1, parse.GetValue(workers));
            var status = StudyRunner.RunLocal(file, store, executor, n, run => SpawnWorker(file, run, cache), Console.Out);
            if (file.Inference is { } settings)
            {
                // After all training (workers included) has finished, so nothing else is using the cores being timed.
                var rows = StudyBenchmark.Run(file, store, settings, Console.Out.WriteLine);
                Console.WriteLine($"inference: {rows.Count} new row(s), {rows.Select(r => r.RunKey).Distinct().Count()} run(s) benchmarked");
            }
            return PrintStatus(status);
        }));
        return command;
    }

    static int PrintStatus(StudyStatus s)
    {
        Console.WriteLine($"{s.Done}/{s.Total} done, {s.Failed} failed, {s.Pending} pending, {s.Running} running");
        return s.Failed == 0 && s.Done == s.Total ? 0 : 1;
    }

    /// <summary>How to start this very CLI again: the apphost, or `dotnet Stilts.Cli.dll`.</summary>
    static IReadOnlyList<string> SelfCommand()
    {
        string host = Environment.ProcessPath ?? "dotnet";
        return Path.GetFileNameWithoutExtension(host) == "dotnet" ? [host, typeof(RunCommand).Assembly.Location] : [host];
    }

    static Process SpawnWorker(StudyFile file, PlannedRun run, string? cache)
    {
        var self = SelfCommand();
        var psi = new ProcessStartInfo(self[0]) { UseShellExecute = false, RedirectStandardOutput = false };
        foreach (var a in self.Skip(1)) psi.ArgumentList.Add(a);
        foreach (var a in new[] { "run", file.SourcePath, "--only", run.Key }) psi.ArgumentList.Add(a);
        if (cache != null) { psi.ArgumentList.Add("--cache-dir"); psi.ArgumentList.Add(cache); }
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start a worker process");
    }
}
