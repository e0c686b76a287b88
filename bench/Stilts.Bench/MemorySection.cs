namespace Stilts.Bench;

public static partial class Sections
{
    static TrainShape MemoryShape(bool smoke) => smoke
        ? new TrainShape(1, 32, 2, 64, 500, 16, 4)
        : new TrainShape(2, 256, 4, 1024, 8_000, 64, 8);

    /// <summary>
    /// Resident memory over a long run of the training loop on a small encoder. "Growth after warm-up" is RSS at the
    /// last checkpoint minus RSS at the first (the optimizer moments and allocator pools exist by then).
    /// </summary>
    static List<BenchRow> Memory(BenchContext ctx)
    {
        const string section = "Memory";
        var shape = MemoryShape(ctx.Smoke);
        int steps = ctx.Smoke ? 100 : 1000;
        int[] checkpoints = [steps / 10, steps / 4, steps / 2, steps * 3 / 4, steps];
        // One thread: a small model's ops are too short for two threads to pay off, and on a busy machine every
        // parallel region waits for a descheduled partner (measured: several times slower with 2 threads here).
        int threads = TorchSharp.torch.get_num_threads();
        TorchSharp.torch.set_num_threads(1);
        try { return MemoryRun(ctx, section, shape, steps, checkpoints); }
        finally { TorchSharp.torch.set_num_threads(threads); }
    }

    static List<BenchRow> MemoryRun(BenchContext ctx, string section, TrainShape shape, int steps, int[] checkpoints)
    {
        using var loop = new TrainingLoop(shape.Config, shape.Batch, shape.Seq, steps, Path.Combine(ctx.TempDir("memory"), "train.jsonl"));
        double start = Harness.RssMb();
        var rss = new List<double>();
        var phases = new List<StepPhases>(steps);
        for (int s = 1; s <= steps; s++)
        {
            phases.Add(loop.Step());
            if (checkpoints.Contains(s)) rss.Add(Harness.RssMb());
        }
        ctx.SmallModelPhases = phases;
        double growth = rss[^1] - rss[0];
        // "No growth" allows allocator noise: 2% of the resident size or 8 MB, whichever is larger.
        double tolerance = Math.Max(8, 0.02 * rss[0]);
        return
        [
            new BenchRow(section, $"RSS over {steps:N0} training steps, {shape}, 1 thread",
                string.Join(" / ", checkpoints.Zip(rss, (c, m) => $"{c}: {m:0} MB")), "", null,
                $"{start:0} MB before the first step; StepMemory: dispose scope per step, GC every 10 steps"),
            new BenchRow(section, $"growth after warm-up (step {checkpoints[0]} to {steps})",
                $"{growth:+0.0;-0.0;0.0} MB", $"no growth (within {tolerance:0} MB)", growth <= tolerance, ""),
        ];
    }

    /// <summary>The share of a training step spent outside the model, from the phase timings of the loop's real steps.</summary>
    static IEnumerable<BenchRow> Overhead(BenchContext ctx)
    {
        const string section = "Overhead";
        if (ctx.TrainingPhases is not { Count: > 0 } && ctx.SmallModelPhases is not { Count: > 0 })
            throw new InvalidOperationException("neither the Training step nor the Memory section produced step timings to split");
        string name = $"outside the model, BERT-base-shaped step ({TrainingShape(ctx.Smoke)})";
        yield return ctx.TrainingPhases is { Count: > 0 }
            ? OverheadRow(section, name, ctx.TrainingPhases, target: true)
            : new BenchRow(section, name, "not measured", "<= 5%", null, "the Training step section did not run");
        if (ctx.SmallModelPhases is { Count: > 0 })
            yield return OverheadRow(section, $"outside the model, small encoder of the Memory run ({MemoryShape(ctx.Smoke)})", ctx.SmallModelPhases, target: false);
    }

    static BenchRow OverheadRow(string section, string name, IReadOnlyList<StepPhases> phases, bool target)
    {
        double Sum(Func<StepPhases, double> f) => phases.Sum(f);
        double total = Sum(p => p.Total), outside = Sum(p => p.Outside), share = outside / total;
        string Ms(Func<StepPhases, double> f) => Program.F(Sum(f) / phases.Count * 1000, "0.000");
        return new BenchRow(section, name, $"{share:P2}", target ? "<= 5%" : "", target ? share <= 0.05 : null,
            $"mean ms/step over {phases.Count} steps: sampling {Ms(p => p.Sampling)}, loading {Ms(p => p.Loading)}, collation {Ms(p => p.Collation)}, " +
            $"logging {Ms(p => p.Logging)}, scope disposal + periodic GC {Ms(p => p.Teardown)}; model {Ms(p => p.Model)}");
    }
}
