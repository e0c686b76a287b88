using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Stilts.Models;

// RoBERTa as HF transformers' modeling_roberta.py computes it. XLM-R and CamemBERT are RoBERTa configs, not new
// code. The transformer layers and pooler are BERT's (Bert.cs: HF's "Copied from Bert" classes); what differs is
// here: padding-aware position ids, and the sequence-classification and masked-LM heads.
// Shapes: B batch, T tokens, H hidden, V vocabulary.

/// <summary>
/// As <see cref="BertEmbeddings"/>, but positions count real tokens only, starting after the padding index:
/// position_ids = cumsum(ids != pad) * (ids != pad) + pad, so padding gets pad and tokens pad+1, pad+2, ...
/// (this is why max_position_embeddings is the sequence limit + 2).
/// </summary>
internal sealed class RobertaEmbeddings : nn.Module<Tensor, Tensor?, Tensor>
{
    public Embedding word_embeddings;
    public Embedding position_embeddings;
    public Embedding token_type_embeddings;
    public LayerNorm LayerNorm;
    public Dropout dropout;
    readonly long padding_idx;

    public RobertaEmbeddings(EncoderConfig config) : base(nameof(RobertaEmbeddings))
    {
        padding_idx = config.PadTokenId;
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: padding_idx);
        position_embeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize, padding_idx: padding_idx);
        token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = new LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public static Tensor PositionIds(Tensor inputIds, long paddingIdx)
    {
        using var scope = NewDisposeScope();
        var real = inputIds.ne(paddingIdx).to(ScalarType.Int64);                                    // (B, T) 1 = token
        return (real.cumsum(1) * real + paddingIdx).MoveToOuterDisposeScope();                       // (B, T)
    }

    public override Tensor forward(Tensor inputIds, Tensor? tokenTypeIds)
    {
        using var scope = NewDisposeScope();
        var positions = PositionIds(inputIds, padding_idx);
        var types = tokenTypeIds ?? zeros_like(inputIds);
        var x = word_embeddings.forward(inputIds) + token_type_embeddings.forward(types);           // (B, T, H)
        x = x + position_embeddings.forward(positions);
        return dropout.forward(LayerNorm.forward(x)).MoveToOuterDisposeScope();
    }
}

/// <summary>HF RobertaModel / XLMRobertaModel: keys embeddings.*, encoder.layer.N.*, pooler.dense.*.</summary>
public sealed class RobertaModel : Encoder
{
    readonly RobertaEmbeddings embeddings;
    readonly BertEncoder encoder;
    readonly BertPooler? pooler;

    public RobertaModel(EncoderConfig config, bool addPoolingLayer = true) : base(nameof(RobertaModel), config)
    {
        if (config.Family != EncoderFamily.Roberta)
            throw new ArgumentException($"RobertaModel needs a roberta-family config, got model_type '{config.ModelType}'", nameof(config));
        embeddings = new RobertaEmbeddings(config);
        encoder = new BertEncoder(config);
        pooler = addPoolingLayer ? new BertPooler(config) : null;
        RegisterComponents();
        InitWeights((embeddings.word_embeddings, config.PadTokenId), (embeddings.position_embeddings, config.PadTokenId));
    }

    public override string BaseModelPrefix => "roberta";
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

/// <summary>
/// HF RobertaForSequenceClassification's head (keys classifier.dense.*, classifier.out_proj.*): the &lt;s&gt; state
/// -> dropout -> dense -> tanh -> dropout -> out_proj. It has its own dense+tanh, so RoBERTa's pooler is unused.
/// </summary>
public sealed class RobertaSequenceClassificationHead : TaskHead
{
    internal ClassificationHead classifier;

    public RobertaSequenceClassificationHead(EncoderConfig config, int numLabels) : base(nameof(RobertaSequenceClassificationHead))
    {
        classifier = new ClassificationHead(config, numLabels);
        RegisterComponents();
        InitLinear(config, classifier.dense);
        InitLinear(config, classifier.out_proj);
    }

    public override HeadKind Kind => HeadKind.SequenceClassification;

    public override Tensor forward(EncoderOutput encoded)                                            // (B, labels)
    {
        using var scope = NewDisposeScope();
        var x = classifier.dropout.forward(encoded.LastHiddenState.select(1, 0));                    // (B, H)
        x = classifier.dropout.forward(classifier.dense.forward(x).tanh());
        return classifier.out_proj.forward(x).MoveToOuterDisposeScope();
    }

    public override Tensor Loss(Tensor logits, Tensor labels) => Losses.CrossEntropy(logits, labels);

    internal sealed class ClassificationHead : nn.Module
    {
        public Linear dense;
        public Dropout dropout;
        public Linear out_proj;

        public ClassificationHead(EncoderConfig config, int numLabels) : base(nameof(ClassificationHead))
        {
            dense = nn.Linear(config.HiddenSize, config.HiddenSize);
            dropout = nn.Dropout(config.EffectiveClassifierDropout);
            out_proj = nn.Linear(config.HiddenSize, numLabels);
            RegisterComponents();
        }
    }
}

/// <summary>
/// HF RobertaForMaskedLM's head, keys lm_head.{dense, layer_norm, bias}: dense -> exact GELU -> layer_norm ->
/// decoder tied to the word embeddings (lm_head.decoder.* are aliases, listed in <see cref="TiedKeys"/>).
/// </summary>
public sealed class RobertaMaskedLMHead : TaskHead
{
    internal LMHead lm_head;
    readonly Func<Tensor> decoderWeight; // a delegate, not a Tensor field, so it is not registered twice
    readonly Dictionary<string, string> tied;

    public RobertaMaskedLMHead(Encoder encoder) : base(nameof(RobertaMaskedLMHead))
    {
        lm_head = new LMHead(encoder.Config);
        decoderWeight = () => encoder.WordEmbeddings;
        tied = new()
        {
            ["lm_head.decoder.weight"] = $"{encoder.BaseModelPrefix}.embeddings.word_embeddings.weight",
            ["lm_head.decoder.bias"] = "lm_head.bias",
        };
        RegisterComponents();
        InitLinear(encoder.Config, lm_head.dense);
    }

    public override HeadKind Kind => HeadKind.MaskedLM;
    public override IReadOnlyDictionary<string, string> TiedKeys => tied;

    public override Tensor forward(EncoderOutput encoded)                                            // (B, T, V)
    {
        using var scope = NewDisposeScope();
        var x = lm_head.layer_norm.forward(F.gelu(lm_head.dense.forward(encoded.LastHiddenState)));  // (B, T, H)
        return F.linear(x, decoderWeight(), lm_head.bias).MoveToOuterDisposeScope();
    }

    public override Tensor Loss(Tensor logits, Tensor labels) => Losses.TokenCrossEntropy(logits, labels);

    internal sealed class LMHead : nn.Module
    {
        public Linear dense;
        public LayerNorm layer_norm;
        public Parameter bias;

        public LMHead(EncoderConfig config) : base(nameof(LMHead))
        {
            dense = nn.Linear(config.HiddenSize, config.HiddenSize);
            layer_norm = new LayerNorm(config.HiddenSize, config.LayerNormEps);
            bias = nn.Parameter(zeros(config.VocabSize));
            RegisterComponents();
        }
    }
}
