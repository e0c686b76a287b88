using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Stilts.Models;

/// <summary>The task heads we port from HF; the loss goes with the kind, never guessed from label dtypes.</summary>
public enum HeadKind { SequenceClassification, TokenClassification, QuestionAnswering, MultipleChoice, MaskedLM }

/// <summary>
/// A small module on top of an <see cref="Encoder"/>'s output. Heads own no encoder, so one encoder can be shared
/// by a head per task (multi-task / intermediate-task training). A head's child names are the HF top-level keys of
/// the matching XxxForYyy model (classifier, qa_outputs, cls, lm_head), which <see cref="EncoderWithHead"/> uses.
/// </summary>
public abstract class TaskHead : nn.Module<EncoderOutput, Tensor>
{
    protected TaskHead(string name) : base(name) { }

    public abstract HeadKind Kind { get; }

    /// <summary>Whether the head reads <see cref="EncoderOutput.PoolerOutput"/>.</summary>
    public virtual bool NeedsPooler => false;

    /// <summary>HF keys that alias another tensor (tied weights), alias -> canonical key; a loader skips them.</summary>
    public virtual IReadOnlyDictionary<string, string> TiedKeys { get; } = new Dictionary<string, string>();

    /// <summary>Runs the encoder on a batch and this head on its output: the logits in the head's shape.</summary>
    public virtual Tensor Apply(Encoder encoder, EncoderInput input)
    {
        using var encoded = encoder.forward(input);
        return forward(encoded);
    }

    /// <summary>The task's HF loss (mean over the batch) for logits from <see cref="Apply"/>.</summary>
    public abstract Tensor Loss(Tensor logits, Tensor labels);

    /// <summary>A freshly initialised head of HF's shape for the encoder's family.</summary>
    public static TaskHead Create(HeadKind kind, Encoder encoder, int numLabels)
    {
        var config = encoder.Config;
        bool roberta = config.Family == EncoderFamily.Roberta;
        TaskHead head = kind switch
        {
            HeadKind.SequenceClassification => roberta ? new RobertaSequenceClassificationHead(config, numLabels) : new BertSequenceClassificationHead(config, numLabels),
            HeadKind.TokenClassification => new TokenClassificationHead(config, numLabels),
            HeadKind.QuestionAnswering => new QuestionAnsweringHead(config),
            // RobertaForMultipleChoice drops out with hidden_dropout_prob, BertForMultipleChoice with classifier_dropout.
            HeadKind.MultipleChoice => new MultipleChoiceHead(config, roberta ? config.HiddenDropoutProb : config.EffectiveClassifierDropout),
            HeadKind.MaskedLM => roberta ? new RobertaMaskedLMHead(encoder) : new BertMaskedLMHead(encoder),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        if (head.NeedsPooler && !encoder.HasPooler)
            throw new ArgumentException($"a {kind} head reads the pooler output, but this encoder was built without a pooler", nameof(encoder));
        return head;
    }

    /// <summary>
    /// The head an HF architecture name (config.json "architectures") carries: "XLMRobertaForTokenClassification"
    /// -> TokenClassification; a bare encoder ("BertModel") or anything else -> null.
    /// </summary>
    public static HeadKind? KindOf(string architecture)
    {
        foreach (var (suffix, kind) in ArchitectureSuffixes)
            if (architecture.EndsWith(suffix, StringComparison.Ordinal)) return kind;
        return null;
    }

    static readonly (string Suffix, HeadKind Kind)[] ArchitectureSuffixes =
    [
        ("ForSequenceClassification", HeadKind.SequenceClassification),
        ("ForTokenClassification", HeadKind.TokenClassification),
        ("ForQuestionAnswering", HeadKind.QuestionAnswering),
        ("ForMultipleChoice", HeadKind.MultipleChoice),
        ("ForMaskedLM", HeadKind.MaskedLM),
    ];

    /// <summary>Whether HF's XxxForYyy model for this kind keeps the pooler (it is absent from those checkpoints otherwise).</summary>
    public static bool UsesPooler(HeadKind kind, EncoderFamily family) =>
        kind == HeadKind.MultipleChoice || (kind == HeadKind.SequenceClassification && family == EncoderFamily.Bert);

    /// <summary>HF's _init_weights for a head's Linear: weight N(0, initializer_range), bias 0.</summary>
    protected static void InitLinear(EncoderConfig config, Linear linear)
    {
        using var noGrad = no_grad();
        nn.init.normal_(linear.weight!, 0, config.InitializerRange);
        if (linear.bias is not null) nn.init.zeros_(linear.bias);
    }
}

/// <summary>HF XxxForTokenClassification's head: dropout -> classifier on every token, (B, T, labels).</summary>
public sealed class TokenClassificationHead : TaskHead
{
    internal Dropout dropout;
    internal Linear classifier;

    public TokenClassificationHead(EncoderConfig config, int numLabels) : base(nameof(TokenClassificationHead))
    {
        dropout = nn.Dropout(config.EffectiveClassifierDropout);
        classifier = nn.Linear(config.HiddenSize, numLabels);
        RegisterComponents();
        InitLinear(config, classifier);
    }

    public override HeadKind Kind => HeadKind.TokenClassification;

    public override Tensor forward(EncoderOutput encoded)
    {
        using var dropped = dropout.forward(encoded.LastHiddenState);
        return classifier.forward(dropped);                                                          // (B, T, labels)
    }

    /// <summary>Cross-entropy over tokens; label -100 (sub-word continuations, specials, padding) is ignored.</summary>
    public override Tensor Loss(Tensor logits, Tensor labels) => Losses.TokenCrossEntropy(logits, labels);
}

/// <summary>HF XxxForQuestionAnswering's head: qa_outputs (H -> 2) on every token; [..., 0] start, [..., 1] end.</summary>
public sealed class QuestionAnsweringHead : TaskHead
{
    internal Linear qa_outputs;

    public QuestionAnsweringHead(EncoderConfig config) : base(nameof(QuestionAnsweringHead))
    {
        qa_outputs = nn.Linear(config.HiddenSize, 2);
        RegisterComponents();
        InitLinear(config, qa_outputs);
    }

    public override HeadKind Kind => HeadKind.QuestionAnswering;

    public override Tensor forward(EncoderOutput encoded) => qa_outputs.forward(encoded.LastHiddenState); // (B, T, 2)

    /// <summary>Start and end logits, each (B, T).</summary>
    public static (Tensor Start, Tensor End) Split(Tensor logits) =>
        (logits.select(-1, 0).contiguous(), logits.select(-1, 1).contiguous());

    /// <summary>Labels are (B, 2): start and end token positions.</summary>
    public override Tensor Loss(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (start, end) = Split(logits);
        return Losses.Span(start, end, labels.select(1, 0), labels.select(1, 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// HF XxxForMultipleChoice's head: inputs (B, C, T) are scored as B*C sequences, pooler_output -> dropout ->
/// classifier (H -> 1), and the scores come back as (B, C) logits over the choices.
/// </summary>
public sealed class MultipleChoiceHead : TaskHead
{
    internal Dropout dropout;
    internal Linear classifier;

    public MultipleChoiceHead(EncoderConfig config, double dropoutProb) : base(nameof(MultipleChoiceHead))
    {
        dropout = nn.Dropout(dropoutProb);
        classifier = nn.Linear(config.HiddenSize, 1);
        RegisterComponents();
        InitLinear(config, classifier);
    }

    public override HeadKind Kind => HeadKind.MultipleChoice;
    public override bool NeedsPooler => true;

    /// <summary>(B*C, H) pooled -> (B*C, 1) scores; <see cref="Apply"/> does the reshaping.</summary>
    public override Tensor forward(EncoderOutput encoded)
    {
        var pooled = encoded.PoolerOutput ?? throw new InvalidOperationException("this head needs an encoder with a pooler");
        using var dropped = dropout.forward(pooled);
        return classifier.forward(dropped);
    }

    public override Tensor Apply(Encoder encoder, EncoderInput input)
    {
        using var scope = NewDisposeScope();
        long b = input.InputIds.shape[0], c = input.InputIds.shape[1];
        Tensor Flat(Tensor t) => t.reshape(-1, t.shape[^1]);                                       // (B*C, T)
        var flat = input with
        {
            InputIds = Flat(input.InputIds),
            AttentionMask = Flat(input.AttentionMask),
            TokenTypeIds = input.TokenTypeIds is null ? null : Flat(input.TokenTypeIds),
        };
        using var encoded = encoder.forward(flat);
        return forward(encoded).view(b, c).MoveToOuterDisposeScope();                               // (B, C)
    }

    /// <summary>Labels (B,): the index of the right choice.</summary>
    public override Tensor Loss(Tensor logits, Tensor labels) => Losses.CrossEntropy(logits, labels);
}

/// <summary>The HF losses, computed in float32 whatever the model's precision.</summary>
public static class Losses
{
    /// <summary>Mean cross-entropy of (N, K) logits against (N,) class ids.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, long ignoreIndex = -100)
    {
        using var scope = NewDisposeScope();
        return F.cross_entropy(logits.to(ScalarType.Float32), labels.to(ScalarType.Int64), ignore_index: ignoreIndex).MoveToOuterDisposeScope();
    }

    /// <summary>Mean cross-entropy of (..., K) logits against (...) ids, skipping label -100.</summary>
    public static Tensor TokenCrossEntropy(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        return CrossEntropy(logits.reshape(-1, logits.shape[^1]), labels.reshape(-1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// HF's span loss: (CE(start) + CE(end)) / 2. Positions outside the sequence are clamped to T, and T is the
    /// ignore index, so answers truncated away contribute nothing (as in HF).
    /// </summary>
    public static Tensor Span(Tensor startLogits, Tensor endLogits, Tensor startPositions, Tensor endPositions)
    {
        using var scope = NewDisposeScope();
        long ignored = startLogits.shape[1];
        var start = CrossEntropy(startLogits, startPositions.reshape(-1).clamp(0, ignored), ignored);
        var end = CrossEntropy(endLogits, endPositions.reshape(-1).clamp(0, ignored), ignored);
        return ((start + end) / 2).MoveToOuterDisposeScope();
    }
}
