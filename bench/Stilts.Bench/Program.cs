using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace Stilts.Bench;

/// <summary>
/// `dotnet run --project bench/Stilts.Bench -c Release [-- --smoke] [--output BENCHMARKS.md]`: runs every comparison
/// side by side on this machine and writes BENCHMARKS.md. --smoke shrinks every size so CI can check that each
/// row is produced (its numbers mean nothing).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        bool smoke = args.Contains("--smoke");
        int o = Array.IndexOf(args, "--output");
        string output = o >= 0 && o + 1 < args.Length ? args[o + 1] : "BENCHMARKS.md";
        var rows = RunAll(smoke, Console.Out);
        File.WriteAllText(output, Render(rows, smoke, string.Join(" ", args)));
        Console.WriteLine($"wrote {output} ({rows.Count} rows)");
        return 0;
    }

    public static List<BenchRow> RunAll(bool smoke, TextWriter log)
    {
        torch.set_num_threads(Environment.ProcessorCount);
        var ctx = new BenchContext(smoke, log);
        var rows = new List<BenchRow>();
        foreach (var section in Sections.All)
        {
            log.WriteLine($"== {section.Name}");
            try { rows.AddRange(section.Run(ctx)); }
            catch (Exception e) { rows.Add(new BenchRow(section.Name, "error", "—", "", false, e.GetType().Name + ": " + e.Message)); }
            foreach (var r in rows.Where(r => r.Section == section.Name)) log.WriteLine($"   {r.Name}: {r.Value} {r.Note}");
        }
        return rows;
    }

    static string Render(List<BenchRow> rows, bool smoke, string args)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Stilts benchmarks\n");
        sb.AppendLine($"Command: `dotnet run --project bench/Stilts.Bench -c Release -- {args}`".Replace("--  ", "-- ").TrimEnd());
        sb.AppendLine();
        sb.AppendLine($"Machine: {Environment.ProcessorCount} logical CPUs ({CpuModel()}), {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB, " +
                      $"{RuntimeInformation.OSDescription}, .NET {Environment.Version}, TorchSharp {typeof(torch).Assembly.GetName().Version}, " +
                      $"run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.{(smoke ? " **Smoke run: sizes shrunk, numbers meaningless.**" : "")}");
        sb.AppendLine();
        sb.AppendLine("Timings are medians of repeats; contenders of one comparison ran interleaved in the same process run, " +
                      "because this machine's absolute speed drifts 2-3x from minute to minute. Ratios are the claim, not absolutes.\n");
        foreach (var group in rows.GroupBy(r => r.Section))
        {
            sb.AppendLine($"## {group.Key}\n");
            sb.AppendLine("| measure | value | target | met | note |");
            sb.AppendLine("| --- | --- | --- | --- | --- |");
            foreach (var r in group)
                sb.AppendLine($"| {r.Name} | {r.Value} | {r.Target} | {(r.Met switch { true => "yes", false => "**no**", null => "" })} | {r.Note} |");
            sb.AppendLine();
        }
        return sb.ToString();
    }

    static string CpuModel()
    {
        try { return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown CPU"; }
        catch (IOException) { return "unknown CPU"; }
    }

    internal static string F(double v, string format = "0.0") => v.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>What every section gets: sizes (smoke or full), a log, and the GEMM peak measured once per run.</summary>
public sealed class BenchContext(bool smoke, TextWriter log)
{
    public bool Smoke { get; } = smoke;
    public TextWriter Log { get; } = log;
    double? _peak;

    /// <summary>fp32 GEMM GFLOP/s through libtorch: the machine's matrix-multiply peak for the ratios.</summary>
    public double GemmPeakGflops => _peak ??= Sections.MeasureGemm(Smoke ? 512 : 2048, Smoke ? 3 : 10);
}
