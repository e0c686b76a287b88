using System.Text.Json;
using Stilts.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tests.Models;

/// <summary>The HF mT5 reference checkpoint and vectors.json, loaded once for all parity tests.</summary>
public sealed class Mt5Reference : IDisposable
{
    public string Directory { get; } = TestPaths.TestVectors("mt5");
    public JsonElement Vectors { get; }
    public T5ForConditionalGeneration Model { get; }

    public Mt5Reference()
    {
        Vectors = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "vectors.json"))).RootElement;
        Model = T5ForConditionalGeneration.FromPretrained(Directory);
    }

    public void Dispose() => Model.Dispose();
}

/// <summary>
/// Parity with HF transformers 4.33.3 MT5ForConditionalGeneration on the tiny random checkpoint. Floats must agree
/// to |ours - ref| &lt;= 1e-4 + 1e-4 |ref| (README of the vectors); ids exactly.
/// </summary>
public sealed class T5ParityTests : IClassFixture<Mt5Reference>
{
    readonly Mt5Reference reference;
    T5ForConditionalGeneration Model => reference.Model;
    JsonElement V => reference.Vectors;

    public T5ParityTests(Mt5Reference reference) => this.reference = reference;

    [Fact]
    public void EncoderLastHiddenStateMatchesEveryCase()
    {
        int checkedCases = 0, withLayers = 0;
        foreach (var c in V.GetProperty("encoder").GetProperty("cases").EnumerateArray())
        {
            using var ids = Ids(c.GetProperty("input_ids"));
            using var mask = Ids(c.GetProperty("attention_mask"));
            bool layers = c.TryGetProperty("hidden_states", out var hidden);
            using var output = Model.EncodeStates(ids, mask, outputHiddenStates: layers);
            AssertClose(c.GetProperty("last_hidden_state"), output.LastHiddenState, $"encoder '{c.GetProperty("text")}'");
            if (layers)
            {
                var expected = hidden.EnumerateArray().ToList();
                Assert.Equal(expected.Count, output.HiddenStates!.Count);
                for (int i = 0; i < expected.Count; i++) AssertClose(expected[i], output.HiddenStates[i], $"encoder hidden_states[{i}]");
                withLayers++;
            }
            checkedCases++;
        }
        Assert.True(checkedCases > 0);
        Assert.Equal(V.GetProperty("encoder").GetProperty("hidden_states_for").GetArrayLength(), withLayers);
    }

    [Fact]
    public void EncoderPaddedBatchMatchesIncludingPadPositions()
    {
        var batch = V.GetProperty("encoder").GetProperty("padded_batch");
        using var ids = Ids(batch.GetProperty("input_ids"));
        using var mask = Ids(batch.GetProperty("attention_mask"));
        using var output = Model.EncodeStates(ids, mask);
        Assert.Equal(new[] { ids.size(0), ids.size(1), Model.Config.DModel }, output.LastHiddenState.shape);
        AssertClose(batch.GetProperty("last_hidden_state"), output.LastHiddenState, "padded encoder batch");
    }

    [Fact]
    public void TeacherForcedDecoderMatchesStatesLogitsAndLoss()
    {
        int cases = 0;
        foreach (var c in V.GetProperty("decoder").GetProperty("cases").EnumerateArray())
        {
            using var ids = Ids(c.GetProperty("input_ids"));
            using var labels = Ids(c.GetProperty("labels"));
            using var shifted = T5ForConditionalGeneration.ShiftRight(labels, Model.Config);
            Assert.Equal(Longs(c.GetProperty("decoder_input_ids")), shifted.data<long>().ToArray());

            using var output = Model.Forward(ids, labels: labels, outputHiddenStates: true);
            string what = $"decoder case {cases}";
            AssertClose(c.GetProperty("decoder_last_hidden_state"), output.DecoderLastHiddenState, what + " last state");
            var layers = c.GetProperty("decoder_hidden_states").EnumerateArray().ToList();
            Assert.Equal(layers.Count, output.DecoderHiddenStates!.Count);
            for (int i = 0; i < layers.Count; i++) AssertClose(layers[i], output.DecoderHiddenStates[i], $"{what} hidden_states[{i}]");

            float loss = output.Loss!.item<float>(), refLoss = c.GetProperty("loss").GetSingle();
            Assert.True(Math.Abs(loss - refLoss) <= 1e-4 + 1e-4 * Math.Abs(refLoss), $"{what} loss {loss} vs {refLoss}");

            using var logits = output.Logits[0];                                     // (Td, V)
            AssertClose(c.GetProperty("logits_logsumexp"), logits.logsumexp(-1), what + " logsumexp");
            Assert.Equal(Longs(c.GetProperty("logits_argmax")), logits.argmax(-1).data<long>().ToArray());
            using var topIds = Ids(c.GetProperty("logits_top5_ids"));                 // (Td, 5)
            AssertClose(c.GetProperty("logits_top5_values"), logits.gather(1, topIds), what + " top-5 logits");
            if (c.TryGetProperty("logits", out var full))
                AssertClose(full, logits[..full.GetArrayLength()], what + " full logits");
            cases++;
        }
        Assert.True(cases > 0);
    }

    [Fact]
    public void GreedyGenerateMatchesHfIdsOneSentenceAtATime()
    {
        int cases = 0;
        foreach (var c in V.GetProperty("generate").GetProperty("cases").EnumerateArray())
        {
            using var ids = Ids(c.GetProperty("input_ids"));
            using var generated = Model.Generate(ids, maxNewTokens: 8);
            Assert.Equal(Longs(c.GetProperty("sequences")), generated[0].data<long>().ToArray());
            cases++;
        }
        Assert.True(cases > 0);
    }

    [Fact]
    public void GreedyGenerateMatchesHfIdsInOnePaddedBatch()
    {
        var batch = V.GetProperty("generate").GetProperty("padded_batch");
        using var ids = Ids(batch.GetProperty("input_ids"));
        using var mask = Ids(batch.GetProperty("attention_mask"));
        using var generated = Model.Generate(ids, mask, maxNewTokens: 8);
        var expected = batch.GetProperty("sequences").EnumerateArray().Select(Longs).ToList();
        Assert.Equal(expected.Count, (int)generated.size(0));
        for (int b = 0; b < expected.Count; b++)
            Assert.Equal(expected[b], generated[b].data<long>().ToArray());
    }

    [Fact]
    public void CachedIncrementalDecodingEqualsOneTeacherForcedPass()
    {
        // The KV cache must not change the numbers: feed the generated ids back teacher-forced.
        var c = V.GetProperty("generate").GetProperty("cases")[0];
        using var ids = Ids(c.GetProperty("input_ids"));
        using var generated = Model.Generate(ids, maxNewTokens: 8);
        using var output = Model.Forward(ids, decoderInputIds: generated[.., ..^1]);
        using var argmax = output.Logits.argmax(-1);
        Assert.Equal(generated[0, 1..].data<long>().ToArray(), argmax[0].data<long>().ToArray());
    }

    [Fact]
    public void MeanPooledEncodingAveragesOnlyRealTokens()
    {
        var batch = V.GetProperty("encoder").GetProperty("padded_batch");
        using var ids = Ids(batch.GetProperty("input_ids"));
        using var mask = Ids(batch.GetProperty("attention_mask"));
        using var pooled = Model.EncodeMeanPooled(ids, mask);
        var states = batch.GetProperty("last_hidden_state");
        int dModel = Model.Config.DModel;
        for (int b = 0; b < states.GetArrayLength(); b++)
        {
            int real = batch.GetProperty("attention_mask")[b].EnumerateArray().Count(m => m.GetInt32() == 1);
            var expected = new float[dModel];
            for (int t = 0; t < real; t++)
                for (int d = 0; d < dModel; d++) expected[d] += states[b][t][d].GetSingle() / real;
            var ours = pooled[b].data<float>().ToArray();
            for (int d = 0; d < dModel; d++) Assert.True(Math.Abs(ours[d] - expected[d]) <= 2e-4, $"row {b} dim {d}: {ours[d]} vs {expected[d]}");
        }
    }

    [Fact]
    public void EncoderOnlyModelLoadsTheEncoderHalfAndMatchesHf()
    {
        using var encoderOnly = T5EncoderModel.FromPretrained(reference.Directory);
        var names = encoderOnly.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("shared.weight", names);
        Assert.All(names, n => Assert.True(n == "shared.weight" || n.StartsWith("encoder."), n));
        Assert.Equal(Model.named_parameters().Count(p => p.name == "shared.weight" || p.name.StartsWith("encoder.")), names.Count);

        foreach (var c in V.GetProperty("encoder").GetProperty("cases").EnumerateArray().Where(c => c.TryGetProperty("hidden_states", out _)))
        {
            using var ids = Ids(c.GetProperty("input_ids"));
            using var mask = Ids(c.GetProperty("attention_mask"));
            using var output = encoderOnly.EncodeStates(ids, mask, outputHiddenStates: true);
            AssertClose(c.GetProperty("last_hidden_state"), output.LastHiddenState, "encoder-only last state");
            var layers = c.GetProperty("hidden_states").EnumerateArray().ToList();
            for (int i = 0; i < layers.Count; i++) AssertClose(layers[i], output.HiddenStates![i], $"encoder-only hidden_states[{i}]");
        }

        var batch = V.GetProperty("encoder").GetProperty("padded_batch");
        using var batchIds = Ids(batch.GetProperty("input_ids"));
        using var batchMask = Ids(batch.GetProperty("attention_mask"));
        using var pooled = encoderOnly.EncodeMeanPooled(batchIds, batchMask);
        using var fromFull = Model.EncodeMeanPooled(batchIds, batchMask);
        Assert.True(pooled.allclose(fromFull, rtol: 0, atol: 0));
    }

    static Tensor Ids(JsonElement e) =>
        e[0].ValueKind == JsonValueKind.Array
            ? tensor(e.EnumerateArray().SelectMany(Longs).ToArray(), e.GetArrayLength(), e[0].GetArrayLength())
            : tensor(Longs(e), 1, e.GetArrayLength());

    static long[] Longs(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt64()).ToArray();

    static void Flatten(JsonElement e, List<float> into)
    {
        if (e.ValueKind == JsonValueKind.Array) foreach (var x in e.EnumerateArray()) Flatten(x, into);
        else into.Add(e.GetSingle());
    }

    static void AssertClose(JsonElement expectedJson, Tensor actual, string what)
    {
        var expected = new List<float>();
        Flatten(expectedJson, expected);
        var ours = actual.contiguous().data<float>().ToArray();
        Assert.True(expected.Count == ours.Length, $"{what}: {ours.Length} values, reference has {expected.Count}");
        double worst = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double err = Math.Abs(ours[i] - expected[i]), allowed = 1e-4 + 1e-4 * Math.Abs(expected[i]);
            Assert.True(err <= allowed, $"{what}[{i}]: {ours[i]} vs reference {expected[i]}");
            worst = Math.Max(worst, err);
        }
    }
}
