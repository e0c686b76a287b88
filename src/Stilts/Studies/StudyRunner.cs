using System.Diagnostics;

namespace Stilts.Studies;

/// <summary>What one run produced: metric rows (see <see cref="StudyReport"/> for the "score" convention),
/// the checkpoint folder later runs start from, and named timings in seconds.</summary>
public sealed record RunOutcome(IReadOnlyList<MetricRow> Metrics, string? Checkpoint, IReadOnlyDictionary<string, double> Timings);

/// <summary>Executes one planned run. <paramref name="startFrom"/> is the intermediate run's checkpoint, or null
/// for a baseline run (start from the pretrained model).</summary>
public delegate RunOutcome RunExecutor(StudyFile study, PlannedRun run, string? startFrom, string runFolder);

/// <summary>Counts after syncing the plan into the results store.</summary>
public sealed record StudyStatus(int Total, int Done, int Pending, int Failed, int Running, IReadOnlyList<string> Retried);

/// <summary>
/// Runs a study against its results store: plans every run (a changed config re-plans only that run and the
/// runs depending on it), skips finished runs, marks dead workers' runs failed, and executes what is missing,
/// intermediate runs before the target runs that start from them.
/// </summary>
public static class StudyRunner
{
    /// <summary>Writes the plan into the store and returns where things stand.</summary>
    public static StudyStatus Sync(StudyFile study, ResultsStore store)
    {
        foreach (var run in StudyPlan.Expand(study))
            store.Plan(ToRecord(study, run));
        var retried = store.FailDeadLocalWorkers(study.Name);
        return Status(study, store, retried);
    }

    public static StudyStatus Status(StudyFile study, ResultsStore store, IReadOnlyList<string>? retried = null)
    {
        var keys = StudyPlan.Expand(study).Select(r => r.Key).ToHashSet();
        var runs = store.Runs(study.Name).Where(r => keys.Contains(r.Key)).ToList();
        return new StudyStatus(runs.Count, runs.Count(r => r.Status == RunStatus.Done), runs.Count(r => r.Status == RunStatus.Pending),
            runs.Count(r => r.Status == RunStatus.Failed), runs.Count(r => r.Status == RunStatus.Running), retried ?? []);
    }

    /// <summary>Runs that can start now: not done, not running, and whose intermediate run (if any) is done.</summary>
    public static IReadOnlyList<PlannedRun> Ready(StudyFile study, ResultsStore store)
    {
        var status = store.Runs(study.Name).ToDictionary(r => r.Key);
        return StudyPlan.Expand(study)
            .Where(r => status.TryGetValue(r.Key, out var s) && s.Status is RunStatus.Pending or RunStatus.Failed)
            .Where(r => r.DependsOn == null || (status.TryGetValue(r.DependsOn, out var d) && d.Status == RunStatus.Done))
            .ToList();
    }

    /// <summary>
    /// Claims and executes one run in this process. Returns false when another worker had already claimed it
    /// or it is done. Any exception marks the run failed with its message, and is not rethrown.
    /// </summary>
    public static bool RunOne(StudyFile study, ResultsStore store, PlannedRun run, RunExecutor execute, TextWriter? log = null)
    {
        if (!store.TryStart(study.Name, run.Key)) return false;
        string? startFrom = run.DependsOn == null ? null : store.Get(study.Name, run.DependsOn)?.Checkpoint;
        var clock = Stopwatch.StartNew();
        try
        {
            log?.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] start {run.Key}");
            var outcome = execute(study, run, startFrom, run.Folder(study));
            var timings = new Dictionary<string, double>(outcome.Timings) { ["total"] = clock.Elapsed.TotalSeconds };
            store.Complete(study.Name, run.Key, outcome.Metrics, outcome.Checkpoint, timings);
            log?.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] done  {run.Key} ({clock.Elapsed.TotalSeconds:0.0}s)");
        }
        catch (Exception e)
        {
            store.Fail(study.Name, run.Key, $"{e.GetType().Name}: {e.Message}");
            log?.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] FAILED {run.Key}: {e.Message}");
        }
        return true;
    }

    /// <summary>
    /// The local backend. With one worker, runs execute in this process in dependency order. With more,
    /// <paramref name="spawnWorker"/> starts a child process per run (`stilts run STUDY --only KEY`) and at most
    /// <paramref name="workers"/> run at once. Returns when nothing runnable is left.
    /// </summary>
    public static StudyStatus RunLocal(StudyFile study, ResultsStore store, RunExecutor execute, int workers = 1,
        Func<PlannedRun, Process>? spawnWorker = null, TextWriter? log = null)
    {
        Sync(study, store);
        var attempted = new HashSet<string>();
        var running = new Dictionary<string, Process>();
        while (true)
        {
            foreach (var (key, proc) in running.Where(kv => kv.Value.HasExited).ToList())
            {
                running.Remove(key);
                if (proc.ExitCode != 0 && store.Get(study.Name, key)?.Status == RunStatus.Running)
                    store.Fail(study.Name, key, $"worker process exited with code {proc.ExitCode}");
                proc.Dispose();
            }
            // Each run is tried once per invocation: a failure waits for the next `stilts run`.
            var ready = Ready(study, store).Where(r => !attempted.Contains(r.Key) && !running.ContainsKey(r.Key)).ToList();
            if (ready.Count == 0 && running.Count == 0) break;
            foreach (var run in ready)
            {
                if (workers <= 1 || spawnWorker == null)
                {
                    attempted.Add(run.Key);
                    RunOne(study, store, run, execute, log);
                    break; // re-plan: this run may have unlocked others
                }
                if (running.Count >= workers) break;
                attempted.Add(run.Key);
                running[run.Key] = spawnWorker(run);
            }
            if (running.Count > 0) Thread.Sleep(200);
        }
        return Status(study, store);
    }

    static RunRecord ToRecord(StudyFile study, PlannedRun run) => new(
        study.Name, run.Key, run.Kind.ToString(), run.Model.Name, run.Regime.Name, run.Target ?? "", run.Seed,
        RunStatus.Pending, 0, null, run.ConfigJson, run.ConfigHash, null, null, null);
}
