using System.Diagnostics;

namespace Stilts.Inference;

/// <summary>Latency and throughput of one (batch size, sequence length) setting.</summary>
public sealed record LatencyResult(
    int BatchSize, int SeqLen, int GenerationLength, int Iterations,
    double P50Ms, double P95Ms, double P99Ms, double MeanMs,
    double ExamplesPerSecond, double TokensPerSecond, double PeakMemoryMb)
{
    /// <summary>Checks the figures agree with each other: ordered percentiles, throughput = work / time.</summary>
    public bool IsConsistent(double relTol = 1e-9) =>
        P50Ms <= P95Ms && P95Ms <= P99Ms
        && Math.Abs(ExamplesPerSecond - BatchSize * 1000.0 / MeanMs) <= relTol * ExamplesPerSecond
        && Math.Abs(TokensPerSecond - BatchSize * (double)(SeqLen + GenerationLength) * 1000.0 / MeanMs) <= relTol * TokensPerSecond;
}

/// <summary>
/// Times one forward (or generate) call repeatedly after a warmup: percentiles of per-call latency, throughput
/// from the mean latency (examples/s = batch / mean time; tokens/s counts input plus generated tokens), and peak
/// resident memory (Linux VmHWM, reset before the measurement where the kernel allows it).
/// </summary>
public static class LatencyBenchmark
{
    public static LatencyResult Measure(Action call, int batchSize, int seqLen, int generationLength = 0, int warmup = 3, int iterations = 20)
    {
        for (int i = 0; i < warmup; i++) call();
        ResetPeakRss();
        var ms = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long start = Stopwatch.GetTimestamp();
            call();
            ms[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        double mean = ms.Average();
        Array.Sort(ms);
        return new LatencyResult(batchSize, seqLen, generationLength, iterations,
            Percentile(ms, 50), Percentile(ms, 95), Percentile(ms, 99), mean,
            batchSize * 1000.0 / mean, batchSize * (double)(seqLen + generationLength) * 1000.0 / mean, PeakRssMb());
    }

    /// <summary>Linear-interpolated percentile (0-100) of sorted values, numpy's default.</summary>
    public static double Percentile(double[] sorted, double p) => Studies.Statistics.Quantile(sorted, p / 100);

    internal static double PeakRssMb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:")) return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        }
        catch (IOException) { }
        return double.NaN;
    }

    internal static void ResetPeakRss()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); } // "5" resets VmHWM to the current RSS
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
