using Stilts.Retrieval;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Bench;

public sealed record Section(string Name, Func<BenchContext, IEnumerable<BenchRow>> Run);

/// <summary>Every comparison of BENCHMARKS.md, in order.</summary>
public static partial class Sections
{
    public static IReadOnlyList<Section> All { get; } =
    [
        new("Machine limit", Gemm),
        new("Tokenization", Tokenization),
        new("Training step", TrainingStep),
        new("Memory", Memory),
        new("Overhead", Overhead),
        new("Inference", Inference),
        new("Retrieval", RetrievalKnn),
    ];

    internal static double MeasureGemm(int n, int repeats)
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n);
        var b = randn(n, n);
        var t = Harness.Measure(() => { using var c = a.matmul(b); }, warmup: 2, repeats: repeats);
        return 2.0 * n * n * n / t.MedianSeconds / 1e9;
    }

    static IEnumerable<BenchRow> Gemm(BenchContext ctx)
    {
        int n = ctx.Smoke ? 512 : 2048;
        yield return new BenchRow("Machine limit", $"fp32 GEMM {n}x{n}x{n} (libtorch, {torch.get_num_threads()} threads)",
            $"{Program.F(ctx.GemmPeakGflops)} GFLOP/s", "", null, "the peak every ratio below divides by");
    }

    static IEnumerable<BenchRow> RetrievalKnn(BenchContext ctx)
    {
        int n = ctx.Smoke ? 2000 : 100_000, d = ctx.Smoke ? 64 : 768, k = 4;
        using var scope = NewDisposeScope();
        var x = randn(n, d);
        var y = randn(n, d);
        // The peak is measured right before and after the search (the machine's speed drifts between sections).
        double before = MeasureGemm(ctx.Smoke ? 512 : 2048, ctx.Smoke ? 2 : 5);
        var t = Harness.Measure(() => KnnSearch.Search(x, y, k), warmup: ctx.Smoke ? 1 : 0, repeats: ctx.Smoke ? 3 : 1);
        double after = MeasureGemm(ctx.Smoke ? 512 : 2048, ctx.Smoke ? 2 : 5);
        double peak = Math.Max(before, after);
        double gflops = 2.0 * n * n * d / t.MedianSeconds / 1e9;
        double share = gflops / peak;
        yield return new BenchRow("Retrieval", $"k-NN {n:N0} x {n:N0} x {d} (k={k}, cosine, exact)",
            $"{Program.F(t.MedianSeconds, "0.00")} s, {Program.F(gflops)} GFLOP/s = {share:P0} of GEMM peak", ">= 50% of GEMM peak", share >= 0.5,
            $"normalise + blocked GEMM + top-k (BUCC and Tatoeba mining); peak = the higher of GEMMs just before and after ({Program.F(before, "0")}, {Program.F(after, "0")} GFLOP/s)");
    }
}
