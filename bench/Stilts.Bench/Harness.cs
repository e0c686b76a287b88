using System.Diagnostics;

namespace Stilts.Bench;

/// <summary>Median-of-repeats timing with warmup: this VM's timings drift 2-3x over minutes, so every
/// comparison runs its contenders interleaved inside one measurement and reports medians and ratios.</summary>
public sealed record Timing(double MedianSeconds, double MinSeconds, double MaxSeconds, int Repeats);

/// <summary>One line of BENCHMARKS.md.</summary>
public sealed record BenchRow(string Section, string Name, string Value, string Target, bool? Met, string Note);

public static class Harness
{
    public static Timing Measure(Action action, int warmup, int repeats)
    {
        for (int i = 0; i < warmup; i++) action();
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            times[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return new Timing(Median(times), times[0], times[^1], repeats);
    }

    /// <summary>Runs contenders round-robin (A B A B ...) so slow and fast periods of the machine hit both alike.</summary>
    public static Timing[] Interleaved(IReadOnlyList<Action> contenders, int warmup, int repeats)
    {
        foreach (var c in contenders) for (int i = 0; i < warmup; i++) c();
        var times = contenders.Select(_ => new double[repeats]).ToArray();
        for (int r = 0; r < repeats; r++)
            for (int c = 0; c < contenders.Count; c++)
            {
                var sw = Stopwatch.StartNew();
                contenders[c]();
                times[c][r] = sw.Elapsed.TotalSeconds;
            }
        return times.Select(t => { Array.Sort(t); return new Timing(Median(t), t[0], t[^1], repeats); }).ToArray();
    }

    public static double Median(double[] sorted) => Stilts.Studies.Statistics.Quantile(sorted, 0.5);

    public static double Percentile(double[] sorted, double p) => Stilts.Studies.Statistics.Quantile(sorted, p / 100);

    /// <summary>Resident set size of this process in MB, from /proc (Linux).</summary>
    public static double RssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:")) return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        return double.NaN;
    }

    public static (int Code, string Stdout, string Stderr) Run(string exe, IEnumerable<string> args, string? stdin = null, int timeoutMs = 600_000)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin != null, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (stdin != null) { p.StandardInput.Write(stdin); p.StandardInput.Close(); }
        if (!p.WaitForExit(timeoutMs)) { p.Kill(true); throw new TimeoutException($"{exe} ran past {timeoutMs} ms"); }
        return (p.ExitCode, output.Result, err.Result);
    }
}
