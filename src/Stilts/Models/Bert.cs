using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Stilts.Models;

// BERT as HF transformers' modeling_bert.py computes it, read top-down: embeddings -> self-attention -> layer ->
// encoder -> pooler -> model -> BERT-shaped heads. Field names are the HF state-dict segments on purpose
// (embeddings.word_embeddings, encoder.layer.N.attention.self.query, ...): RegisterComponents turns field names
// into keys, so checkpoints load by identity. RoBERTa reuses the transformer blocks below (Roberta.cs);
// only its embeddings and some heads differ.
// Shapes: B batch, T tokens, H hidden, nh heads, hs head size (H / nh), I intermediate size.

/// <summary>word + token type + position embeddings -> LayerNorm -> dropout. BERT positions are 0..T-1.</summary>
internal sealed class BertEmbeddings : nn.Module<Tensor, Tensor?, Tensor>
{
    public Embedding word_embeddings;
    public Embedding position_embeddings;
    public Embedding token_type_embeddings;
    public LayerNorm LayerNorm;
    public Dropout dropout;

    public BertEmbeddings(EncoderConfig config) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = new LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputIds, Tensor? tokenTypeIds)
    {
        using var scope = NewDisposeScope();
        var positions = arange(inputIds.shape[1], ScalarType.Int64, inputIds.device).unsqueeze(0); // (1, T)
        var types = tokenTypeIds ?? zeros_like(inputIds);
        // Same summation order as HF (words + types, then + positions), so float rounding matches too.
        var x = word_embeddings.forward(inputIds) + token_type_embeddings.forward(types);           // (B, T, H)
        x = x + position_embeddings.forward(positions);
        return dropout.forward(LayerNorm.forward(x)).MoveToOuterDisposeScope();
    }
}

/// <summary>Multi-head self-attention through SDPA; padded keys are masked out.</summary>
internal sealed class BertSelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    public Linear query;
    public Linear key;
    public Linear value;
    readonly long heads;
    readonly double attentionDropout;

    public BertSelfAttention(EncoderConfig config) : base(nameof(BertSelfAttention))
    {
        query = nn.Linear(config.HiddenSize, config.HiddenSize);
        key = nn.Linear(config.HiddenSize, config.HiddenSize);
        value = nn.Linear(config.HiddenSize, config.HiddenSize);
        heads = config.NumAttentionHeads;
        attentionDropout = config.AttentionProbsDropoutProb;
        RegisterComponents();
    }

    /// <param name="x">(B, T, H)</param>
    /// <param name="keyMask">(B, 1, 1, T) additive: 0 for real keys, very negative for padding</param>
    public override Tensor forward(Tensor x, Tensor keyMask)
    {
        long b = x.shape[0], t = x.shape[1];
        Tensor SplitHeads(Tensor y) => y.view(b, t, heads, -1).transpose(1, 2);                     // (B, nh, T, hs)
        var q = SplitHeads(query.forward(x));
        var k = SplitHeads(key.forward(x));
        var v = SplitHeads(value.forward(x));
        // softmax(q k^T / sqrt(hs)) v; TorchSharp spells the causal flag "is_casual" (we want it off).
        var y = F.scaled_dot_product_attention(q, k, v, keyMask, p: training ? attentionDropout : 0, is_casual: false);
        return y.transpose(1, 2).reshape(b, t, -1);                                                  // (B, T, H)
    }
}

/// <summary>Projection after attention, dropout, residual, LayerNorm (post-LN).</summary>
internal sealed class BertSelfOutput : nn.Module<Tensor, Tensor, Tensor>
{
    public Linear dense;
    public LayerNorm LayerNorm;
    public Dropout dropout;

    public BertSelfOutput(EncoderConfig config) : base(nameof(BertSelfOutput))
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        LayerNorm = new LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor attended, Tensor residual) =>
        LayerNorm.forward(dropout.forward(dense.forward(attended)) + residual);
}

internal sealed class BertAttention : nn.Module<Tensor, Tensor, Tensor>
{
    public BertSelfAttention self;
    public BertSelfOutput output;

    public BertAttention(EncoderConfig config) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(config);
        output = new BertSelfOutput(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor keyMask) => output.forward(self.forward(x, keyMask), x);
}

/// <summary>The feed-forward's first half: H -> I with the configured activation.</summary>
internal sealed class BertIntermediate : nn.Module<Tensor, Tensor>
{
    public Linear dense;
    readonly Activation act;

    public BertIntermediate(EncoderConfig config) : base(nameof(BertIntermediate))
    {
        dense = nn.Linear(config.HiddenSize, config.IntermediateSize);
        act = config.HiddenAct;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Activations.Apply(act, dense.forward(x));           // (B, T, I)
}

/// <summary>The feed-forward's second half: I -> H, dropout, residual, LayerNorm.</summary>
internal sealed class BertOutput : nn.Module<Tensor, Tensor, Tensor>
{
    public Linear dense;
    public LayerNorm LayerNorm;
    public Dropout dropout;

    public BertOutput(EncoderConfig config) : base(nameof(BertOutput))
    {
        dense = nn.Linear(config.IntermediateSize, config.HiddenSize);
        LayerNorm = new LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor intermediate, Tensor residual) =>
        LayerNorm.forward(dropout.forward(dense.forward(intermediate)) + residual);
}

internal sealed class BertLayer : nn.Module<Tensor, Tensor, Tensor>
{
    public BertAttention attention;
    public BertIntermediate intermediate;
    public BertOutput output;

    public BertLayer(EncoderConfig config) : base(nameof(BertLayer))
    {
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertOutput(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor keyMask)
    {
        // A scope per layer frees this layer's temporaries (autograd keeps what backward needs).
        using var scope = NewDisposeScope();
        var attended = attention.forward(x, keyMask);                                                // (B, T, H)
        return output.forward(intermediate.forward(attended), attended).MoveToOuterDisposeScope();   // (B, T, H)
    }
}

internal sealed class BertEncoder : nn.Module
{
    public ModuleList<BertLayer> layer;

    public BertEncoder(EncoderConfig config) : base(nameof(BertEncoder))
    {
        layer = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config)).ToArray());
        RegisterComponents();
    }

    /// <summary>Runs every layer; with <paramref name="collect"/> also returns [embeddings, layer 1, ..., layer L].</summary>
    public (Tensor Last, List<Tensor>? All) forward(Tensor x, Tensor keyMask, bool collect)
    {
        var all = collect ? new List<Tensor> { x } : null;
        foreach (var block in layer)
        {
            x = block.forward(x, keyMask);
            all?.Add(x);
        }
        return (x, all);
    }
}

/// <summary>tanh(dense(h[:, 0])): the first token's state, as BERT's next-sentence objective trained it.</summary>
internal sealed class BertPooler : nn.Module<Tensor, Tensor>
{
    public Linear dense;

    public BertPooler(EncoderConfig config) : base(nameof(BertPooler))
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var first = hidden.select(1, 0);                                                       // (B, H)
        using var projected = dense.forward(first);
        return projected.tanh();
    }
}

/// <summary>HF BertModel: the encoder alone; state-dict keys embeddings.*, encoder.layer.N.*, pooler.dense.*.</summary>
public sealed class BertModel : Encoder
{
    readonly BertEmbeddings embeddings;
    readonly BertEncoder encoder;
    readonly BertPooler? pooler;

    public BertModel(EncoderConfig config, bool addPoolingLayer = true) : base(nameof(BertModel), config)
    {
        if (config.Family != EncoderFamily.Bert)
            throw new ArgumentException($"BertModel needs a bert config, got model_type '{config.ModelType}'", nameof(config));
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        pooler = addPoolingLayer ? new BertPooler(config) : null;
        RegisterComponents();
        InitWeights((embeddings.word_embeddings, config.PadTokenId));
    }

    public override string BaseModelPrefix => "bert";
    public override bool HasPooler => pooler != null;
    public override Parameter WordEmbeddings => embeddings.word_embeddings.weight!;

    public override EncoderOutput forward(EncoderInput input)
    {
        using var scope = NewDisposeScope();
        var x = embeddings.forward(input.InputIds, input.TokenTypeIds);                              // (B, T, H)
        var (last, all) = encoder.forward(x, KeyPaddingMask(input.AttentionMask, x.dtype), input.OutputHiddenStates);
        return new EncoderOutput(last, pooler?.forward(last), all).MoveToOuterDisposeScope();
    }
}

/// <summary>HF BertForSequenceClassification's head: pooler_output -> dropout -> classifier (H -> labels).</summary>
public sealed class BertSequenceClassificationHead : TaskHead
{
    internal Dropout dropout;
    internal Linear classifier;

    public BertSequenceClassificationHead(EncoderConfig config, int numLabels) : base(nameof(BertSequenceClassificationHead))
    {
        dropout = nn.Dropout(config.EffectiveClassifierDropout);
        classifier = nn.Linear(config.HiddenSize, numLabels);
        RegisterComponents();
        InitLinear(config, classifier);
    }

    public override HeadKind Kind => HeadKind.SequenceClassification;
    public override bool NeedsPooler => true;

    public override Tensor forward(EncoderOutput encoded)                                            // (B, labels)
    {
        var pooled = encoded.PoolerOutput ?? throw new InvalidOperationException("this head needs an encoder with a pooler");
        using var dropped = dropout.forward(pooled);
        return classifier.forward(dropped);
    }

    public override Tensor Loss(Tensor logits, Tensor labels) => Losses.CrossEntropy(logits, labels);
}

/// <summary>
/// HF BertForMaskedLM's head, keys cls.predictions.{transform.dense, transform.LayerNorm, bias}. The decoder is
/// the word-embedding matrix itself (tied), so cls.predictions.decoder.* are aliases, listed in <see cref="TiedKeys"/>.
/// </summary>
public sealed class BertMaskedLMHead : TaskHead
{
    internal OnlyMLMHead cls;
    readonly Func<Tensor> decoderWeight; // a delegate, not a field of type Tensor, so it is not registered twice
    readonly Dictionary<string, string> tied;

    public BertMaskedLMHead(Encoder encoder) : base(nameof(BertMaskedLMHead))
    {
        cls = new OnlyMLMHead(encoder.Config);
        decoderWeight = () => encoder.WordEmbeddings;
        tied = new()
        {
            ["cls.predictions.decoder.weight"] = $"{encoder.BaseModelPrefix}.embeddings.word_embeddings.weight",
            ["cls.predictions.decoder.bias"] = "cls.predictions.bias",
        };
        RegisterComponents();
        InitLinear(encoder.Config, cls.predictions.transform.dense);
    }

    public override HeadKind Kind => HeadKind.MaskedLM;
    public override IReadOnlyDictionary<string, string> TiedKeys => tied;

    public override Tensor forward(EncoderOutput encoded)                                            // (B, T, V)
    {
        using var scope = NewDisposeScope();
        var p = cls.predictions;
        var x = p.transform.LayerNorm.forward(Activations.Apply(p.transform.act, p.transform.dense.forward(encoded.LastHiddenState)));
        return F.linear(x, decoderWeight(), p.bias).MoveToOuterDisposeScope();
    }

    public override Tensor Loss(Tensor logits, Tensor labels) => Losses.TokenCrossEntropy(logits, labels);

    internal sealed class OnlyMLMHead : nn.Module
    {
        public LMPredictionHead predictions;

        internal OnlyMLMHead(EncoderConfig config) : base(nameof(OnlyMLMHead))
        {
            predictions = new LMPredictionHead(config);
            RegisterComponents();
        }
    }

    internal sealed class LMPredictionHead : nn.Module
    {
        public PredictionHeadTransform transform;
        public Parameter bias;

        internal LMPredictionHead(EncoderConfig config) : base(nameof(LMPredictionHead))
        {
            transform = new PredictionHeadTransform(config);
            bias = nn.Parameter(zeros(config.VocabSize));
            RegisterComponents();
        }
    }

    internal sealed class PredictionHeadTransform : nn.Module
    {
        public Linear dense;
        public LayerNorm LayerNorm;
        internal readonly Activation act;

        internal PredictionHeadTransform(EncoderConfig config) : base(nameof(PredictionHeadTransform))
        {
            dense = nn.Linear(config.HiddenSize, config.HiddenSize);
            LayerNorm = new LayerNorm(config.HiddenSize, config.LayerNormEps);
            act = config.HiddenAct;
            RegisterComponents();
        }
    }
}
