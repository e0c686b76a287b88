using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace Stilts.Bench;

/// <summary>
/// `dotnet run --project bench/Stilts.Bench -c Release -- [--smoke] [--output BENCHMARKS.md] [--spm-model FILE]
/// [--only "Section,Section"] [--threads N] [--note TEXT]`: runs every comparison side by side on this machine and writes
/// BENCHMARKS.md. --smoke shrinks every size so CI can check that each row is produced (its numbers mean nothing);
/// --only runs some sections (for profiling); --note adds a line under the machine description.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        bool smoke = args.Contains("--smoke");
        int o = Array.IndexOf(args, "--output");
        string output = o >= 0 && o + 1 < args.Length ? args[o + 1] : "BENCHMARKS.md";
        int m = Array.IndexOf(args, "--spm-model");
        string? spmModel = m >= 0 && m + 1 < args.Length ? args[m + 1] : null;
        int n = Array.IndexOf(args, "--note");
        string? note = n >= 0 && n + 1 < args.Length ? args[n + 1] : null;
        string loadBefore = LoadAverage();
        int only = Array.IndexOf(args, "--only");
        var sections = only >= 0 && only + 1 < args.Length ? args[only + 1].Split(',') : null;
        int th = Array.IndexOf(args, "--threads");
        int threads = th >= 0 && th + 1 < args.Length ? int.Parse(args[th + 1], CultureInfo.InvariantCulture) : Environment.ProcessorCount;
        var rows = RunAll(smoke, Console.Out, spmModel, sections, threads);
        File.WriteAllText(output, Render(rows, smoke, string.Join(" ", args.Select(a => a.Contains(' ') ? $"\"{a}\"" : a)), note,
            $"load average {loadBefore} at the start, {LoadAverage()} at the end"));
        Console.WriteLine($"wrote {output} ({rows.Count} rows)");
        return 0;
    }

    /// <param name="only">Section names to run (the others are skipped); null runs all.</param>
    /// <param name="threads">libtorch threads (and the PyTorch reference's); null = every logical CPU.</param>
    public static List<BenchRow> RunAll(bool smoke, TextWriter log, string? spmModel = null, IReadOnlyCollection<string>? only = null, int? threads = null)
    {
        torch.set_num_threads(threads ?? Environment.ProcessorCount);
        using var ctx = new BenchContext(smoke, log) { SpmModel = spmModel };
        var rows = new List<BenchRow>();
        foreach (var section in Sections.All)
        {
            if (only != null && !only.Contains(section.Name, StringComparer.OrdinalIgnoreCase)) continue;
            log.WriteLine($"== {section.Name}");
            try { rows.AddRange(section.Run(ctx)); }
            catch (Exception e) { rows.Add(new BenchRow(section.Name, "error", "—", "", false, e.GetType().Name + ": " + e.Message)); }
            foreach (var r in rows.Where(r => r.Section == section.Name)) log.WriteLine($"   {r.Name}: {r.Value} {r.Note}");
        }
        return rows;
    }

    static string Render(List<BenchRow> rows, bool smoke, string args, string? note, string load)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Stilts benchmarks\n");
        sb.AppendLine($"Command: `dotnet run --project bench/Stilts.Bench -c Release -- {args}`".Replace("--  ", "-- ").TrimEnd());
        sb.AppendLine();
        sb.AppendLine($"Machine: {Environment.ProcessorCount} logical CPUs ({CpuModel()}), {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB, " +
                      $"{RuntimeInformation.OSDescription}, .NET {Environment.Version}, TorchSharp {typeof(torch).Assembly.GetName().Version}, " +
                      $"run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {load}.{(smoke ? " **Smoke run: sizes shrunk, numbers meaningless.**" : "")}");
        if (note != null) sb.AppendLine().AppendLine(note);
        sb.AppendLine();
        sb.AppendLine("Timings are medians of repeats; contenders of one comparison ran interleaved in the same process run, " +
                      "because this machine's absolute speed drifts 2-3x from minute to minute. Ratios are the claim, not absolutes.\n");
        var targets = rows.Where(r => r.Target.Length > 0).ToList();
        if (targets.Count > 0)
        {
            sb.AppendLine("## Targets\n");
            sb.AppendLine("| section | measure | value | target | met |");
            sb.AppendLine("| --- | --- | --- | --- | --- |");
            foreach (var r in targets)
                sb.AppendLine($"| {r.Section} | {r.Name} | {r.Value} | {r.Target} | {(r.Met switch { true => "yes", false => "**no**", null => "n/a" })} |");
            sb.AppendLine();
        }
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

    static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
    }

    static string CpuModel()
    {
        try { return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown CPU"; }
        catch (IOException) { return "unknown CPU"; }
    }

    internal static string F(double v, string format = "0.0") => v.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>What every section gets: sizes (smoke or full), a log, the GEMM peak measured once per run, a temp
/// folder (deleted at the end), and the step timings the training sections leave for the overhead section.</summary>
public sealed class BenchContext(bool smoke, TextWriter log) : IDisposable
{
    public bool Smoke { get; } = smoke;
    public TextWriter Log { get; } = log;
    /// <summary>The sentencepiece model for the tokenizer comparison (--spm-model); null = the XLM-R test vector.</summary>
    public string? SpmModel { get; init; }
    public List<StepPhases>? TrainingPhases { get; set; }
    public List<StepPhases>? SmallModelPhases { get; set; }
    readonly string root = Path.Combine(Path.GetTempPath(), $"stilts-bench-{Environment.ProcessId}-{Guid.NewGuid():N}");
    double? _peak;

    public string TempDir(string name) => Directory.CreateDirectory(Path.Combine(root, name)).FullName;

    /// <summary>Writes an embedded file of the bench (e.g. the PyTorch reference script) to the temp folder.</summary>
    public string WriteResource(string name, string folder)
    {
        using var stream = typeof(BenchContext).Assembly.GetManifestResourceStream($"Stilts.Bench.{name}")
            ?? throw new InvalidOperationException($"resource {name} is not embedded in the bench");
        string path = Path.Combine(TempDir(folder), name);
        using (var file = File.Create(path)) stream.CopyTo(file);
        return path;
    }

    public void Dispose()
    {
        try { if (Directory.Exists(root)) Directory.Delete(root, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>fp32 GEMM GFLOP/s through libtorch: the machine's matrix-multiply peak for the ratios.</summary>
    public double GemmPeakGflops => _peak ??= Sections.MeasureGemm(Smoke ? 512 : 2048, Smoke ? 3 : 10);
}
