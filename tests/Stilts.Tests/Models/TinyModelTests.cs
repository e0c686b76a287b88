using Stilts.Checkpoints;
using Stilts.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tests.Models;

// Behaviour of randomly initialised tiny models (HF's RobertaModelTester sizes: vocab 99, hidden 32, 2 layers).
public sealed class TinyModelTests
{
    static EncoderConfig Tiny(string modelType) => EncoderConfig.FromJson($$"""
        {"model_type": "{{modelType}}", "vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2,
         "num_attention_heads": 4, "intermediate_size": 37, "max_position_embeddings": 64,
         "type_vocab_size": 2, "num_labels": 3}
        """);

    // Ids avoid both families' pad ids (0 and 1); the second row is padded at its end.
    static EncoderInput Batch(EncoderConfig config)
    {
        long pad = config.PadTokenId;
        var ids = tensor(new long[] { 5, 17, 42, 8, 9, 2, 33, 7, pad, pad }, 2, 5);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, 2, 5);
        return new EncoderInput(ids, mask);
    }

    [Theory]
    [InlineData("bert", HeadKind.SequenceClassification, new long[] { 2, 3 })]
    [InlineData("bert", HeadKind.TokenClassification, new long[] { 2, 5, 3 })]
    [InlineData("bert", HeadKind.QuestionAnswering, new long[] { 2, 5, 2 })]
    [InlineData("bert", HeadKind.MaskedLM, new long[] { 2, 5, 99 })]
    [InlineData("xlm-roberta", HeadKind.SequenceClassification, new long[] { 2, 3 })]
    [InlineData("xlm-roberta", HeadKind.TokenClassification, new long[] { 2, 5, 3 })]
    [InlineData("xlm-roberta", HeadKind.QuestionAnswering, new long[] { 2, 5, 2 })]
    [InlineData("xlm-roberta", HeadKind.MaskedLM, new long[] { 2, 5, 99 })]
    public void EveryHeadGivesItsShapeAndAFiniteLossThatTrains(string modelType, HeadKind kind, long[] shape)
    {
        manual_seed(1);
        var config = Tiny(modelType);
        using var model = EncoderWithHead.Create(config, kind);
        using var scope = NewDisposeScope();
        var input = Batch(config);
        var logits = model.forward(input);
        Assert.Equal(shape, logits.shape);
        var labels = kind switch
        {
            HeadKind.SequenceClassification => tensor(new long[] { 0, 2 }),
            HeadKind.QuestionAnswering => tensor(new long[] { 1, 3, 0, 2 }, 2, 2),
            HeadKind.MaskedLM => tensor(new long[] { -100, 17, -100, -100, 9, -100, -100, 7, -100, -100 }, 2, 5),
            _ => tensor(new long[] { 0, 1, 2, 1, -100, 2, 0, 1, -100, -100 }, 2, 5),
        };
        var loss = model.Loss(logits, labels);
        Assert.True(double.IsFinite(loss.item<float>()) && loss.item<float>() > 0);
        loss.backward();
        // Every parameter that can influence the loss receives a gradient, the encoder's first layer included.
        var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
        Assert.NotNull(grads[$"{model.Encoder.BaseModelPrefix}.encoder.layer.0.attention.self.query.weight"]);
        Assert.All(grads.Where(g => !g.Key.Contains("pooler")), g => Assert.NotNull(g.Value));
    }

    [Fact]
    public void MultipleChoiceScoresEveryChoice()
    {
        manual_seed(2);
        var config = Tiny("bert");
        using var model = EncoderWithHead.Create(config, HeadKind.MultipleChoice);
        model.eval();
        using var scope = NewDisposeScope();
        var ids = randint(2, 99, new long[] { 2, 3, 6 });                                         // (B=2, C=3, T=6)
        var input = new EncoderInput(ids, ones_like(ids), zeros_like(ids));
        var logits = model.forward(input);
        Assert.Equal(new long[] { 2, 3 }, logits.shape);
        // Choice (1, 2) scored alone equals its entry in the batch: the reshape keeps rows and choices apart.
        var one = ids[1, 2].unsqueeze(0);                                              // (1, 6)
        var single = model.Encoder.forward(new EncoderInput(one, ones_like(one), zeros_like(one)));
        var alone = ((MultipleChoiceHead)model.Head).forward(single);
        Assert.Equal(logits[1, 2].item<float>(), alone.item<float>(), 5);
        Assert.True(model.Loss(logits, tensor(new long[] { 0, 2 })).item<float>() > 0);
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("xlm-roberta")]
    public void StateDictKeysAreHfKeys(string family)
    {
        string dir = TestPaths.TestVectors(family);
        var config = EncoderConfig.FromFile(Path.Combine(dir, "config.json"));
        var baseKeys = SafeTensors.ReadIndex(Path.Combine(dir, "model.safetensors")).Entries.Select(e => e.Name).ToHashSet();
        using (var encoder = Encoder.Create(config))
            Assert.Equal(baseKeys.Order(), encoder.state_dict().Keys.Order());

        var seqCls = SafeTensors.ReadIndex(Path.Combine(dir, "seq-cls", "model.safetensors")).Entries.Select(e => e.Name);
        using (var model = EncoderWithHead.Create(EncoderConfig.FromFile(Path.Combine(dir, "seq-cls", "config.json")), HeadKind.SequenceClassification))
            Assert.Equal(seqCls.Order(), model.state_dict().Keys.Order());

        // Heads without a pooler in HF: prefixed base keys minus pooler.*, plus exactly the head's tensors.
        string prefix = family == "bert" ? "bert" : "roberta";
        foreach (var (head, kind) in new[] { ("token-cls", HeadKind.TokenClassification), ("qa", HeadKind.QuestionAnswering), ("multiple-choice", HeadKind.MultipleChoice) })
        {
            var headKeys = SafeTensors.ReadIndex(Path.Combine(dir, head, "head.safetensors")).Entries.Select(e => e.Name);
            bool pooled = kind == HeadKind.MultipleChoice;
            var expected = baseKeys.Where(k => pooled || !k.StartsWith("pooler.")).Select(k => $"{prefix}.{k}").Concat(headKeys);
            using var model = EncoderWithHead.Create(EncoderConfig.FromFile(Path.Combine(dir, head, "config.json")), kind);
            Assert.Equal(expected.Order(), model.state_dict().Keys.Order());
        }
    }

    [Theory]
    [InlineData("bert", "cls.predictions.transform.dense.weight", "cls.predictions.transform.LayerNorm.weight", "cls.predictions.bias", "cls.predictions.decoder.weight")]
    [InlineData("xlm-roberta", "lm_head.dense.weight", "lm_head.layer_norm.weight", "lm_head.bias", "lm_head.decoder.weight")]
    public void MaskedLMDecoderIsTiedToTheWordEmbeddings(string modelType, string dense, string norm, string bias, string decoderAlias)
    {
        manual_seed(3);
        var config = Tiny(modelType);
        using var model = EncoderWithHead.Create(config, HeadKind.MaskedLM);
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains(dense, keys);
        Assert.Contains(norm, keys);
        Assert.Contains(bias, keys);
        Assert.DoesNotContain(decoderAlias, keys); // stored once, under the embeddings
        string embeddings = $"{model.Encoder.BaseModelPrefix}.embeddings.word_embeddings.weight";
        Assert.Equal(embeddings, model.TiedKeys[decoderAlias]);

        model.eval();
        using var scope = NewDisposeScope();
        var input = Batch(config);
        var before = model.forward(input);
        // Changing one embedding row changes that vocabulary entry's logit everywhere: the decoder reads the same matrix.
        // (Not a constant shift: LayerNorm outputs sum to ~0, so that would barely move the logit.)
        using (no_grad()) model.Encoder.WordEmbeddings[50].add_(randn(config.HiddenSize));
        var after = model.forward(input);
        Assert.True((after.select(2, 50) - before.select(2, 50)).abs().max().item<float>() > 1e-3);
        Assert.True((after.select(2, 49) - before.select(2, 49)).abs().max().item<float>() < 1e-6); // other entries are untouched
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("xlm-roberta")]
    public void PaddingDoesNotReachRealTokens(string modelType)
    {
        manual_seed(4);
        var config = Tiny(modelType);
        using var encoder = Encoder.Create(config);
        encoder.eval();
        using var scope = NewDisposeScope();
        var input = Batch(config);
        var reference = encoder.forward(input).LastHiddenState;                                  // (2, 5, 32)
        // Other ids at the masked tail of row 1 leave every unmasked output unchanged.
        var otherPads = tensor(new long[] { 5, 17, 42, 8, 9, 2, 33, 7, 60, 61 }, 2, 5);
        var b = encoder.forward(input with { InputIds = otherPads }).LastHiddenState;
        Assert.True(reference.narrow(1, 0, 3).allclose(b.narrow(1, 0, 3), rtol: 0, atol: 1e-6));
        Assert.True(reference[0].allclose(b[0], rtol: 0, atol: 1e-6));
        // Masking a real token does change the others: the mask is really applied.
        var masked = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 }, 2, 5);
        var c = encoder.forward(input with { AttentionMask = masked }).LastHiddenState;
        Assert.False(reference[1].narrow(0, 0, 2).allclose(c[1].narrow(0, 0, 2), rtol: 0, atol: 1e-4));
        Assert.True(reference[0].allclose(c[0], rtol: 0, atol: 1e-6));
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("xlm-roberta")]
    public void ARowWithoutRealTokensStaysFinite(string modelType)
    {
        // E.g. an empty choice padded away entirely: HF's finite mask attends uniformly; NaN here would poison training.
        manual_seed(8);
        var config = Tiny(modelType);
        using var model = EncoderWithHead.Create(config, HeadKind.TokenClassification);
        using var scope = NewDisposeScope();
        var input = Batch(config) with { AttentionMask = tensor(new long[] { 1, 1, 1, 0, 0, 0, 0, 0, 0, 0 }, 2, 5) };
        var logits = model.forward(input);
        Assert.False(logits.isnan().any().item<bool>());
        model.Loss(logits, tensor(new long[] { 0, 1, 2, -100, -100, -100, -100, -100, -100, -100 }, 2, 5)).backward();
        Assert.All(model.parameters(), p => Assert.False(p.grad!.isnan().any().item<bool>()));
    }

    [Theory]
    [InlineData("bert", "seq-cls", HeadKind.SequenceClassification)]
    [InlineData("xlm-roberta", "token-cls", HeadKind.TokenClassification)]
    [InlineData("xlm-roberta", "qa", HeadKind.QuestionAnswering)]
    [InlineData("bert", "multiple-choice", HeadKind.MultipleChoice)]
    public void ArchitectureNamesTellTheHead(string family, string dir, HeadKind expected)
    {
        var config = EncoderConfig.FromFile(Path.Combine(TestPaths.TestVectors(family), dir, "config.json"));
        Assert.Equal(expected, TaskHead.KindOf(Assert.Single(config.Architectures)));
        Assert.Equal(HeadKind.MaskedLM, TaskHead.KindOf("XLMRobertaForMaskedLM"));
        Assert.Null(TaskHead.KindOf(EncoderConfig.FromFile(Path.Combine(TestPaths.TestVectors(family), "config.json")).Architectures[0]));
    }

    [Fact]
    public void RobertaPositionsCountRealTokensAfterThePadIndex()
    {
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 0, 5, 6, 2, 1, 1, 0, 2, 1, 1, 1, 1 }, 2, 6);
        var positions = RobertaEmbeddings.PositionIds(ids, 1);
        Assert.Equal(new long[] { 2, 3, 4, 5, 1, 1, 2, 3, 1, 1, 1, 1 }, positions.data<long>().ToArray());
    }

    [Fact]
    public void DropoutActsOnlyInTrainingMode()
    {
        manual_seed(5);
        var config = Tiny("bert") with { HiddenDropoutProb = 0.3, AttentionProbsDropoutProb = 0.3 };
        using var encoder = Encoder.Create(config);
        using var scope = NewDisposeScope();
        var input = Batch(config);
        encoder.train();
        var t1 = encoder.forward(input).LastHiddenState;
        var t2 = encoder.forward(input).LastHiddenState;
        Assert.False(t1.allclose(t2));
        encoder.eval();
        Assert.True(encoder.forward(input).LastHiddenState.allclose(encoder.forward(input).LastHiddenState, rtol: 0, atol: 0));
    }

    [Fact]
    public void OneEncoderFeedsSeveralHeads()
    {
        manual_seed(6);
        var config = Tiny("xlm-roberta");
        using var encoder = Encoder.Create(config, addPoolingLayer: true);
        var tagging = TaskHead.Create(HeadKind.TokenClassification, encoder, numLabels: 7);
        var choice = TaskHead.Create(HeadKind.MultipleChoice, encoder, numLabels: 1);
        var entailment = TaskHead.Create(HeadKind.SequenceClassification, encoder, numLabels: 3);
        using var scope = NewDisposeScope();
        var input = Batch(config);

        var tags = tagging.Apply(encoder, input);
        Assert.Equal(new long[] { 2, 5, 7 }, tags.shape);
        tagging.Loss(tags, tensor(new long[] { 1, 2, 3, 4, 5, 6, 0, 1, -100, -100 }, 2, 5)).backward();
        var query = encoder.named_parameters().Single(p => p.name == "encoder.layer.1.attention.self.query.weight").parameter;
        var afterTagging = query.grad!.clone();
        var labels = tensor(new long[] { 2, 0 });
        entailment.Loss(entailment.Apply(encoder, input), labels).backward();
        Assert.False(query.grad!.allclose(afterTagging)); // the second task's gradient accumulates into the shared encoder
        Assert.Empty(tagging.parameters().Intersect(entailment.parameters()));
        Assert.Throws<ArgumentException>(() => TaskHead.Create(HeadKind.MultipleChoice, Encoder.Create(config, addPoolingLayer: false), 1));
    }

    [Fact]
    public void Bf16ModelStaysCloseToFloat32()
    {
        manual_seed(7);
        var config = Tiny("bert");
        using var model = EncoderWithHead.Create(config, HeadKind.SequenceClassification);
        model.eval();
        using var scope = NewDisposeScope();
        var input = Batch(config);
        var fp32 = model.forward(input);
        model.Place(DeviceChoice.Cpu, Precision.BFloat16);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        var bf16 = model.forward(input);
        Assert.Equal(ScalarType.BFloat16, bf16.dtype);
        Assert.True(bf16.to(ScalarType.Float32).allclose(fp32, rtol: 0.05, atol: 0.05));
        var loss = model.Loss(bf16, tensor(new long[] { 1, 2 }));
        Assert.Equal(ScalarType.Float32, loss.dtype);
        loss.backward();
        Assert.Equal(ScalarType.BFloat16, model.Head.parameters().First().grad!.dtype);
    }

    [Fact]
    public void DeviceChoiceResolvesAgainstCudaAvailability()
    {
        Assert.Equal(DeviceType.CPU, Placement.Resolve(DeviceChoice.Cpu).type);
        bool cudaPresent = cuda.is_available();
        Assert.Equal(cudaPresent ? DeviceType.CUDA : DeviceType.CPU, Placement.Resolve(DeviceChoice.Auto).type);
        if (cudaPresent) Assert.Equal(DeviceType.CUDA, Placement.Resolve(DeviceChoice.Cuda).type);
        else Assert.Contains("cuda", Assert.Throws<InvalidInputException>(() => Placement.Resolve(DeviceChoice.Cuda)).Message);
    }

    [Fact]
    public void WrongShapeInACheckpointNamesTheTensor()
    {
        var config = Tiny("bert");
        using var encoder = Encoder.Create(config);
        string file = Path.Combine(TestPaths.NewTempDir(), "x.safetensors");
        SafeTensors.Write(file, new Dictionary<string, Tensor> { ["pooler.dense.weight"] = zeros(3, 3) });
        var e = Assert.Throws<InvalidInputException>(() => Checkpoint.LoadFile(encoder, file, new LoadOptions { AllowMissing = ["*"] }));
        Assert.StartsWith($"{file}: pooler.dense.weight:", e.Message);
        Assert.Contains("[32, 32]", e.Message);
    }
}
