using System.Text.Json;
using System.Text.Json.Nodes;
using Stilts.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stilts.Models;

// The T5 family (original T5, T5 v1.1, mT5) ported from HF transformers' modeling_t5.py, one file top-down:
// config -> layer norm -> attention -> feed-forward -> block -> stack -> encoder-decoder with loss and generation.
// Module fields carry the HF state-dict names (SelfAttention, layer_norm, DenseReluDense, wi_0, ...) because
// RegisterComponents turns field names into parameter names; that is why they are not PascalCased.

/// <summary>The feed-forward variant: ReLU for original T5, gated GELU (tanh approximation) for T5 v1.1 / mT5.</summary>
public enum T5FeedForward { Relu, GatedGelu }

/// <summary>
/// Hyperparameters of a T5 / mT5 checkpoint, read from HF config.json. Keys every released config carries are
/// required; keys older configs omit (original t5-small has no feed_forward_proj or num_decoder_layers) take
/// HF T5Config's defaults.
/// </summary>
public sealed record T5Config
{
    public required int VocabSize { get; init; }
    public required int DModel { get; init; }
    public required int DKv { get; init; }
    public required int DFf { get; init; }
    public required int NumLayers { get; init; }
    public required int NumDecoderLayers { get; init; }
    public required int NumHeads { get; init; }
    public int RelativeAttentionNumBuckets { get; init; } = 32;
    public int RelativeAttentionMaxDistance { get; init; } = 128;
    public double DropoutRate { get; init; } = 0.1;
    public double LayerNormEpsilon { get; init; } = 1e-6;
    public T5FeedForward FeedForward { get; init; } = T5FeedForward.Relu;
    public bool TieWordEmbeddings { get; init; } = true;
    public double InitializerFactor { get; init; } = 1.0;
    public int DecoderStartTokenId { get; init; } = 0;
    public int PadTokenId { get; init; } = 0;
    public int EosTokenId { get; init; } = 1;

    /// <summary>Reads an HF config.json (model_type "t5" or "mt5").</summary>
    public static T5Config FromFile(string configJsonPath)
    {
        if (!File.Exists(configJsonPath)) throw new InvalidInputException(configJsonPath, "file not found");
        return FromJson(File.ReadAllText(configJsonPath), configJsonPath);
    }

    /// <summary>Parses config.json text; <paramref name="source"/> names the file in error messages.</summary>
    public static T5Config FromJson(string json, string source = "config.json")
    {
        JsonObject o;
        try
        {
            o = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("the root is not a JSON object");
            _ = o.Count; // JsonObject parses lazily; this surfaces duplicate keys here rather than at first lookup
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidInputException(source, $"not valid JSON: {e.Message}");
        }

        string? modelType = OptionalString(o, source, "model_type");
        if (modelType is not null and not "t5" and not "mt5")
            throw new InvalidInputException($"{source}: model_type", $"expected \"t5\" or \"mt5\", got \"{modelType}\"");
        int numLayers = Positive(o, source, "num_layers");
        int? pad = Optional<int>(o, source, "pad_token_id");
        return new T5Config
        {
            VocabSize = Positive(o, source, "vocab_size"),
            DModel = Positive(o, source, "d_model"),
            DKv = Positive(o, source, "d_kv"),
            DFf = Positive(o, source, "d_ff"),
            NumLayers = numLayers,
            NumDecoderLayers = Optional<int>(o, source, "num_decoder_layers") ?? numLayers, // HF: null = symmetric
            NumHeads = Positive(o, source, "num_heads"),
            RelativeAttentionNumBuckets = Positive(o, source, "relative_attention_num_buckets"),
            RelativeAttentionMaxDistance = Optional<int>(o, source, "relative_attention_max_distance") ?? 128,
            DropoutRate = Optional<double>(o, source, "dropout_rate") ?? 0.1,
            LayerNormEpsilon = Required<double>(o, source, "layer_norm_epsilon"),
            FeedForward = ParseFeedForward(OptionalString(o, source, "feed_forward_proj") ?? "relu", source),
            TieWordEmbeddings = Optional<bool>(o, source, "tie_word_embeddings") ?? true,
            InitializerFactor = Optional<double>(o, source, "initializer_factor") ?? 1.0,
            PadTokenId = pad ?? 0,
            DecoderStartTokenId = Optional<int>(o, source, "decoder_start_token_id") ?? pad ?? 0,
            EosTokenId = Optional<int>(o, source, "eos_token_id") ?? 1,
        };
    }

    /// <summary>The HF config.json form (model_type "mt5"), readable by <see cref="FromJson"/> and by HF transformers.</summary>
    public string ToJson() => new JsonObject
    {
        ["architectures"] = new JsonArray("MT5ForConditionalGeneration"),
        ["model_type"] = "mt5",
        ["vocab_size"] = VocabSize,
        ["d_model"] = DModel,
        ["d_kv"] = DKv,
        ["d_ff"] = DFf,
        ["num_layers"] = NumLayers,
        ["num_decoder_layers"] = NumDecoderLayers,
        ["num_heads"] = NumHeads,
        ["relative_attention_num_buckets"] = RelativeAttentionNumBuckets,
        ["relative_attention_max_distance"] = RelativeAttentionMaxDistance,
        ["dropout_rate"] = DropoutRate,
        ["layer_norm_epsilon"] = LayerNormEpsilon,
        ["feed_forward_proj"] = FeedForward == T5FeedForward.GatedGelu ? "gated-gelu" : "relu",
        ["tie_word_embeddings"] = TieWordEmbeddings,
        ["initializer_factor"] = InitializerFactor,
        ["decoder_start_token_id"] = DecoderStartTokenId,
        ["pad_token_id"] = PadTokenId,
        ["eos_token_id"] = EosTokenId,
        ["is_encoder_decoder"] = true,
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    static T5FeedForward ParseFeedForward(string value, string source) => value switch
    {
        "relu" => T5FeedForward.Relu,
        "gated-gelu" => T5FeedForward.GatedGelu,
        _ => throw new InvalidInputException($"{source}: feed_forward_proj", $"expected \"relu\" or \"gated-gelu\", got \"{value}\""),
    };

    static int Positive(JsonObject o, string source, string key)
    {
        int value = Required<int>(o, source, key);
        return value > 0 ? value : throw new InvalidInputException($"{source}: {key}", $"expected a positive integer, got {value}");
    }

    static T Required<T>(JsonObject o, string source, string key) =>
        o.ContainsKey(key) && o[key] is not null ? Read<T>(o, source, key) : throw new InvalidInputException($"{source}: {key}", "missing required key");

    // An absent key and an explicit null (HF writes "num_decoder_layers": null) both mean "use the default".
    static T? Optional<T>(JsonObject o, string source, string key) where T : struct => o[key] is null ? null : Read<T>(o, source, key);

    static string? OptionalString(JsonObject o, string source, string key) => o[key] is null ? null : Read<string>(o, source, key);

    static T Read<T>(JsonObject o, string source, string key)
    {
        try { return o[key]!.GetValue<T>(); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            string expected = typeof(T) == typeof(int) ? "an integer" : typeof(T) == typeof(double) ? "a number" : typeof(T) == typeof(bool) ? "true or false" : "a string";
            throw new InvalidInputException($"{source}: {key}", $"expected {expected}, got {o[key]!.ToJsonString()}");
        }
    }
}

/// <summary>Encoder output: the final (normed) states and, when asked, HF's hidden_states tuple (L+1 entries).</summary>
public sealed record T5EncoderOutput(Tensor LastHiddenState, IReadOnlyList<Tensor>? HiddenStates) : IDisposable
{
    public void Dispose()
    {
        LastHiddenState.Dispose();
        if (HiddenStates != null) foreach (var t in HiddenStates) t.Dispose();
    }
}

/// <summary>Teacher-forced output. Loss is the mean cross-entropy over labels != -100 (null without labels).</summary>
public sealed record T5Seq2SeqOutput(
    Tensor Logits, Tensor? Loss, Tensor DecoderLastHiddenState, IReadOnlyList<Tensor>? DecoderHiddenStates,
    Tensor EncoderLastHiddenState) : IDisposable
{
    public void Dispose()
    {
        Logits.Dispose();
        Loss?.Dispose();
        DecoderLastHiddenState.Dispose();
        if (DecoderHiddenStates != null) foreach (var t in DecoderHiddenStates) t.Dispose();
        EncoderLastHiddenState.Dispose();
    }
}

/// <summary>T5's RMS norm: no mean subtraction, no bias; the variance is taken in float32 even for half weights.</summary>
sealed class T5LayerNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double eps;

    public T5LayerNorm(int d, double eps) : base(nameof(T5LayerNorm))
    {
        weight = new Parameter(ones(d));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var variance = x.to(ScalarType.Float32).pow(2).mean([-1], keepdim: true);
        var normed = x * rsqrt(variance + eps);
        if (weight.dtype is ScalarType.Float16 or ScalarType.BFloat16) normed = normed.to(weight.dtype);
        return weight * normed;
    }
}

/// <summary>Cached keys and values of one decoder block for incremental decoding, each (B, H, T, d_kv).</summary>
sealed class T5LayerCache
{
    public Tensor? SelfKey, SelfValue, CrossKey, CrossValue;
}

/// <summary>
/// Multi-head attention without 1/sqrt(d_kv) scaling (T5 folds it into the init of q). Only the first block of a
/// stack owns relative_attention_bias; the bias it computes is reused by every later block.
/// </summary>
sealed class T5Attention : nn.Module
{
    readonly Linear q, k, v, o;
    readonly Embedding? relative_attention_bias;
    readonly int heads, dKv, numBuckets, maxDistance;
    readonly bool bidirectional;
    readonly double dropout;

    public T5Attention(T5Config c, bool isDecoder, bool hasRelativeBias) : base(nameof(T5Attention))
    {
        int inner = c.NumHeads * c.DKv;
        q = nn.Linear(c.DModel, inner, hasBias: false);
        k = nn.Linear(c.DModel, inner, hasBias: false);
        v = nn.Linear(c.DModel, inner, hasBias: false);
        o = nn.Linear(inner, c.DModel, hasBias: false);
        if (hasRelativeBias) relative_attention_bias = nn.Embedding(c.RelativeAttentionNumBuckets, c.NumHeads);
        (heads, dKv, numBuckets, maxDistance) = (c.NumHeads, c.DKv, c.RelativeAttentionNumBuckets, c.RelativeAttentionMaxDistance);
        bidirectional = !isDecoder;
        dropout = c.DropoutRate;
        RegisterComponents();
    }

    /// <summary>Bucketed relative position bias (1, H, q, k) for queries at positions offset..offset+q-1.</summary>
    public Tensor PositionBias(long queryLength, long keyLength, long offset)
    {
        if (relative_attention_bias is null) throw new InvalidOperationException("only the first block computes the position bias");
        var context = arange(offset, offset + queryLength, dtype: ScalarType.Int64, device: relative_attention_bias.weight!.device).unsqueeze(1);
        var memory = arange(keyLength, dtype: ScalarType.Int64, device: context.device).unsqueeze(0);
        var buckets = RelativePositionBucket(memory - context, bidirectional, numBuckets, maxDistance); // (q, k)
        return relative_attention_bias.call(buckets).permute(2, 0, 1).unsqueeze(0);
    }

    /// <summary>
    /// Small distances get a bucket each; larger ones share log-spaced buckets up to maxDistance. Bidirectional
    /// (encoder) spends half the buckets on keys after the query; causal (decoder) only sees keys before it.
    /// The float32 op sequence follows HF so bucket boundaries land identically.
    /// </summary>
    internal static Tensor RelativePositionBucket(Tensor relative, bool bidirectional, int numBuckets, int maxDistance)
    {
        var buckets = zeros_like(relative);
        if (bidirectional)
        {
            numBuckets /= 2;
            buckets = buckets + relative.gt(0).to(ScalarType.Int64) * numBuckets;
            relative = relative.abs();
        }
        else
        {
            relative = -minimum(relative, zeros_like(relative));
        }
        int maxExact = numBuckets / 2;
        var isSmall = relative.lt(maxExact);
        var large = (relative.to(ScalarType.Float32) / maxExact).log() / Math.Log((double)maxDistance / maxExact) * (numBuckets - maxExact);
        var largeBucket = minimum(large.to(ScalarType.Int64) + maxExact, full_like(relative, numBuckets - 1));
        return buckets + where(isSmall, relative, largeBucket);
    }

    /// <summary>Keys and values (B, H, T, d_kv) projected from <paramref name="states"/> (B, T, D).</summary>
    public (Tensor Key, Tensor Value) KeyValue(Tensor states) => (Heads(k.call(states)), Heads(v.call(states)));

    /// <summary>
    /// x (B, Tq, D) attends to (key, value); bias (1 or B, H or 1, Tq, Tk) already holds position bias plus mask.
    /// </summary>
    public Tensor forward(Tensor x, Tensor key, Tensor value, Tensor bias)
    {
        var query = Heads(q.call(x));                              // (B, H, Tq, d_kv)
        var scores = matmul(query, key.transpose(3, 2)) + bias;    // (B, H, Tq, Tk), no 1/sqrt(d) by design
        var weights = nn.functional.softmax(scores.to(ScalarType.Float32), -1).to(scores.dtype);
        weights = nn.functional.dropout(weights, dropout, training);
        var context = matmul(weights, value).transpose(1, 2).contiguous(); // (B, Tq, H, d_kv)
        return o.call(context.view(context.size(0), context.size(1), heads * dKv));
    }

    Tensor Heads(Tensor x) => x.view(x.size(0), x.size(1), heads, dKv).transpose(1, 2);
}

/// <summary>Original T5 feed-forward: wo(relu(wi x)).</summary>
sealed class T5DenseActDense : nn.Module<Tensor, Tensor>
{
    readonly Linear wi, wo;
    readonly double dropout;

    public T5DenseActDense(T5Config c) : base(nameof(T5DenseActDense))
    {
        wi = nn.Linear(c.DModel, c.DFf, hasBias: false);
        wo = nn.Linear(c.DFf, c.DModel, hasBias: false);
        dropout = c.DropoutRate;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => wo.call(nn.functional.dropout(nn.functional.relu(wi.call(x)), dropout, training));
}

/// <summary>T5 v1.1 / mT5 feed-forward: wo(gelu_new(wi_0 x) * wi_1 x).</summary>
sealed class T5DenseGatedActDense : nn.Module<Tensor, Tensor>
{
    readonly Linear wi_0, wi_1, wo;
    readonly double dropout;

    public T5DenseGatedActDense(T5Config c) : base(nameof(T5DenseGatedActDense))
    {
        wi_0 = nn.Linear(c.DModel, c.DFf, hasBias: false);
        wi_1 = nn.Linear(c.DModel, c.DFf, hasBias: false);
        wo = nn.Linear(c.DFf, c.DModel, hasBias: false);
        dropout = c.DropoutRate;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var hidden = GeluNew(wi_0.call(x)) * wi_1.call(x);
        return wo.call(nn.functional.dropout(hidden, dropout, training));
    }

    /// <summary>HF's "gelu_new" (tanh approximation), written out op by op as HF does for bit-level parity.</summary>
    static Tensor GeluNew(Tensor x) => 0.5 * x * (1.0 + tanh(Math.Sqrt(2.0 / Math.PI) * (x + 0.044715 * x.pow(3.0))));
}

// The three kinds of sub-layer: pre-norm, sub-module, dropout, residual. HF nests them as block.N.layer.M.
sealed class T5LayerSelfAttention : nn.Module
{
    public readonly T5Attention SelfAttention;
    public readonly T5LayerNorm layer_norm;

    public T5LayerSelfAttention(T5Config c, bool isDecoder, bool hasRelativeBias) : base(nameof(T5LayerSelfAttention))
    {
        SelfAttention = new T5Attention(c, isDecoder, hasRelativeBias);
        layer_norm = new T5LayerNorm(c.DModel, c.LayerNormEpsilon);
        RegisterComponents();
    }
}

sealed class T5LayerCrossAttention : nn.Module
{
    public readonly T5Attention EncDecAttention;
    public readonly T5LayerNorm layer_norm;

    public T5LayerCrossAttention(T5Config c) : base(nameof(T5LayerCrossAttention))
    {
        EncDecAttention = new T5Attention(c, isDecoder: true, hasRelativeBias: false);
        layer_norm = new T5LayerNorm(c.DModel, c.LayerNormEpsilon);
        RegisterComponents();
    }
}

sealed class T5LayerFF : nn.Module
{
    public readonly nn.Module<Tensor, Tensor> DenseReluDense;
    public readonly T5LayerNorm layer_norm;

    public T5LayerFF(T5Config c) : base(nameof(T5LayerFF))
    {
        DenseReluDense = c.FeedForward == T5FeedForward.GatedGelu ? new T5DenseGatedActDense(c) : new T5DenseActDense(c);
        layer_norm = new T5LayerNorm(c.DModel, c.LayerNormEpsilon);
        RegisterComponents();
    }
}

/// <summary>Encoder block: [self-attention, FF]; decoder block: [self-attention, cross-attention, FF].</summary>
sealed class T5Block : nn.Module
{
    readonly ModuleList<nn.Module> layer;
    readonly double dropout;

    public T5Block(T5Config c, bool isDecoder, bool hasRelativeBias) : base(nameof(T5Block))
    {
        layer = new ModuleList<nn.Module>();
        layer.Add(new T5LayerSelfAttention(c, isDecoder, hasRelativeBias));
        if (isDecoder) layer.Add(new T5LayerCrossAttention(c));
        layer.Add(new T5LayerFF(c));
        dropout = c.DropoutRate;
        RegisterComponents();
    }

    public T5Attention SelfAttention => ((T5LayerSelfAttention)layer[0]).SelfAttention;

    /// <summary>
    /// x (B, T, D). selfBias holds position bias plus mask; encoder states/crossBias only in the decoder. With a
    /// cache, new self keys/values are appended to it and cross keys/values are projected once and kept.
    /// </summary>
    public Tensor forward(Tensor x, Tensor selfBias, Tensor? encoderStates, Tensor? crossBias, T5LayerCache? cache)
    {
        var self = (T5LayerSelfAttention)layer[0];
        var normed = self.layer_norm.call(x);
        var (key, value) = self.SelfAttention.KeyValue(normed);
        if (cache != null)
        {
            if (cache.SelfKey is not null) (key, value) = (cat([cache.SelfKey, key], 2), cat([cache.SelfValue!, value], 2));
            (cache.SelfKey, cache.SelfValue) = (key, value);
        }
        x = x + nn.functional.dropout(self.SelfAttention.forward(normed, key, value, selfBias), dropout, training);

        if (encoderStates is not null)
        {
            var cross = (T5LayerCrossAttention)layer[1];
            normed = cross.layer_norm.call(x);
            var (crossKey, crossValue) = cache?.CrossKey is not null
                ? (cache.CrossKey, cache.CrossValue!)
                : cross.EncDecAttention.KeyValue(encoderStates);
            if (cache != null) (cache.CrossKey, cache.CrossValue) = (crossKey, crossValue);
            x = x + nn.functional.dropout(cross.EncDecAttention.forward(normed, crossKey, crossValue, crossBias!), dropout, training);
        }

        var ff = (T5LayerFF)layer[^1];
        return x + nn.functional.dropout(ff.DenseReluDense.call(ff.layer_norm.call(x)), dropout, training);
    }
}

/// <summary>A stack of blocks plus final_layer_norm; embeddings live in the parent (HF ties them to "shared").</summary>
sealed class T5Stack : nn.Module
{
    readonly ModuleList<T5Block> block;
    readonly T5LayerNorm final_layer_norm;
    readonly bool isDecoder;
    readonly double dropout;

    public T5Stack(T5Config c, bool isDecoder) : base(nameof(T5Stack))
    {
        int n = isDecoder ? c.NumDecoderLayers : c.NumLayers;
        block = new ModuleList<T5Block>(Enumerable.Range(0, n).Select(i => new T5Block(c, isDecoder, hasRelativeBias: i == 0)).ToArray());
        final_layer_norm = new T5LayerNorm(c.DModel, c.LayerNormEpsilon);
        this.isDecoder = isDecoder;
        dropout = c.DropoutRate;
        RegisterComponents();
    }

    public int Count => block.Count;

    /// <summary>
    /// embeds (B, T, D); mask (B, T) of 1/0 over this stack's inputs (encoder only; the decoder is causal over
    /// all its inputs). cache (decoder only) holds one entry per block and makes T the number of new positions.
    /// Returns the normed last states and, when asked, HF's hidden_states list (L+1 entries).
    /// </summary>
    public (Tensor Last, List<Tensor>? All) forward(Tensor embeds, Tensor? mask, Tensor? encoderStates, Tensor? encoderMask,
        T5LayerCache[]? cache, bool outputHiddenStates)
    {
        long queryLength = embeds.size(1), past = cache?[0].SelfKey?.size(2) ?? 0, keyLength = past + queryLength;
        var bias = block[0].SelfAttention.PositionBias(queryLength, keyLength, past); // (1, H, Tq, Tk)
        if (isDecoder)
        {
            // Query i sits at absolute position past + i and may see keys 0..past + i.
            var visible = arange(keyLength, device: embeds.device).unsqueeze(0).le(arange(past, keyLength, device: embeds.device).unsqueeze(1));
            bias = bias + Additive(visible.to(embeds.dtype)).unsqueeze(0).unsqueeze(0);
        }
        else if (mask is not null)
        {
            bias = bias + Additive(mask.to(embeds.dtype)).unsqueeze(1).unsqueeze(1);  // (B, 1, 1, T)
        }
        Tensor? crossBias = encoderMask is null ? null : Additive(encoderMask.to(embeds.dtype)).unsqueeze(1).unsqueeze(1);
        if (encoderStates is not null && crossBias is null) crossBias = zeros(1, 1, 1, encoderStates.size(1), dtype: embeds.dtype, device: embeds.device);

        var all = outputHiddenStates ? new List<Tensor>() : null;
        var x = nn.functional.dropout(embeds, dropout, training);
        for (int i = 0; i < block.Count; i++)
        {
            all?.Add(x);
            x = block[i].forward(x, bias, encoderStates, crossBias, cache?[i]);
        }
        x = nn.functional.dropout(final_layer_norm.call(x), dropout, training);
        all?.Add(x);
        return (x, all);
    }

    /// <summary>
    /// Moves a hidden-states list out of the caller's dispose scope. Its last entry is the already moved last
    /// state; moving that one twice would lift it past the caller's own scope.
    /// </summary>
    public static List<Tensor>? MoveOut(List<Tensor>? all, Tensor movedLast) =>
        all?.Select(t => ReferenceEquals(t, movedLast) ? t : t.MoveToOuterDisposeScope()).ToList();

    /// <summary>1 (attend) / 0 (masked) to 0 / float.MinValue, HF's additive mask convention.</summary>
    static Tensor Additive(Tensor mask) => (1.0 - mask) * torch.finfo(mask.dtype).min;
}

/// <summary>
/// T5 / mT5 encoder-decoder with the LM head (HF T5ForConditionalGeneration). Parameter names equal HF's
/// state-dict keys, so a checkpoint loads by name; encoder/decoder.embed_tokens are the same tensor as "shared".
/// </summary>
public sealed class T5ForConditionalGeneration : nn.Module
{
    readonly Embedding shared;
    readonly T5Stack encoder;
    readonly T5Stack decoder;
    readonly Linear? lm_head; // null when tied: the shared embedding is the output projection

    public T5Config Config { get; }

    T5ForConditionalGeneration(T5Config config) : base(nameof(T5ForConditionalGeneration))
    {
        Config = config;
        shared = nn.Embedding(config.VocabSize, config.DModel);
        encoder = new T5Stack(config, isDecoder: false);
        decoder = new T5Stack(config, isDecoder: true);
        if (!config.TieWordEmbeddings) lm_head = nn.Linear(config.DModel, config.VocabSize, hasBias: false);
        RegisterComponents();
    }

    /// <summary>A randomly initialised model with HF's T5 init, drawn from <paramref name="generator"/> or torch's global one.</summary>
    public static T5ForConditionalGeneration Create(T5Config config, Generator? generator = null)
    {
        var model = new T5ForConditionalGeneration(config);
        T5Weights.Init(model, config, generator);
        return model;
    }

    /// <summary>Loads config.json and model.safetensors from an HF checkpoint folder; returns the model in eval mode.</summary>
    public static T5ForConditionalGeneration FromPretrained(string directory)
    {
        var folder = CheckpointFolder.Resolve(directory);
        var model = new T5ForConditionalGeneration(T5Config.FromFile(folder.ConfigPath));
        var tensors = Checkpoint.ReadStateDict(folder.Directory, floatType: null);
        try { model.LoadWeights(tensors, folder.WeightsFile); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
        model.eval();
        return model;
    }

    /// <summary>Writes config.json and model.safetensors (HF names, tied copies left out as HF does), each atomically.</summary>
    public void SavePretrained(string directory)
    {
        Directory.CreateDirectory(directory);
        AtomicFile.WriteAllText(Path.Combine(directory, "config.json"), Config.ToJson());
        var tensors = named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        SafeTensors.Write(Path.Combine(directory, "model.safetensors"), tensors);
    }

    /// <summary>
    /// Copies HF-named tensors into the parameters (converting dtype). Every parameter must be present with its
    /// shape; a key that is neither a parameter nor a known tied alias is rejected.
    /// </summary>
    public void LoadWeights(IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        var aliases = new Dictionary<string, string>
        {
            ["encoder.embed_tokens.weight"] = "shared.weight",
            ["decoder.embed_tokens.weight"] = "shared.weight",
        };
        if (Config.TieWordEmbeddings) aliases["lm_head.weight"] = "shared.weight";
        T5Weights.CopyByName(this, tensors, aliases, source);
    }

    /// <summary>Encoder states for (B, T) ids; attentionMask (B, T) of 1/0, null = all tokens real.</summary>
    public T5EncoderOutput EncodeStates(Tensor inputIds, Tensor? attentionMask = null, bool outputHiddenStates = false) =>
        T5EncoderModel.Encode(shared, encoder, inputIds, attentionMask, outputHiddenStates);

    /// <summary>Mean of the encoder's last states over real tokens, (B, D): the sentence vector for retrieval.</summary>
    public Tensor EncodeMeanPooled(Tensor inputIds, Tensor attentionMask) => T5EncoderModel.MeanPooled(shared, encoder, inputIds, attentionMask);

    /// <summary>
    /// Teacher-forced pass. Give decoderInputIds, or labels (B, Td) from which they are built by
    /// <see cref="ShiftRight"/>; labels equal to -100 are ignored by the loss.
    /// </summary>
    public T5Seq2SeqOutput Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? decoderInputIds = null,
        Tensor? labels = null, bool outputHiddenStates = false)
    {
        if (decoderInputIds is null && labels is null) throw new ArgumentException("give decoderInputIds or labels");
        using var scope = NewDisposeScope();
        var (encoded, _) = encoder.forward(shared.call(inputIds), attentionMask, null, null, null, false);
        var decoderIds = decoderInputIds ?? ShiftRight(labels!, Config);
        var (last, all) = decoder.forward(shared.call(decoderIds), null, encoded, attentionMask, null, outputHiddenStates);
        var logits = Project(last);
        Tensor? loss = labels is null ? null
            : nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), ignore_index: -100);
        return new T5Seq2SeqOutput(logits.MoveToOuterDisposeScope(), loss?.MoveToOuterDisposeScope(), last.MoveToOuterDisposeScope(),
            T5Stack.MoveOut(all, last), encoded.MoveToOuterDisposeScope());
    }

    /// <summary>HF _shift_right: [decoder_start] + labels[:-1], with -100 replaced by pad.</summary>
    public static Tensor ShiftRight(Tensor labels, T5Config config)
    {
        using var scope = NewDisposeScope();
        var start = full(labels.size(0), 1, config.DecoderStartTokenId, dtype: labels.dtype, device: labels.device);
        var shifted = cat([start, labels[.., ..^1]], 1);
        return shifted.masked_fill(shifted.eq(-100), config.PadTokenId).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Greedy decoding as HF generate(num_beams=1, do_sample=False): rows start with decoder_start, stop at eos,
    /// and rows already finished are padded with pad. Returns (B, 1 + steps) ids, steps &lt;= maxNewTokens.
    /// <paramref name="processLogits"/> (HF's LogitsProcessor) maps (ids so far (B, t), next-token logits (B, V)) to
    /// the logits the argmax is taken over: the hook for constrained decoding (see <see cref="ConstrainedDecoding"/>).
    /// </summary>
    public Tensor Generate(Tensor inputIds, Tensor? attentionMask = null, int maxNewTokens = 20, Func<Tensor, Tensor, Tensor>? processLogits = null)
    {
        if (maxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(maxNewTokens));
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (encoded, _) = encoder.forward(shared.call(inputIds), attentionMask, null, null, null, false);
        var cache = Enumerable.Range(0, decoder.Count).Select(_ => new T5LayerCache()).ToArray();
        long batch = inputIds.size(0);
        var sequence = full(batch, 1, Config.DecoderStartTokenId, dtype: ScalarType.Int64, device: inputIds.device);
        var unfinished = ones(batch, dtype: ScalarType.Bool, device: inputIds.device);
        for (int step = 0; step < maxNewTokens; step++)
        {
            // A scope per step keeps memory flat: only the new ids and the new cache entries survive it.
            var superseded = cache.SelectMany(c => new[] { c.SelfKey, c.SelfValue }).Append(sequence).Append(unfinished).ToList();
            using (var stepScope = NewDisposeScope())
            {
                // Only the newest token goes through the decoder; earlier keys/values come from the cache.
                var (last, _) = decoder.forward(shared.call(sequence[.., ^1..]), null, encoded, attentionMask, cache, false);
                var logits = Project(last)[.., -1];
                if (processLogits != null) logits = processLogits(sequence, logits);
                var next = logits.argmax(-1);
                next = where(unfinished, next, full_like(next, Config.PadTokenId));
                sequence = cat([sequence, next.unsqueeze(1)], 1).MoveToOuterDisposeScope();
                unfinished = unfinished.logical_and(next.ne(Config.EosTokenId)).MoveToOuterDisposeScope();
                foreach (var c in cache)
                {
                    c.SelfKey!.MoveToOuterDisposeScope();
                    c.SelfValue!.MoveToOuterDisposeScope();
                    if (step == 0) { c.CrossKey!.MoveToOuterDisposeScope(); c.CrossValue!.MoveToOuterDisposeScope(); }
                }
            }
            foreach (var t in superseded) t?.Dispose();
            if (!unfinished.any().item<bool>()) break;
        }
        return sequence.MoveToOuterDisposeScope();
    }

    /// <summary>LM head; a tied head (original T5) rescales by d_model^-0.5 before reusing the embedding.</summary>
    Tensor Project(Tensor decoderStates) => lm_head is not null
        ? lm_head.call(decoderStates)
        : nn.functional.linear(decoderStates * Math.Pow(Config.DModel, -0.5), shared.weight!);
}

/// <summary>
/// The encoder half alone (HF T5EncoderModel: "shared" + "encoder.*"), e.g. for mean-pooled retrieval vectors.
/// Loads from a full encoder-decoder checkpoint, skipping the decoder and the LM head.
/// </summary>
public sealed class T5EncoderModel : nn.Module
{
    readonly Embedding shared;
    readonly T5Stack encoder;

    public T5Config Config { get; }

    T5EncoderModel(T5Config config) : base(nameof(T5EncoderModel))
    {
        Config = config;
        shared = nn.Embedding(config.VocabSize, config.DModel);
        encoder = new T5Stack(config, isDecoder: false);
        RegisterComponents();
    }

    /// <summary>A randomly initialised encoder with HF's T5 init.</summary>
    public static T5EncoderModel Create(T5Config config, Generator? generator = null)
    {
        var model = new T5EncoderModel(config);
        T5Weights.Init(model, config, generator);
        return model;
    }

    /// <summary>Loads config.json and the encoder part of model.safetensors; returns the model in eval mode.</summary>
    public static T5EncoderModel FromPretrained(string directory)
    {
        var folder = CheckpointFolder.Resolve(directory);
        var model = new T5EncoderModel(T5Config.FromFile(folder.ConfigPath));
        var tensors = Checkpoint.ReadStateDict(folder.Directory, floatType: null);
        try { model.LoadWeights(tensors, folder.WeightsFile); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
        model.eval();
        return model;
    }

    /// <summary>Copies the encoder's tensors from an HF state dict (full or encoder-only); decoder keys are skipped.</summary>
    public void LoadWeights(IReadOnlyDictionary<string, Tensor> tensors, string source) =>
        T5Weights.CopyByName(this, tensors, new Dictionary<string, string> { ["encoder.embed_tokens.weight"] = "shared.weight" }, source,
            ignore: key => key.StartsWith("decoder.", StringComparison.Ordinal) || key == "lm_head.weight");

    /// <summary>Encoder states for (B, T) ids; attentionMask (B, T) of 1/0, null = all tokens real.</summary>
    public T5EncoderOutput EncodeStates(Tensor inputIds, Tensor? attentionMask = null, bool outputHiddenStates = false) =>
        Encode(shared, encoder, inputIds, attentionMask, outputHiddenStates);

    /// <summary>Mean of the last states over real tokens, (B, D): the sentence vector for retrieval.</summary>
    public Tensor EncodeMeanPooled(Tensor inputIds, Tensor attentionMask) => MeanPooled(shared, encoder, inputIds, attentionMask);

    internal static T5EncoderOutput Encode(Embedding shared, T5Stack encoder, Tensor inputIds, Tensor? attentionMask, bool outputHiddenStates)
    {
        using var scope = NewDisposeScope();
        var (last, all) = encoder.forward(shared.call(inputIds), attentionMask, null, null, null, outputHiddenStates);
        return new T5EncoderOutput(last.MoveToOuterDisposeScope(), T5Stack.MoveOut(all, last));
    }

    internal static Tensor MeanPooled(Embedding shared, T5Stack encoder, Tensor inputIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var (last, _) = encoder.forward(shared.call(inputIds), attentionMask, null, null, null, false);
        var m = attentionMask.to(last.dtype).unsqueeze(-1);            // (B, T, 1)
        var pooled = (last * m).sum(1) / m.sum(1).clamp_min(1e-9);     // an all-pad row yields zeros, not NaN
        return pooled.MoveToOuterDisposeScope();
    }
}

/// <summary>Initialisation and a name-by-name parameter copy, kept tiny so a stricter shared loader can replace it.</summary>
static class T5Weights
{
    /// <summary>HF T5PreTrainedModel._init_weights: normal inits scaled by fan-in; layer norms start at 1.</summary>
    public static void Init(nn.Module model, T5Config config, Generator? generator)
    {
        using var noGrad = no_grad();
        double f = config.InitializerFactor, d = config.DModel, kv = config.DKv, h = config.NumHeads;
        foreach (var (name, p) in model.named_parameters())
        {
            double std = name.Split('.')[^2] switch // the module that owns the weight
            {
                "shared" or "lm_head" => f,
                "q" => f * Math.Pow(d * kv, -0.5),
                "k" or "v" or "wi" or "wi_0" or "wi_1" => f * Math.Pow(d, -0.5),
                "o" => f * Math.Pow(h * kv, -0.5),
                "wo" => f * Math.Pow(config.DFf, -0.5),
                "relative_attention_bias" => f * Math.Pow(d, -0.5),
                _ => double.NaN, // layer norms
            };
            if (double.IsNaN(std)) p.fill_(f);
            else p.copy_(randn(p.shape, generator: generator) * std); // nn.init.normal_ did not honour its generator (0.107)
        }
    }

    /// <summary>
    /// Loads HF-named tensors through the shared strict loader. The checkpoint's tied duplicates
    /// (embed_tokens, and lm_head when tied) map onto <c>shared.weight</c>; keys <paramref name="ignore"/> accepts are
    /// skipped (the decoder when only the encoder is wanted). Unlike HF, any other unknown key is an error: a T5
    /// checkpoint with extra tensors is a different architecture, not a head to drop.
    /// </summary>
    public static LoadReport CopyByName(nn.Module model, IReadOnlyDictionary<string, Tensor> tensors,
        IReadOnlyDictionary<string, string> aliases, string source, Func<string, bool>? ignore = null)
    {
        var own = model.state_dict().Keys.ToHashSet();
        // A checkpoint that only has an alias (e.g. encoder.embed_tokens.weight without shared.weight) still loads.
        var renamed = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in tensors.OrderBy(kv => aliases.ContainsKey(kv.Key))) // real names win over aliases
        {
            if (ignore?.Invoke(key) == true) continue;
            string target = aliases.TryGetValue(key, out var a) && !own.Contains(key) ? a : key;
            if (!own.Contains(target)) throw new InvalidInputException($"{source}: {key}", "unexpected tensor: the model has no such parameter");
            renamed.TryAdd(target, tensor);
        }
        try { return Checkpoint.LoadInto(model, renamed, new LoadOptions { BaseModelPrefix = "" }); }
        catch (InvalidInputException e) { throw new InvalidInputException($"{source}: {e.Where}", e.Message[(e.Where.Length + 2)..], e); }
    }
}
