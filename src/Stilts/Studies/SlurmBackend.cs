using System.Diagnostics;
using System.Text;

namespace Stilts.Studies;

/// <summary>Options of a Slurm submission: partition, extra sbatch arguments (e.g. --gres=gpu:1), time limit.</summary>
public sealed record SlurmOptions(string? Partition = null, IReadOnlyList<string>? ExtraArgs = null, string? TimeLimit = null, int? CpusPerTask = null);

/// <summary>The job ids sbatch returned and the folder holding the generated scripts and logs.</summary>
public sealed record SlurmSubmission(string? IntermediateJob, string? TargetJob, int IntermediateRuns, int TargetRuns, string ScriptDir);

/// <summary>
/// The Slurm backend: every unfinished run becomes one task of a job array. Intermediate runs form one array;
/// target runs form a second array that starts after the first has ended (afterany: a target whose
/// intermediate failed fails fast and is retried by the next `stilts run`). Each task runs
/// `stilts run STUDY --only KEY` against the shared results database.
/// </summary>
public static class SlurmBackend
{
    public static SlurmSubmission Submit(StudyFile study, ResultsStore store, IReadOnlyList<string> stiltsCommand, SlurmOptions options)
    {
        StudyRunner.Sync(study, store);
        var status = store.Runs(study.Name).ToDictionary(r => r.Key, r => r.Status);
        var todo = StudyPlan.Expand(study).Where(r => status[r.Key] is RunStatus.Pending or RunStatus.Failed).ToList();
        string dir = Path.Combine(study.OutputDir, "slurm", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss-fff"));
        Directory.CreateDirectory(dir);

        string script = Path.Combine(dir, "run-one.sh");
        AtomicFile.WriteAllText(script, RunScript(study, stiltsCommand));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);

        var intermediate = todo.Where(r => r.Kind == PlannedRunKind.Intermediate).Select(r => r.Key).ToList();
        var targets = todo.Where(r => r.Kind == PlannedRunKind.Target).Select(r => r.Key).ToList();
        string? intJob = intermediate.Count == 0 ? null : SubmitArray(dir, "intermediate", intermediate, script, options, dependency: null);
        // Targets that depend on no unfinished intermediate run could start at once; one array keeps it simple.
        string? tgtJob = targets.Count == 0 ? null : SubmitArray(dir, "target", targets, script, options, intJob == null ? null : $"afterany:{intJob}");
        return new SlurmSubmission(intJob, tgtJob, intermediate.Count, targets.Count, dir);
    }

    static string RunScript(StudyFile study, IReadOnlyList<string> stilts) => $"""
        #!/bin/bash
        # One study run per array task: line SLURM_ARRAY_TASK_ID+1 of the key list given as $1.
        set -euo pipefail
        key=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$1")
        exec {string.Join(" ", stilts.Select(Quote))} run {Quote(study.SourcePath)} --only "$key"

        """;

    static string SubmitArray(string dir, string name, IReadOnlyList<string> keys, string script, SlurmOptions options, string? dependency)
    {
        string list = Path.Combine(dir, $"{name}.keys");
        AtomicFile.WriteAllText(list, string.Join("\n", keys) + "\n");
        var args = new List<string> { "--parsable", $"--job-name=stilts-{name}", $"--array=0-{keys.Count - 1}",
            $"--output={Path.Combine(dir, name + "-%a.log")}" };
        if (dependency != null) args.Add($"--dependency={dependency}");
        if (options.Partition != null) args.Add($"--partition={options.Partition}");
        if (options.TimeLimit != null) args.Add($"--time={options.TimeLimit}");
        if (options.CpusPerTask != null) args.Add($"--cpus-per-task={options.CpusPerTask}");
        args.AddRange(options.ExtraArgs ?? []);
        args.Add(script);
        args.Add(list);
        var (code, stdout, stderr) = Run("sbatch", args);
        if (code != 0) throw new InvalidOperationException($"sbatch failed ({code}): {stderr.Trim()}");
        return stdout.Trim().Split(';')[0]; // --parsable prints "jobid[;cluster]"
    }

    /// <summary>True while any of the given jobs still has tasks in the queue.</summary>
    public static bool InQueue(params string?[] jobIds)
    {
        var ids = jobIds.Where(j => j != null).ToList();
        if (ids.Count == 0) return false;
        var (code, stdout, _) = Run("squeue", ["--noheader", "--format=%i", $"--jobs={string.Join(",", ids)}"]);
        return code == 0 && stdout.Trim().Length > 0;
    }

    static (int, string, string) Run(string exe, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exe}");
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    static string Quote(string s) => s.All(c => char.IsLetterOrDigit(c) || "/._-=:+".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";
}
