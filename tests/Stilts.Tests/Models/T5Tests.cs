using Stilts.Checkpoints;
using Stilts.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tests.Models;

/// <summary>Config parsing, checkpoint names and loading, tied heads, eos handling and a training step.</summary>
public sealed class T5Tests
{
    static readonly string ReferenceDir = TestPaths.TestVectors("mt5");

    // A tiny mT5-shaped config for tests that need no reference weights.
    static T5Config Tiny(T5FeedForward ff = T5FeedForward.GatedGelu, bool tied = false) => new()
    {
        VocabSize = 64, DModel = 16, DKv = 4, DFf = 32, NumLayers = 2, NumDecoderLayers = 3, NumHeads = 2,
        RelativeAttentionNumBuckets = 8, RelativeAttentionMaxDistance = 20, DropoutRate = 0.0,
        FeedForward = ff, TieWordEmbeddings = tied,
    };

    [Fact]
    public void ReadsTheReferenceMt5ConfigAsRecordedInTheVectors()
    {
        var c = T5Config.FromFile(Path.Combine(ReferenceDir, "config.json"));
        var recorded = Vectors().GetProperty("config");
        int Int(string key) => recorded.GetProperty(key).GetInt32();
        Assert.Equal((Int("vocab_size"), Int("d_model"), Int("d_kv"), Int("d_ff")), (c.VocabSize, c.DModel, c.DKv, c.DFf));
        Assert.Equal((Int("num_layers"), Int("num_decoder_layers"), Int("num_heads")), (c.NumLayers, c.NumDecoderLayers, c.NumHeads));
        Assert.Equal((Int("relative_attention_num_buckets"), Int("relative_attention_max_distance")), (c.RelativeAttentionNumBuckets, c.RelativeAttentionMaxDistance));
        Assert.Equal(recorded.GetProperty("layer_norm_epsilon").GetDouble(), c.LayerNormEpsilon);
        Assert.Equal(recorded.GetProperty("feed_forward_proj").GetString() == "gated-gelu" ? T5FeedForward.GatedGelu : T5FeedForward.Relu, c.FeedForward);
        Assert.Equal(recorded.GetProperty("tie_word_embeddings").GetBoolean(), c.TieWordEmbeddings);
        Assert.Equal((Int("decoder_start_token_id"), Int("pad_token_id"), Int("eos_token_id")), (c.DecoderStartTokenId, c.PadTokenId, c.EosTokenId));
    }

    [Theory]
    [InlineData("vocab_size")]
    [InlineData("d_model")]
    [InlineData("d_kv")]
    [InlineData("d_ff")]
    [InlineData("num_layers")]
    [InlineData("num_heads")]
    [InlineData("relative_attention_num_buckets")]
    [InlineData("layer_norm_epsilon")]
    public void MissingRequiredKeyNamesTheFileAndTheKey(string key)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceDir, "config.json")))!.AsObject();
        json.Remove(key);
        string path = Path.Combine(TestPaths.NewTempDir("t5cfg"), "config.json");
        File.WriteAllText(path, json.ToJsonString());
        var e = Assert.Throws<InvalidInputException>(() => T5Config.FromFile(path));
        Assert.Equal($"{path}: {key}", e.Where);
    }

    [Fact]
    public void OriginalT5ConfigWithoutNewerKeysTakesHfDefaults()
    {
        // Shaped like the original t5-small config.json: no feed_forward_proj, num_decoder_layers or tie flag.
        var c = T5Config.FromJson("""
            {"model_type": "t5", "vocab_size": 100, "d_model": 8, "d_kv": 2, "d_ff": 16, "num_layers": 3, "num_heads": 4,
             "relative_attention_num_buckets": 32, "layer_norm_epsilon": 1e-6, "dropout_rate": 0.1, "num_decoder_layers": null}
            """);
        Assert.Equal(T5FeedForward.Relu, c.FeedForward);
        Assert.Equal(3, c.NumDecoderLayers);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal(128, c.RelativeAttentionMaxDistance);
    }

    [Theory]
    [InlineData("feed_forward_proj", "\"gated-silu\"")]
    [InlineData("model_type", "\"bert\"")]
    [InlineData("d_model", "\"wide\"")]
    [InlineData("num_heads", "2.5")]
    [InlineData("d_kv", "0")]
    public void BadValuesNameTheKey(string key, string value)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse("""
            {"vocab_size": 100, "d_model": 8, "d_kv": 2, "d_ff": 16, "num_layers": 1, "num_heads": 4,
             "relative_attention_num_buckets": 32, "layer_norm_epsilon": 1e-6}
            """)!.AsObject();
        json[key] = System.Text.Json.Nodes.JsonNode.Parse(value);
        var e = Assert.Throws<InvalidInputException>(() => T5Config.FromJson(json.ToJsonString(), "my/config.json"));
        Assert.Equal($"my/config.json: {key}", e.Where);
    }

    [Fact]
    public void DuplicateKeysAreRejectedAsBadInput()
    {
        var e = Assert.Throws<InvalidInputException>(() => T5Config.FromJson("""{"d_model": 8, "d_model": 9}""", "dup.json"));
        Assert.StartsWith("dup.json", e.Message);
    }

    [Fact]
    public void ConfigRoundTripsThroughItsJson()
    {
        var c = Tiny() with { LayerNormEpsilon = 1e-5, EosTokenId = 7, DecoderStartTokenId = 3 };
        Assert.Equal(c, T5Config.FromJson(c.ToJson()));
    }

    [Fact]
    public void ParameterNamesAreExactlyTheHfCheckpointKeys()
    {
        using var model = T5ForConditionalGeneration.Create(T5Config.FromFile(Path.Combine(ReferenceDir, "config.json")));
        var ours = model.named_parameters().Select(p => p.name).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var (entries, _) = SafeTensors.ReadIndex(Path.Combine(ReferenceDir, "model.safetensors"));
        var hf = entries.Select(e => e.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Equal(Vectors().GetProperty("safetensors_check").GetProperty("base").GetProperty("tensors").GetInt32(), hf.Count);
        Assert.Equal(hf, ours);
        Assert.Contains("decoder.block.1.layer.1.EncDecAttention.o.weight", ours);
        Assert.Contains("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", ours);
        Assert.DoesNotContain("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight", ours);
    }

    [Fact]
    public void LoaderRejectsUnknownMissingAndMisshapenTensors()
    {
        var config = T5Config.FromFile(Path.Combine(ReferenceDir, "config.json"));
        using var model = T5ForConditionalGeneration.Create(config);
        var tensors = SafeTensors.Read(Path.Combine(ReferenceDir, "model.safetensors"));

        tensors["encoder.block.0.layer.0.SelfAttention.qq.weight"] = zeros(4);
        var e = Assert.Throws<InvalidInputException>(() => model.LoadWeights(tensors, "ckpt"));
        Assert.Equal("ckpt: encoder.block.0.layer.0.SelfAttention.qq.weight", e.Where);
        tensors.Remove("encoder.block.0.layer.0.SelfAttention.qq.weight");

        var lmHead = tensors["lm_head.weight"];
        tensors.Remove("lm_head.weight");
        e = Assert.Throws<InvalidInputException>(() => model.LoadWeights(tensors, "ckpt"));
        Assert.Contains("lm_head.weight", e.Message);

        tensors["lm_head.weight"] = lmHead[..100];
        e = Assert.Throws<InvalidInputException>(() => model.LoadWeights(tensors, "ckpt"));
        Assert.Equal("ckpt: lm_head.weight", e.Where);
        Assert.Contains($"[100, {config.DModel}]", e.Message);
    }

    [Fact]
    public void EncoderOnlyLoaderSkipsTheDecoderButNotUnknownEncoderKeys()
    {
        var config = T5Config.FromFile(Path.Combine(ReferenceDir, "config.json"));
        using var model = T5EncoderModel.Create(config);
        var tensors = SafeTensors.Read(Path.Combine(ReferenceDir, "model.safetensors"));
        tensors["decoder.block.9.layer.0.SelfAttention.q.weight"] = zeros(2); // ignored with the rest of the decoder
        model.LoadWeights(tensors, "ckpt");
        tensors["encoder.block.9.layer.0.SelfAttention.q.weight"] = zeros(2);
        var e = Assert.Throws<InvalidInputException>(() => model.LoadWeights(tensors, "ckpt"));
        Assert.Equal("ckpt: encoder.block.9.layer.0.SelfAttention.q.weight", e.Where);
    }

    [Fact]
    public void TiedEmbeddingDuplicatesInACheckpointLoadIntoShared()
    {
        // pytorch_model.bin-style dicts also carry encoder/decoder.embed_tokens (same values as shared).
        var config = T5Config.FromFile(Path.Combine(ReferenceDir, "config.json"));
        using var reference = T5ForConditionalGeneration.FromPretrained(ReferenceDir);
        using var model = T5ForConditionalGeneration.Create(config);
        var tensors = SafeTensors.Read(Path.Combine(ReferenceDir, "model.safetensors"));
        tensors["encoder.embed_tokens.weight"] = tensors["shared.weight"];
        tensors["decoder.embed_tokens.weight"] = tensors["shared.weight"];
        model.LoadWeights(tensors, "bin-like");
        model.eval();
        using var ids = tensor(new long[] { 5, 9, 300, 1 }, 1, 4);
        using var a = model.Generate(ids, maxNewTokens: 5);
        using var b = reference.Generate(ids, maxNewTokens: 5);
        Assert.Equal(b.data<long>().ToArray(), a.data<long>().ToArray());
    }

    [Fact]
    public void TiedReluModelSavesReloadsAndRescalesBeforeTheSharedProjection()
    {
        var config = Tiny(T5FeedForward.Relu, tied: true);
        using var generator = new Generator(11);
        using var model = T5ForConditionalGeneration.Create(config, generator);
        model.eval();
        Assert.DoesNotContain(model.named_parameters(), p => p.name.StartsWith("lm_head"));
        Assert.Contains(model.named_parameters(), p => p.name == "decoder.block.2.layer.2.DenseReluDense.wi.weight");

        string dir = TestPaths.NewTempDir("t5save");
        model.SavePretrained(dir);
        using var reloaded = T5ForConditionalGeneration.FromPretrained(dir);
        Assert.Equal(config, reloaded.Config);

        using var ids = tensor(new long[] { 3, 4, 5, 6, 1, 7, 8, 9, 1, 0 }, 2, 5);
        using var mask = ids.ne(0).to(ScalarType.Int64);
        using var labels = tensor(new long[] { 10, 11, 1, 12, 1, -100 }, 2, 3);
        using var ours = model.Forward(ids, mask, labels: labels);
        using var again = reloaded.Forward(ids, mask, labels: labels);
        Assert.True(ours.Logits.allclose(again.Logits, rtol: 0, atol: 0));

        // Tied head (original T5): logits = (d_model^-0.5 * decoder states) @ shared^T.
        var shared = model.named_parameters().Single(p => p.name == "shared.weight").parameter;
        using var expected = matmul(ours.DecoderLastHiddenState * Math.Pow(16, -0.5), shared.t());
        Assert.True(ours.Logits.allclose(expected, rtol: 1e-5, atol: 1e-6));

        // The -100 label is ignored: the loss equals the mean over the 5 real label tokens.
        using var logProbs = ours.Logits.log_softmax(-1);
        long[] flat = [10, 11, 1, 12, 1];
        (int b, int t)[] at = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)];
        double manual = -at.Select((p, i) => logProbs[p.b, p.t, flat[i]].item<float>()).Average();
        Assert.Equal(manual, ours.Loss!.item<float>(), 4);
    }

    [Fact]
    public void GenerateStopsEachRowAtEosAndPadsFinishedRows()
    {
        // Same reference weights, but eos is set to a token that some rows produce and others do not: those rows
        // must stop there and be padded while the others continue unchanged; one finished row ends generation.
        var batch = Vectors().GetProperty("generate").GetProperty("padded_batch");
        var reference = LongRows(batch.GetProperty("sequences"));
        var baseConfig = T5Config.FromFile(Path.Combine(ReferenceDir, "config.json"));
        // What is known of each row once eos changes: up to and including its original eos (later ids would differ).
        var known = reference.Select(r =>
        {
            int end = Array.IndexOf(r, (long)baseConfig.EosTokenId, 1);
            return end > 0 ? r[..(end + 1)] : r;
        }).ToList();
        long eos = known.SelectMany(r => r.Skip(1))
            .Where(t => t != baseConfig.EosTokenId && t != baseConfig.PadTokenId)
            .First(t => known.Any(r => !r.Contains(t)));

        using var model = T5ForConditionalGeneration.Create(baseConfig with { EosTokenId = (int)eos });
        model.LoadWeights(SafeTensors.Read(Path.Combine(ReferenceDir, "model.safetensors")), "reference");
        model.eval();
        using var input = Rows(batch.GetProperty("input_ids"));
        using var mask = Rows(batch.GetProperty("attention_mask"));
        using var generated = model.Generate(input, mask, maxNewTokens: 8);
        int stoppedRow = -1;
        for (int b = 0; b < known.Count; b++)
        {
            var ours = generated[b].data<long>().ToArray();
            int stop = Array.IndexOf(known[b], eos, 1);
            if (stop > 0)
            {
                Assert.Equal(known[b][..(stop + 1)], ours[..(stop + 1)]);
                Assert.All(ours[(stop + 1)..], t => Assert.Equal(baseConfig.PadTokenId, t));
                stoppedRow = b;
            }
            else Assert.Equal(known[b], ours[..known[b].Length]);
        }
        Assert.True(stoppedRow >= 0);

        using var single = model.Generate(input[stoppedRow..(stoppedRow + 1)], mask[stoppedRow..(stoppedRow + 1)], maxNewTokens: 8);
        int at = Array.IndexOf(known[stoppedRow], eos, 1);
        Assert.Equal(known[stoppedRow][..(at + 1)], single[0].data<long>().ToArray());
    }

    static System.Text.Json.JsonElement Vectors() =>
        System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceDir, "vectors.json"))).RootElement;

    static List<long[]> LongRows(System.Text.Json.JsonElement e) =>
        e.EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToList();

    static Tensor Rows(System.Text.Json.JsonElement e)
    {
        var rows = LongRows(e);
        return tensor(rows.SelectMany(r => r).ToArray(), rows.Count, rows[0].Length);
    }

    [Theory]
    // Bidirectional, 32 buckets -> 16 per direction, 8 exact; keys after the query use buckets 16..31.
    [InlineData(true, 0, 0)]
    [InlineData(true, -1, 1)]
    [InlineData(true, 1, 17)]
    [InlineData(true, -7, 7)]
    [InlineData(true, -20, 10)]   // 8 + floor(ln(20/8) / ln(128/8) * 8) = 8 + 2
    [InlineData(true, 200, 31)]   // clamped to the last bucket of its half
    // Causal, 32 buckets, 16 exact; keys after the query (positive) all fall in bucket 0.
    [InlineData(false, 5, 0)]
    [InlineData(false, -5, 5)]
    [InlineData(false, -20, 17)]  // 16 + floor(ln(20/16) / ln(128/16) * 16) = 16 + 1
    [InlineData(false, -1000, 31)]
    public void RelativePositionBucketsFollowT5(bool bidirectional, long relative, long bucket)
    {
        using var r = tensor(new[] { relative });
        using var b = T5Attention.RelativePositionBucket(r, bidirectional, 32, 128);
        Assert.Equal(bucket, b.item<long>());
    }

    [Fact]
    public void OutputsBelongToTheCallersDisposeScope()
    {
        using var generator = new Generator(5);
        using var model = T5ForConditionalGeneration.Create(Tiny(), generator);
        using var ids = tensor(new long[] { 5, 6, 7, 1 }, 1, 4);
        T5EncoderOutput encoded;
        T5Seq2SeqOutput output;
        using (var scope = NewDisposeScope())
        {
            encoded = model.EncodeStates(ids, outputHiddenStates: true);
            output = model.Forward(ids, labels: ids, outputHiddenStates: true);
            Assert.False(encoded.LastHiddenState.IsInvalid);
        }
        // Everything returned, the last state shared with the hidden-states list included, went with the scope.
        Assert.True(encoded.LastHiddenState.IsInvalid);
        Assert.All(encoded.HiddenStates!, t => Assert.True(t.IsInvalid));
        Assert.True(output.Logits.IsInvalid && output.Loss!.IsInvalid && output.DecoderLastHiddenState.IsInvalid);
        Assert.All(output.DecoderHiddenStates!, t => Assert.True(t.IsInvalid));
    }

    [Fact]
    public void OneAdamWStepLowersTheTeacherForcedLoss()
    {
        using var generator = new Generator(3); // a private generator: other test classes may draw in parallel
        using var model = T5ForConditionalGeneration.Create(Tiny(), generator);
        model.train();
        using var ids = tensor(new long[] { 5, 6, 7, 8, 9, 1, 20, 21, 22, 1, 0, 0 }, 2, 6);
        using var mask = ids.ne(0).to(ScalarType.Int64);
        using var labels = tensor(new long[] { 30, 31, 32, 1, 40, 41, 1, -100 }, 2, 4);
        var optimizer = torch.optim.AdamW(model.parameters(), lr: 1e-2, weight_decay: 0.0);

        float before;
        using (var output = model.Forward(ids, mask, labels: labels))
        {
            before = output.Loss!.item<float>();
            optimizer.zero_grad();
            output.Loss.backward();
        }
        // Every parameter, relative position biases and both stacks included, receives a gradient.
        foreach (var (name, p) in model.named_parameters())
            Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"no gradient reaches {name}");
        optimizer.step();

        using var after = model.Forward(ids, mask, labels: labels);
        float afterLoss = after.Loss!.item<float>();
        using (var sameGenerator = new Generator(3))
        using (var sameSeed = T5ForConditionalGeneration.Create(Tiny(), sameGenerator))
        using (var again = sameSeed.Forward(ids, mask, labels: labels))
            Assert.Equal(before, again.Loss!.item<float>()); // the init depends on the generator alone
        Assert.True(before > 3.0 && float.IsFinite(before), $"initial loss {before}");
        Assert.True(afterLoss < before - 1.0, $"loss {before} -> {afterLoss}");
    }
}
