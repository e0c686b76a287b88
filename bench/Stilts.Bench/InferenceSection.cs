using Stilts.Inference;
using Stilts.Models;
using static TorchSharp.torch;

namespace Stilts.Bench;

public static partial class Sections
{
    /// <summary>mt5-small's shape (full) or a tiny one (smoke). EOS is set to an id the model never emits so greedy
    /// generation of a randomly initialised model always runs the fixed number of steps.</summary>
    static T5Config Mt5Shape(bool smoke) => smoke
        ? new T5Config { VocabSize = 500, DModel = 32, DKv = 8, DFf = 64, NumLayers = 1, NumDecoderLayers = 1, NumHeads = 4,
            FeedForward = T5FeedForward.GatedGelu, TieWordEmbeddings = false, EosTokenId = -1 }
        : new T5Config { VocabSize = 250_112, DModel = 512, DKv = 64, DFf = 1024, NumLayers = 8, NumDecoderLayers = 8, NumHeads = 6,
            FeedForward = T5FeedForward.GatedGelu, TieWordEmbeddings = false, EosTokenId = -1 };

    /// <summary>Latency p50 at batch 1 and throughput at batch 32 (seq 128), eval mode, no grad, via LatencyBenchmark.</summary>
    static IEnumerable<BenchRow> Inference(BenchContext ctx)
    {
        const string section = "Inference";
        bool smoke = ctx.Smoke;
        int seq = smoke ? 16 : 128, big = smoke ? 4 : 32, generate = smoke ? 4 : 32;
        int latencyIters = smoke ? 2 : 10, throughputIters = 2;
        var rows = new List<BenchRow>();
        progress = ctx.Log;
        using var noGrad = no_grad();
        manual_seed(5);

        var encoderShape = TrainingShape(smoke);
        using (var encoder = Encoder.Create(encoderShape.Config))
        {
            encoder.eval();
            var b1 = Run(b => encoder.forward(new EncoderInput(Ids(b, seq, encoderShape.Vocab), ones(b, seq, dtype: ScalarType.Int64))).Dispose(),
                1, seq, 0, latencyIters);
            var bN = Run(b => encoder.forward(new EncoderInput(Ids(b, seq, encoderShape.Vocab), ones(b, seq, dtype: ScalarType.Int64))).Dispose(),
                big, seq, 0, throughputIters);
            string name = $"BERT-base-shaped encoder (L{encoderShape.Layers} H{encoderShape.Hidden})";
            rows.Add(LatencyRow(section, $"{name}, batch 1 x seq {seq}: latency p50", b1));
            rows.Add(ThroughputRow(section, $"{name}, batch {big} x seq {seq}: throughput", bN, "sequences/s"));
        }

        var t5 = Mt5Shape(smoke);
        using (var model = T5ForConditionalGeneration.Create(t5))
        {
            model.eval();
            string name = $"mT5-{(smoke ? "tiny" : "small")}-shaped (d {t5.DModel}, {t5.NumLayers}+{t5.NumDecoderLayers} layers, vocab {t5.VocabSize:N0})";
            var e1 = Run(b => model.EncodeStates(Ids(b, seq, t5.VocabSize)).Dispose(), 1, seq, 0, latencyIters);
            var eN = Run(b => model.EncodeStates(Ids(b, seq, t5.VocabSize)).Dispose(), big, seq, 0, throughputIters);
            var g1 = Run(b => Generated(model.Generate(Ids(b, seq, t5.VocabSize), maxNewTokens: generate), generate), 1, seq, generate, latencyIters);
            var gN = Run(b => Generated(model.Generate(Ids(b, seq, t5.VocabSize), maxNewTokens: generate), generate), big, seq, generate, throughputIters);
            rows.Add(LatencyRow(section, $"{name} encoder, batch 1 x seq {seq}: latency p50", e1));
            rows.Add(ThroughputRow(section, $"{name} encoder, batch {big} x seq {seq}: throughput", eN, "sequences/s"));
            rows.Add(LatencyRow(section, $"{name} greedy generation of {generate} tokens, batch 1 x seq {seq}: latency p50", g1));
            rows.Add(ThroughputRow(section, $"{name} greedy generation of {generate} tokens, batch {big} x seq {seq}: throughput", gN, "sequences/s"));
        }
        return rows;
    }

    static TextWriter progress = TextWriter.Null;

    static LatencyResult Run(Action<int> call, int batch, int seq, int generate, int iterations)
    {
        // Batch-32 calls take seconds: one warm-up, two timed.
        var r = LatencyBenchmark.Measure(() => { using var scope = NewDisposeScope(); call(batch); }, batch, seq, generate,
            warmup: iterations > 2 ? 2 : 1, iterations: iterations);
        progress.WriteLine($"   ... batch {batch}, generate {generate}: mean {r.MeanMs:0.0} ms");
        return r;
    }

    static Tensor Ids(int batch, int seq, int vocab) => randint(2, vocab, [batch, seq], dtype: ScalarType.Int64);

    static void Generated(Tensor ids, int expected)
    {
        // Fixed length is what makes the timings comparable between runs.
        if (ids.size(1) != expected + 1) throw new InvalidOperationException($"generation stopped after {ids.size(1) - 1} of {expected} tokens");
    }

    static BenchRow LatencyRow(string section, string name, LatencyResult r) =>
        new(section, name, $"{Program.F(r.P50Ms)} ms", "", null,
            $"p95 {Program.F(r.P95Ms)} ms over {r.Iterations} calls; peak RSS {r.PeakMemoryMb:0} MB");

    static BenchRow ThroughputRow(string section, string name, LatencyResult r, string unit) =>
        new(section, name, $"{Program.F(r.ExamplesPerSecond, "0.00")} {unit}", "", null,
            $"{Program.F(r.TokensPerSecond, "N0")} tokens/s (input + generated); mean {Program.F(r.MeanMs)} ms per call over {r.Iterations} calls");
}
