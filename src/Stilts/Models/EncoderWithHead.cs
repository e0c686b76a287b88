using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Models;

/// <summary>
/// HF's XxxForYyy models (BertForSequenceClassification, XLMRobertaForQuestionAnswering, ...): an encoder under its
/// HF prefix (bert.* / roberta.*) plus one head whose children sit at the top level (classifier.*, qa_outputs.*,
/// cls.*, lm_head.*). The state-dict keys therefore equal HF's and a checkpoint with a head loads by identity.
/// For multi-task training use <see cref="Encoder"/> and several <see cref="TaskHead"/>s directly instead.
/// </summary>
public sealed class EncoderWithHead : nn.Module<EncoderInput, Tensor>
{
    public Encoder Encoder { get; }
    public TaskHead Head { get; }

    public EncoderWithHead(Encoder encoder, TaskHead head) : base($"{encoder.GetType().Name.Replace("Model", "")}For{head.Kind}")
    {
        if (head.NeedsPooler && !encoder.HasPooler)
            throw new ArgumentException($"a {head.Kind} head reads the pooler output, but the encoder has no pooler", nameof(head));
        Encoder = encoder;
        Head = head;
        // Registered by hand (see RegisterComponents): the encoder under its HF prefix, the head's children flat.
        register_module(encoder.BaseModelPrefix, encoder);
        foreach (var (name, child) in head.named_children()) register_module(name, child);
        foreach (var (name, parameter) in head.named_parameters(recurse: false)) register_parameter(name, parameter);
    }

    /// <summary>A freshly initialised model of HF's shape: the pooler exists exactly when HF's model has one.</summary>
    public static EncoderWithHead Create(EncoderConfig config, HeadKind kind, int? numLabels = null)
    {
        var encoder = Encoder.Create(config, addPoolingLayer: TaskHead.UsesPooler(kind, config.Family));
        return new EncoderWithHead(encoder, TaskHead.Create(kind, encoder, numLabels ?? config.NumLabels));
    }

    /// <summary>Tied aliases a checkpoint may hold (alias -> canonical key); see <see cref="TaskHead.TiedKeys"/>.</summary>
    public IReadOnlyDictionary<string, string> TiedKeys => Head.TiedKeys;

    /// <summary>Logits in the head's shape (multiple choice takes (B, C, T) inputs and gives (B, C)).</summary>
    public override Tensor forward(EncoderInput input) => Head.Apply(Encoder, input);

    public Tensor Loss(Tensor logits, Tensor labels) => Head.Loss(logits, labels);

    // The auto-property backing fields would otherwise be registered a second time under their compiler names.
    protected override void RegisterComponents() { }
}
