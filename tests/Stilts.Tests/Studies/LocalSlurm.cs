using System.Diagnostics;

namespace Stilts.Tests.Studies;

/// <summary>
/// A real one-node Slurm cluster on localhost for the backend test: munged, slurmctld and slurmd (Debian's
/// slurm-wlm and munge, installed by .ci/install-deps) started as daemons from a temp folder with their own
/// config, key, sockets and ports, and stopped on Dispose. Needs root, as CI and the dev machines have.
/// </summary>
sealed class LocalSlurm : IDisposable
{
    public string Folder { get; }
    public string ConfigPath => Path.Combine(Folder, "slurm.conf");
    readonly List<string> _pidFiles = [];

    public LocalSlurm()
    {
        foreach (var tool in new[] { "/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch" })
            if (!File.Exists(tool)) throw new InvalidOperationException($"{tool} is missing: install slurm-wlm and munge (.ci/install-deps does)");
        Folder = TestPaths.NewTempDir("slurm");
        foreach (var d in new[] { "state", "spool", "log", "munge" }) Directory.CreateDirectory(Path.Combine(Folder, d));
        string key = Path.Combine(Folder, "munge", "munge.key");
        File.WriteAllBytes(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(1024));
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        int port = 20000 + Random.Shared.Next(20000);
        File.WriteAllText(ConfigPath, $"""
            ClusterName=stiltstest
            SlurmctldHost=localhost
            SlurmctldPort={port}
            SlurmdPort={port + 1}
            AuthType=auth/munge
            AuthInfo=socket={Folder}/munge/sock
            CredType=cred/munge
            SlurmUser=root
            SlurmdUser=root
            StateSaveLocation={Folder}/state
            SlurmdSpoolDir={Folder}/spool
            SlurmctldPidFile={Folder}/slurmctld.pid
            SlurmdPidFile={Folder}/slurmd.pid
            SlurmctldLogFile={Folder}/log/ctld.log
            SlurmdLogFile={Folder}/log/d.log
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_CPU
            SchedulerType=sched/backfill
            ReturnToService=2
            MpiDefault=none
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            NodeName=localhost CPUs={Environment.ProcessorCount} RealMemory=4000 State=UNKNOWN
            PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP

            """);
        Start("/usr/sbin/munged", "-f", $"--key-file={key}", $"--socket={Folder}/munge/sock", $"--pid-file={Folder}/munge/pid",
            $"--seed-file={Folder}/munge/seed", $"--log-file={Folder}/munge/log");
        _pidFiles.Add($"{Folder}/munge/pid");
        Start("/usr/sbin/slurmctld", "-c");
        _pidFiles.Add($"{Folder}/slurmctld.pid");
        Start("/usr/sbin/slurmd");
        _pidFiles.Add($"{Folder}/slurmd.pid");
        for (int i = 0; i < 60; i++) // wait until the node is idle
        {
            var (code, output) = Exec("/usr/bin/sinfo", "--noheader", "--format=%t");
            if (code == 0 && output.Trim() == "idle") return;
            Thread.Sleep(500);
        }
        throw new InvalidOperationException("the local Slurm node did not become idle; logs in " + Folder);
    }

    public void Configure(ProcessStartInfo psi) => psi.Environment["SLURM_CONF"] = ConfigPath;

    void Start(string exe, params string[] args)
    {
        var (code, output) = Exec(exe, args);
        if (code != 0) throw new InvalidOperationException($"{exe} failed ({code}): {output}");
    }

    (int, string) Exec(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Configure(psi);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }

    public void Dispose()
    {
        foreach (var pidFile in Enumerable.Reverse(_pidFiles))
        {
            try
            {
                if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid))
                    using (var p = Process.GetProcessById(pid)) { p.Kill(); p.WaitForExit(5000); }
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }
    }
}
