using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Stilts.Checkpoints;
using Stilts.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tests.Models;

/// <summary>
/// Reads the HF reference vectors (../shared/testvectors/{family}/vectors.json, see the README there) and builds
/// the matching models from their checkpoints.
/// </summary>
internal static class ReferenceVectors
{
    static readonly ConcurrentDictionary<string, JsonObject> Cache = new();

    public static JsonObject Load(string family) =>
        Cache.GetOrAdd(family, f => (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.TestVectors(f), "vectors.json")))!);

    public static string Dir(string family) => TestPaths.TestVectors(family);

    /// <summary>A nested JSON array of integers as an int64 tensor of the same shape.</summary>
    public static Tensor Longs(JsonNode node)
    {
        var (values, shape) = Flatten(node);
        return tensor(values.Select(v => (long)v).ToArray(), shape);
    }

    public static (double[] Values, long[] Shape) Flatten(JsonNode node)
    {
        var shape = new List<long>();
        for (var n = node; n is JsonArray a; n = a.Count > 0 ? a[0] : null) shape.Add(a.Count);
        var values = new List<double>();
        void Walk(JsonNode? n)
        {
            if (n is JsonArray a) foreach (var x in a) Walk(x);
            else values.Add(n!.GetValue<double>());
        }
        Walk(node);
        return (values.ToArray(), shape.ToArray());
    }

    /// <summary>The README's check: |ours - ref| &lt;= atol + rtol * |ref|, elementwise; optionally only where keep is true.</summary>
    public static void AssertClose(Tensor actual, JsonNode expected, string what, double atol = 1e-4, double rtol = 1e-4, bool[]? keep = null)
    {
        var (reference, shape) = Flatten(expected);
        Assert.Equal(shape, actual.shape);
        using var flat = actual.detach().to(ScalarType.Float64).cpu().reshape(-1);
        double[] ours = flat.data<double>().ToArray();
        AssertClose(ours, reference, what, atol, rtol, keep);
    }

    public static void AssertClose(double[] ours, double[] reference, string what, double atol = 1e-4, double rtol = 1e-4, bool[]? keep = null)
    {
        Assert.Equal(reference.Length, ours.Length);
        int failures = 0, first = -1;
        double worst = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            if (keep != null && !keep[i]) continue;
            double excess = Math.Abs(ours[i] - reference[i]) - (atol + rtol * Math.Abs(reference[i]));
            if (excess > 0 || double.IsNaN(ours[i])) { failures++; if (first < 0) first = i; worst = Math.Max(worst, excess); }
        }
        Assert.True(failures == 0,
            $"{what}: {failures}/{ours.Length} values off; first at flat index {first}: ours {(first >= 0 ? ours[first] : 0)} vs ref {(first >= 0 ? reference[first] : 0)}; worst excess {worst:g3}");
    }

    public static void AssertClose(double ours, JsonNode expected, string what, double atol = 1e-4, double rtol = 1e-4) =>
        AssertClose([ours], [expected.GetValue<double>()], what, atol, rtol);

    /// <summary>Expands a (B, T) 0/1 mask to a flat keep-array for (B, T, ...) values with <paramref name="inner"/> values per token.</summary>
    public static bool[] KeepWhereMasked(JsonNode mask, long inner)
    {
        var (m, _) = Flatten(mask);
        return m.SelectMany(v => Enumerable.Repeat(v != 0, (int)inner)).ToArray();
    }

    /// <summary>A case's ids, mask and type ids; a single sentence's (T) arrays become a batch of one.</summary>
    public static EncoderInput Input(JsonNode c, bool hiddenStates = false)
    {
        Tensor Batch(Tensor t) => t.dim() == 1 ? t.unsqueeze(0) : t;
        var ids = Batch(Longs(c["input_ids"]!));
        var mask = c["attention_mask"] is JsonNode m ? Batch(Longs(m)) : ones_like(ids);
        var types = c["token_type_ids"] is JsonNode tt ? Batch(Longs(tt)) : null;
        return new EncoderInput(ids, mask, types) { OutputHiddenStates = hiddenStates };
    }

    /// <summary>The base checkpoint in an encoder with a pooler, in eval mode.</summary>
    public static Encoder BaseEncoder(string family)
    {
        var config = EncoderConfig.FromFile(Path.Combine(Dir(family), "config.json"));
        var encoder = Encoder.Create(config);
        var report = Checkpoint.LoadFile(encoder, Path.Combine(Dir(family), "model.safetensors"), Strict);
        Assert.Empty(report.Unexpected);
        Assert.Empty(report.Renamed);
        encoder.eval();
        return encoder;
    }

    /// <summary>
    /// An HF-shaped model with a head, built as the generator did: the base checkpoint under the encoder plus
    /// &lt;head&gt;/head.safetensors, or the full &lt;head&gt;/model.safetensors when there is one. Asserts that
    /// every parameter was loaded and no tensor was left over (besides the pooler a pooler-less model drops).
    /// </summary>
    public static EncoderWithHead HeadModel(string family, string headDir, HeadKind kind)
    {
        var config = EncoderConfig.FromFile(Path.Combine(Dir(family), headDir, "config.json"));
        var model = EncoderWithHead.Create(config, kind);
        string full = Path.Combine(Dir(family), headDir, "model.safetensors");
        if (File.Exists(full))
        {
            var report = Checkpoint.LoadFile(model, full, Strict);
            Assert.Empty(report.Unexpected);
            Assert.Empty(report.Renamed);
        }
        else
        {
            // The base checkpoint under the encoder (its pooler dropped when the model has none), then the head
            // file into the whole model, where only the encoder's keys may be missing.
            var encoderReport = Checkpoint.LoadFile(model.Encoder, Path.Combine(Dir(family), "model.safetensors"), Strict with { IgnoreUnexpected = ["pooler.*"] });
            Assert.Empty(encoderReport.Unexpected);
            Assert.Empty(encoderReport.Renamed);
            var headReport = Checkpoint.LoadFile(model, Path.Combine(Dir(family), headDir, "head.safetensors"),
                Strict with { AllowMissing = [model.Encoder.BaseModelPrefix + ".*"] });
            Assert.Empty(headReport.Unexpected);
            Assert.Empty(headReport.Renamed);
            Assert.Equal(model.parameters().Count(), headReport.Loaded.Count + encoderReport.Loaded.Count);
        }
        model.eval();
        return model;
    }

    /// <summary>Nothing dropped silently; the callers also check that no key needed renaming.</summary>
    static readonly LoadOptions Strict = new() { IgnoreUnexpected = [], IgnoreMissing = [] };
}
