using System.Globalization;
using StringBuilder = System.Text.StringBuilder;
using System.Text.Json;
using System.Text.Json.Nodes;
using Stilts.Checkpoints;
using Stilts.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Inference;

/// <summary>What to measure: every (batch size, sequence length) pair, with warmup and timed iterations.</summary>
public sealed record InferenceBenchOptions
{
    public IReadOnlyList<int> BatchSizes { get; init; } = [1, 8, 32];
    public IReadOnlyList<int> SeqLens { get; init; } = [64, 128, 256];
    /// <summary>Tokens an encoder-decoder generates per example; eos is suppressed so every row makes exactly this many.</summary>
    public int GenerationLength { get; init; } = 16;
    public int Warmup { get; init; } = 3;
    public int Iterations { get; init; } = 20;
    public DeviceChoice Device { get; init; } = DeviceChoice.Cpu;
    public int Seed { get; init; } = 1234;
    /// <summary>libtorch intra-op threads for the run (null = its default); fix it to compare CPU figures across machines.</summary>
    public int? Threads { get; init; }
}

/// <summary>
/// Inference latency and throughput of a checkpoint: encoders time one forward pass, encoder-decoders one greedy
/// generation of a fixed length (so model sizes and fine-tuning regimes are compared on the same work). Inputs are
/// random non-special ids of exactly the asked length; weights do not change the cost, only the shapes do.
/// </summary>
public static class InferenceBenchmark
{
    /// <summary>Loads the checkpoint of <paramref name="modelDir"/> and measures every setting.</summary>
    public static IReadOnlyList<LatencyResult> Run(string modelDir, InferenceBenchOptions options, Action<string>? log = null)
    {
        if (Pretrained.FamilyOf(modelDir) == ModelFamily.T5)
        {
            using var model = T5ForConditionalGeneration.FromPretrained(modelDir).Place(options.Device);
            return Run(model, options, log);
        }
        using var encoder = Pretrained.LoadEncoder(modelDir, options.Device).Encoder;
        return Run(encoder, options, log);
    }

    /// <summary>Times <see cref="T5ForConditionalGeneration.Generate"/> of exactly GenerationLength new tokens.</summary>
    public static IReadOnlyList<LatencyResult> Run(T5ForConditionalGeneration model, InferenceBenchOptions options, Action<string>? log = null)
    {
        model.eval();
        var noEos = ConstrainedDecoding.Suppress(model.Config.EosTokenId);
        // Random ids above the specials (pad 0, eos 1, unk 2).
        return Sweep(options, model.Config.VocabSize, 3, log, (ids, mask) =>
        {
            using var scope = NewDisposeScope();
            var generated = model.Generate(ids, mask, options.GenerationLength, noEos);
            if (generated.size(1) != options.GenerationLength + 1)
                throw new InvalidOperationException($"generated {generated.size(1) - 1} tokens, expected {options.GenerationLength}");
        }, options.GenerationLength);
    }

    /// <summary>Times one encoder forward pass (no head: heads are a negligible share of the cost).</summary>
    public static IReadOnlyList<LatencyResult> Run(Encoder encoder, InferenceBenchOptions options, Action<string>? log = null)
    {
        encoder.eval();
        var c = encoder.Config;
        // RoBERTa positions start after the padding index, so two positions are unusable.
        int maxLen = c.Family == EncoderFamily.Roberta ? c.MaxPositionEmbeddings - c.PadTokenId - 1 : c.MaxPositionEmbeddings;
        if (options.SeqLens.Max() > maxLen)
            throw new InvalidInputException("--seq-lens", $"{options.SeqLens.Max()} exceeds the model's {maxLen} positions");
        return Sweep(options, c.VocabSize, 5, log, (ids, mask) =>
        {
            using var scope = NewDisposeScope();
            using var output = encoder.call(new EncoderInput(ids, mask));
        }, 0);
    }

    static List<LatencyResult> Sweep(InferenceBenchOptions options, int vocab, int lowestId, Action<string>? log, Action<Tensor, Tensor> call, int generationLength)
    {
        if (options.BatchSizes.Count == 0 || options.SeqLens.Count == 0) throw new InvalidInputException("--batch-sizes/--seq-lens", "give at least one value each");
        if (options.BatchSizes.Concat(options.SeqLens).Any(v => v < 1)) throw new InvalidInputException("--batch-sizes/--seq-lens", "values must be positive");
        if (options.Iterations < 1 || options.Warmup < 0) throw new InvalidInputException("iterations", "need at least one timed iteration and a non-negative warmup");
        if (options.Threads is int threads)
        {
            if (threads < 1) throw new InvalidInputException("--threads", $"expected a positive number, got {threads}");
            set_num_threads(threads);
        }
        var device = Placement.Resolve(options.Device);
        var generator = new Generator((ulong)options.Seed);
        var results = new List<LatencyResult>();
        using var noGrad = no_grad();
        foreach (int batch in options.BatchSizes)
            foreach (int len in options.SeqLens)
            {
                using var ids = randint(lowestId, vocab, [batch, len], dtype: ScalarType.Int64, generator: generator).to(device);
                using var mask = ones(batch, len, dtype: ScalarType.Int64, device: device);
                var r = LatencyBenchmark.Measure(() =>
                {
                    call(ids, mask);
                    if (device.type == DeviceType.CUDA) cuda.synchronize(); // time the kernels, not their launch
                }, batch, len, generationLength, options.Warmup, options.Iterations);
                log?.Invoke($"batch {batch} len {len} gen {generationLength}: p50 {r.P50Ms:F2} ms, p95 {r.P95Ms:F2}, p99 {r.P99Ms:F2}, {r.ExamplesPerSecond:F1} ex/s, {r.TokensPerSecond:F0} tok/s, peak {r.PeakMemoryMb:F0} MB");
                results.Add(r);
            }
        return results;
    }

    /// <summary>The table as CSV (one row per setting; invariant culture).</summary>
    public static string ToCsv(IEnumerable<LatencyResult> rows)
    {
        var sb = new StringBuilder("batch_size,seq_len,generation_length,iterations,p50_ms,p95_ms,p99_ms,mean_ms,examples_per_s,tokens_per_s,peak_memory_mb\n");
        foreach (var r in rows)
            sb.AppendLine(string.Join(',', new object[] { r.BatchSize, r.SeqLen, r.GenerationLength, r.Iterations, r.P50Ms, r.P95Ms, r.P99Ms, r.MeanMs,
                r.ExamplesPerSecond, r.TokensPerSecond, r.PeakMemoryMb }.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))));
        return sb.ToString();
    }

    /// <summary>The table as a JSON document (snake_case names, as the CSV columns) with what was measured alongside the rows.</summary>
    public static string ToJson(string model, string task, string family, string device, IEnumerable<LatencyResult> rows) =>
        JsonSerializer.Serialize(new { model, task, family, device, results = rows }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
}
