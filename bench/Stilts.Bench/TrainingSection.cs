using System.Globalization;
using Stilts.Models;
using TorchSharp;

namespace Stilts.Bench;

public static partial class Sections
{
    internal const string Python = "/usr/bin/python3";

    internal sealed record TrainShape(int Layers, int Hidden, int Heads, int Ff, int Vocab, int Seq, int Batch)
    {
        public EncoderConfig Config => new()
        {
            ModelType = "bert", Family = EncoderFamily.Bert, VocabSize = Vocab, HiddenSize = Hidden, NumHiddenLayers = Layers,
            NumAttentionHeads = Heads, IntermediateSize = Ff, MaxPositionEmbeddings = 512,
        };

        public override string ToString() => $"L{Layers} H{Hidden} heads {Heads} ff {Ff} vocab {Vocab:N0}, batch {Batch} x seq {Seq}";

        /// <summary>6·N·B·T (forward 2, backward 4 FLOPs per weight per token) + 12·L·B·T²·H (QKᵀ and AV, forward and backward).</summary>
        public double StepFlops(long nonEmbeddingParams) =>
            6.0 * nonEmbeddingParams * Batch * Seq + 12.0 * Layers * Batch * (double)Seq * Seq * Hidden;
    }

    static TrainShape TrainingShape(bool smoke) => smoke
        ? new TrainShape(2, 64, 2, 256, 1000, 32, 4)
        : new TrainShape(12, 768, 12, 3072, 30_522, 128, 8);

    /// <summary>
    /// One training step (forward, loss, backward, clipping, AdamW, schedule) of a BERT-base-shaped classifier through
    /// Stilts' model, optimizer and loop parts, as model FLOP/s over the GEMM peak; the same step in PyTorch runs as a
    /// separate process in turns with ours (ours k steps, theirs k steps, repeated) so both see the same machine.
    /// </summary>
    static IEnumerable<BenchRow> TrainingStep(BenchContext ctx)
    {
        const string section = "Training step";
        var shape = TrainingShape(ctx.Smoke);
        int rounds = ctx.Smoke ? 1 : 3, perRound = 2;
        using var loop = new TrainingLoop(shape.Config, shape.Batch, shape.Seq, totalSteps: 1000, Path.Combine(ctx.TempDir("training"), "train.jsonl"));
        double flops = shape.StepFlops(loop.NonEmbeddingParameters);

        string? script = TorchAvailable() ? ctx.WriteResource("reference_step.py", "training") : null;
        var ours = new List<StepPhases>();
        var theirs = new List<double>();
        var peaks = new List<double>();
        string? theirError = null;
        loop.Step(); // warm-up: first-touch allocation of weights' gradients and optimizer moments
        for (int r = 0; r < rounds; r++)
        {
            // The peak is re-measured next to every round: the machine's speed drifts between sections.
            peaks.Add(MeasureGemm(ctx.Smoke ? 512 : 2048, ctx.Smoke ? 2 : 5));
            for (int i = 0; i < perRound; i++) ours.Add(loop.Step());
            if (script is null || theirError is not null) continue;
            var (code, stdout, stderr) = Harness.Run(Python, [script, .. new[] { shape.Layers, shape.Hidden, shape.Heads, shape.Ff, shape.Vocab,
                shape.Seq, shape.Batch, 1, perRound, torch.get_num_threads() }.Select(v => v.ToString(CultureInfo.InvariantCulture))]);
            if (code != 0) { theirError = $"reference script exited {code}: {Last(stderr)}"; continue; }
            theirs.AddRange(stdout.Split('\n').Where(l => l.StartsWith("step_seconds ")).Select(l => double.Parse(l[13..], CultureInfo.InvariantCulture)));
        }
        ctx.TrainingPhases = ours;

        var totals = ours.Select(p => p.Total).Order().ToArray();
        double step = Harness.Median(totals);
        double peak = Harness.Median(peaks.Order().ToArray());
        double achieved = flops / step / 1e9, share = achieved / peak;
        yield return new BenchRow(section, $"Stilts step, {shape}",
            $"{Program.F(step, "0.000")} s/step, {Program.F(shape.Batch * shape.Seq / step, "N0")} tokens/s", "", null,
            $"median of {totals.Length} steps after 1 warm-up, min-max {Program.F(totals[0], "0.000")}-{Program.F(totals[^1], "0.000")} s; " +
            $"{loop.Parameters / 1e6:0.0}M parameters ({loop.NonEmbeddingParameters / 1e6:0.0}M outside embeddings)");
        yield return new BenchRow(section, "Stilts model FLOP/s / GEMM peak",
            $"{Program.F(achieved)} GFLOP/s = {share:P0}", ">= 60% of GEMM peak", share >= 0.6,
            $"peak {Program.F(peak)} GFLOP/s = median of GEMMs measured between the rounds ({string.Join(", ", peaks.Select(p => Program.F(p, "0")))}); FLOPs/step = 6·N·B·T + 12·L·B·T²·H = {flops / 1e9:0.0} GFLOP (N = non-embedding parameters; embedding lookups do no matmul)");

        // Profile: where the model phase goes, and how fast libtorch runs the model's own matmul shapes alone.
        double Mean(Func<StepPhases, double> f) => ours.Average(f);
        double fwd = Mean(p => p.ModelSplit.Forward), bwd = Mean(p => p.ModelSplit.Backward), opt = Mean(p => p.ModelSplit.Optimizer);
        double shapeGemm = ModelShapeGemmGflops(shape, ctx.Smoke ? 2 : 5);
        yield return new BenchRow(section, "profile of the Stilts step",
            $"forward {Program.F(fwd, "0.000")} s, backward {Program.F(bwd, "0.000")} s, clip + AdamW {Program.F(opt, "0.000")} s", "", null,
            $"mean over {ours.Count} steps; backward / forward = {Program.F(bwd / fwd, "0.00")} (2.0 if all matmul); " +
            $"the layer's linear shapes alone (B·T x H x H, x 4H) run at {Program.F(shapeGemm)} GFLOP/s = {shapeGemm / peak:P0} of the GEMM peak");

        if (script is null)
        {
            yield return new BenchRow(section, "PyTorch 1.13 step (same shape)", "not installed", "", null, $"{Python} cannot import torch (Debian python3-torch)");
            yield break;
        }
        if (theirs.Count == 0)
        {
            yield return new BenchRow(section, "PyTorch 1.13 step (same shape)", "failed", "", null, theirError ?? "no step timings printed");
            yield break;
        }
        var sorted = theirs.Order().ToArray();
        double theirStep = Harness.Median(sorted);
        yield return new BenchRow(section, $"PyTorch {TorchVersion()} step, same shape, {torch.get_num_threads()} threads",
            $"{Program.F(theirStep, "0.000")} s/step, {Program.F(shape.Batch * shape.Seq / theirStep, "N0")} tokens/s", "", null,
            $"median of {sorted.Length} steps (1 warm-up per process), min-max {Program.F(sorted[0], "0.000")}-{Program.F(sorted[^1], "0.000")} s; " +
            $"{Program.F(flops / theirStep / 1e9)} GFLOP/s = {flops / theirStep / 1e9 / peak:P0} of peak; torch.optim.AdamW, {BlasName()}");
        yield return new BenchRow(section, "ratio Stilts / PyTorch (steps/s)", $"{Program.F(theirStep / step, "0.00")}x", "", null,
            "interleaved: our steps and theirs alternate in rounds within one run");
    }

    /// <summary>GFLOP/s of one layer's forward linears at the step's shapes (q, k, v, out: BT x H x H; up: BT x H x 4H;
    /// down: BT x 4H x H) through F.linear: the ceiling those shapes allow, below the square-GEMM peak.</summary>
    static double ModelShapeGemmGflops(TrainShape shape, int repeats)
    {
        using var scope = torch.NewDisposeScope();
        long bt = (long)shape.Batch * shape.Seq;
        var x = torch.randn(bt, shape.Hidden);
        var h = torch.randn(bt, shape.Ff);
        var wq = torch.randn(shape.Hidden, shape.Hidden);
        var wUp = torch.randn(shape.Ff, shape.Hidden);
        var wDown = torch.randn(shape.Hidden, shape.Ff);
        void Layer()
        {
            using var s = torch.NewDisposeScope();
            for (int i = 0; i < 4; i++) torch.nn.functional.linear(x, wq);
            torch.nn.functional.linear(x, wUp);
            torch.nn.functional.linear(h, wDown);
        }
        var t = Harness.Measure(Layer, warmup: 1, repeats: repeats);
        double flops = 2.0 * bt * (4.0 * shape.Hidden * shape.Hidden + 2.0 * shape.Hidden * shape.Ff);
        return flops / t.MedianSeconds / 1e9;
    }

    static string Last(string s) => s.Trim().Split('\n').LastOrDefault() ?? "";

    static bool? _torch;
    internal static bool TorchAvailable() => _torch ??= File.Exists(Python) && Harness.Run(Python, ["-c", "import torch"], timeoutMs: 120_000).Code == 0;

    static string? _torchVersion;
    static string TorchVersion() => _torchVersion ??= Harness.Run(Python, ["-c", "import torch; print(torch.__version__)"]).Stdout.Trim();

    static string BlasName()
    {
        // Debian's python3-torch uses whatever libblas.so.3 the alternatives system points at.
        try
        {
            string target = Path.GetFullPath(new FileInfo("/usr/lib/x86_64-linux-gnu/libblas.so.3").ResolveLinkTarget(true)?.FullName ?? "");
            return target.Contains("openblas", StringComparison.OrdinalIgnoreCase) ? "OpenBLAS" : target.Length > 0 ? Path.GetFileName(Path.GetDirectoryName(target)) ?? "BLAS" : "BLAS";
        }
        catch (IOException) { return "BLAS"; }
    }
}
