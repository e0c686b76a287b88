using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Stilts.Models;

/// <summary>
/// One batch for an encoder. <see cref="InputIds"/> is (B, T) int64; <see cref="AttentionMask"/> is (B, T) with
/// 1 for real tokens and 0 for padding; <see cref="TokenTypeIds"/> (B, T) defaults to zeros. Multiple-choice heads
/// take (B, C, T) for all three and flatten them themselves.
/// </summary>
public sealed record EncoderInput(Tensor InputIds, Tensor AttentionMask, Tensor? TokenTypeIds = null)
{
    /// <summary>Also return every layer's output in <see cref="EncoderOutput.HiddenStates"/>.</summary>
    public bool OutputHiddenStates { get; init; }
}

/// <summary>
/// What an encoder computes: <see cref="LastHiddenState"/> (B, T, H); <see cref="PoolerOutput"/> (B, H) =
/// tanh(dense(h[:, 0])) when the encoder has a pooler; <see cref="HiddenStates"/> when asked for: L+1 tensors
/// (B, T, H), index 0 the embeddings output and index i the output of layer i.
/// </summary>
public sealed record EncoderOutput(Tensor LastHiddenState, Tensor? PoolerOutput, IReadOnlyList<Tensor>? HiddenStates) : IDisposable
{
    internal EncoderOutput MoveToOuterDisposeScope()
    {
        LastHiddenState.MoveToOuterDisposeScope();
        PoolerOutput?.MoveToOuterDisposeScope();
        if (HiddenStates != null) foreach (var h in HiddenStates) h.MoveToOuterDisposeScope();
        return this;
    }

    public void Dispose()
    {
        LastHiddenState.Dispose();
        PoolerOutput?.Dispose();
        if (HiddenStates != null) foreach (var h in HiddenStates) h.Dispose();
    }
}

/// <summary>
/// A BERT-style encoder (embeddings, post-LayerNorm transformer layers, optional pooler). The concrete classes
/// (<see cref="BertModel"/>, <see cref="RobertaModel"/>) name their fields like HF state-dict keys, so a base-model
/// checkpoint loads by identity. One encoder can feed several <see cref="TaskHead"/>s (multi-task training).
/// </summary>
public abstract class Encoder : nn.Module<EncoderInput, EncoderOutput>
{
    public EncoderConfig Config { get; }

    /// <summary>The prefix HF puts before encoder keys in a model with a head: "bert" or "roberta".</summary>
    public abstract string BaseModelPrefix { get; }

    public abstract bool HasPooler { get; }

    /// <summary>The word embedding matrix (V, H); masked-LM decoders are tied to it.</summary>
    public abstract Parameter WordEmbeddings { get; }

    protected Encoder(string name, EncoderConfig config) : base(name) => Config = config;

    /// <summary>A randomly initialised encoder of the config's family (HF init: N(0, initializer_range)).</summary>
    public static Encoder Create(EncoderConfig config, bool addPoolingLayer = true) => config.Family switch
    {
        EncoderFamily.Bert => new BertModel(config, addPoolingLayer),
        EncoderFamily.Roberta => new RobertaModel(config, addPoolingLayer),
        _ => throw new ArgumentOutOfRangeException(nameof(config), config.Family, "unknown encoder family"),
    };

    /// <summary>
    /// (B, T) 0/1 mask -> (B, 1, 1, T) additive key mask, broadcast by SDPA over heads and queries: 0 for real
    /// tokens, the dtype's most negative value for padding, as HF's extended attention mask. Finite on purpose: a
    /// row with no real token then attends uniformly, where a bool mask would give NaN and poison the gradients.
    /// </summary>
    protected static Tensor KeyPaddingMask(Tensor attentionMask, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var keep = attentionMask.to(dtype).unsqueeze(1).unsqueeze(1);
        return ((1 - keep) * finfo(dtype).min).MoveToOuterDisposeScope();
    }

    /// <summary>HF's _init_weights: Linear and Embedding N(0, range), biases 0, LayerNorm 1/0, padding row 0.</summary>
    protected void InitWeights(params (Embedding Table, long Row)[] paddingRows)
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in named_modules())
        {
            switch (module)
            {
                case Linear linear:
                    nn.init.normal_(linear.weight!, 0, Config.InitializerRange);
                    if (linear.bias is not null) nn.init.zeros_(linear.bias);
                    break;
                case Embedding embedding:
                    nn.init.normal_(embedding.weight!, 0, Config.InitializerRange);
                    break;
            }
        }
        foreach (var (table, row) in paddingRows) table.weight![row].zero_();
    }
}

/// <summary>
/// LayerNorm whose statistics are always computed in float32, so a bf16 model keeps sane normalisation
/// (the parameters follow the module's dtype; the input is upcast and the result cast back).
/// </summary>
internal sealed class LayerNorm : nn.Module<Tensor, Tensor>
{
    readonly long[] shape;
    readonly double eps;
    public Parameter weight;
    public Parameter bias;

    public LayerNorm(long size, double eps) : base(nameof(LayerNorm))
    {
        shape = [size];
        this.eps = eps;
        weight = nn.Parameter(ones(size));
        bias = nn.Parameter(zeros(size));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (x.dtype == ScalarType.Float32) return F.layer_norm(x, shape, weight, bias, eps);
        using var scope = NewDisposeScope();
        var y = F.layer_norm(x.to(ScalarType.Float32), shape, weight.to(ScalarType.Float32), bias.to(ScalarType.Float32), eps);
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }
}

internal static class Activations
{
    public static Tensor Apply(Activation act, Tensor x) => act switch
    {
        Activation.Gelu => F.gelu(x),
        Activation.GeluTanh => F.gelu(x, GELU.Approximate.tanh),
        Activation.Relu => F.relu(x),
        Activation.Silu => F.silu(x),
        _ => throw new ArgumentOutOfRangeException(nameof(act), act, null),
    };
}
