using System.Text.Json;
using System.Text.Json.Nodes;

namespace Stilts.Models;

/// <summary>Which modeling file an HF <c>model_type</c> maps to. XLM-R and CamemBERT are RoBERTa configs.</summary>
public enum EncoderFamily { Bert, Roberta }

/// <summary>The feed-forward activation (HF <c>hidden_act</c>).</summary>
public enum Activation
{
    /// <summary>"gelu": exact erf GELU.</summary>
    Gelu,
    /// <summary>"gelu_new", "gelu_pytorch_tanh", "gelu_fast": the tanh approximation.</summary>
    GeluTanh,
    Relu,
    /// <summary>"silu" / "swish".</summary>
    Silu,
}

/// <summary>
/// An encoder's hyperparameters, read from an HF <c>config.json</c> (model_type bert, roberta, xlm-roberta,
/// camembert). The JSON that was read is kept in <see cref="RawJson"/> so <see cref="ToJson"/> writes back every
/// key we do not model (bos/eos ids, transformers_version ...) with ours updated on top.
/// </summary>
public sealed record EncoderConfig
{
    public required string ModelType { get; init; }
    public required EncoderFamily Family { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int IntermediateSize { get; init; }
    public required int MaxPositionEmbeddings { get; init; }
    public Activation HiddenAct { get; init; } = Activation.Gelu;
    public double HiddenDropoutProb { get; init; } = 0.1;
    public double AttentionProbsDropoutProb { get; init; } = 0.1;
    public int TypeVocabSize { get; init; } = 2;
    public double LayerNormEps { get; init; } = 1e-12;
    public int PadTokenId { get; init; }
    public double InitializerRange { get; init; } = 0.02;
    /// <summary>Dropout before classification heads; null means "use <see cref="HiddenDropoutProb"/>" as HF does.</summary>
    public double? ClassifierDropout { get; init; }
    /// <summary>Label names by id (HF id2label); its length is num_labels.</summary>
    public IReadOnlyList<string> Labels { get; init; } = ["LABEL_0", "LABEL_1"];
    public IReadOnlyList<string> Architectures { get; init; } = [];
    /// <summary>The config.json text this config was read from ("{}" when built in code).</summary>
    public string RawJson { get; init; } = "{}";

    public int NumLabels => Labels.Count;
    public int HeadSize => HiddenSize / NumAttentionHeads;
    public double EffectiveClassifierDropout => ClassifierDropout ?? HiddenDropoutProb;

    /// <summary>Reads <c>config.json</c>; every problem names the file and the key.</summary>
    public static EncoderConfig FromFile(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "file not found");
        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>Parses config.json text; <paramref name="source"/> names it in error messages.</summary>
    public static EncoderConfig FromJson(string json, string source = "config.json")
    {
        JsonObject root;
        try { root = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("the top level is not a JSON object"); }
        catch (JsonException e) { throw new InvalidInputException(source, $"not valid JSON: {e.Message}"); }
        var r = new Reader(root, source);

        string modelType = r.String("model_type") ?? throw r.Missing("model_type");
        var family = modelType switch
        {
            "bert" => EncoderFamily.Bert,
            "roberta" or "xlm-roberta" or "camembert" => EncoderFamily.Roberta,
            _ => throw new InvalidInputException($"{source}: model_type",
                $"'{modelType}' is not supported (expected bert, roberta, xlm-roberta or camembert)"),
        };
        string positions = r.String("position_embedding_type") ?? "absolute";
        if (positions != "absolute")
            throw new InvalidInputException($"{source}: position_embedding_type", $"'{positions}' is not supported (expected absolute)");

        var config = new EncoderConfig
        {
            ModelType = modelType,
            Family = family,
            VocabSize = r.RequiredPositiveInt("vocab_size"),
            HiddenSize = r.RequiredPositiveInt("hidden_size"),
            NumHiddenLayers = r.RequiredPositiveInt("num_hidden_layers"),
            NumAttentionHeads = r.RequiredPositiveInt("num_attention_heads"),
            IntermediateSize = r.RequiredPositiveInt("intermediate_size"),
            MaxPositionEmbeddings = r.RequiredPositiveInt("max_position_embeddings"),
            HiddenAct = ParseActivation(r.String("hidden_act") ?? "gelu", source),
            HiddenDropoutProb = r.Probability("hidden_dropout_prob") ?? 0.1,
            AttentionProbsDropoutProb = r.Probability("attention_probs_dropout_prob") ?? 0.1,
            TypeVocabSize = r.Int("type_vocab_size") ?? 2,
            LayerNormEps = r.Double("layer_norm_eps") ?? 1e-12,
            // HF's defaults: BertConfig pad 0, RobertaConfig pad 1.
            PadTokenId = r.Int("pad_token_id") ?? (family == EncoderFamily.Roberta ? 1 : 0),
            InitializerRange = r.Double("initializer_range") ?? 0.02,
            ClassifierDropout = r.Probability("classifier_dropout"),
            Labels = r.Labels(),
            Architectures = r.StringArray("architectures"),
            RawJson = json,
        };
        if (config.HiddenSize % config.NumAttentionHeads != 0)
            throw new InvalidInputException($"{source}: hidden_size",
                $"{config.HiddenSize} is not a multiple of num_attention_heads ({config.NumAttentionHeads})");
        if (config.TypeVocabSize < 1) throw new InvalidInputException($"{source}: type_vocab_size", "must be at least 1");
        if (config.PadTokenId < 0 || config.PadTokenId >= config.VocabSize)
            throw new InvalidInputException($"{source}: pad_token_id", $"{config.PadTokenId} is outside the vocabulary (0..{config.VocabSize - 1})");
        return config;
    }

    /// <summary>The config as HF config.json text: the JSON that was read, with every modelled key overwritten.</summary>
    public string ToJson()
    {
        var root = JsonNode.Parse(RawJson) as JsonObject ?? new JsonObject();
        root["model_type"] = ModelType;
        root["vocab_size"] = VocabSize;
        root["hidden_size"] = HiddenSize;
        root["num_hidden_layers"] = NumHiddenLayers;
        root["num_attention_heads"] = NumAttentionHeads;
        root["intermediate_size"] = IntermediateSize;
        root["max_position_embeddings"] = MaxPositionEmbeddings;
        root["hidden_act"] = ActivationName(HiddenAct, root["hidden_act"]?.ToString());
        root["hidden_dropout_prob"] = HiddenDropoutProb;
        root["attention_probs_dropout_prob"] = AttentionProbsDropoutProb;
        root["type_vocab_size"] = TypeVocabSize;
        root["layer_norm_eps"] = LayerNormEps;
        root["pad_token_id"] = PadTokenId;
        root["initializer_range"] = InitializerRange;
        root["classifier_dropout"] = ClassifierDropout;
        var id2label = new JsonObject();
        var label2id = new JsonObject();
        for (int i = 0; i < Labels.Count; i++) { id2label[i.ToString()] = Labels[i]; label2id[Labels[i]] = i; }
        root["id2label"] = id2label;
        root["label2id"] = label2id;
        root["architectures"] = new JsonArray(Architectures.Select(a => (JsonNode?)a).ToArray());
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Writes <see cref="ToJson"/> atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    static Activation ParseActivation(string name, string source) => name switch
    {
        "gelu" => Activation.Gelu,
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => Activation.GeluTanh,
        "relu" => Activation.Relu,
        "silu" or "swish" => Activation.Silu,
        _ => throw new InvalidInputException($"{source}: hidden_act",
            $"'{name}' is not supported (expected gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu or swish)"),
    };

    // Keep the spelling that was read when it still means the same activation.
    static string ActivationName(Activation act, string? read) =>
        read != null && TryParse(read) == act ? read : act switch
        {
            Activation.Gelu => "gelu", Activation.GeluTanh => "gelu_new", Activation.Relu => "relu", _ => "silu",
        };

    static Activation? TryParse(string name)
    {
        try { return ParseActivation(name, ""); } catch (InvalidInputException) { return null; }
    }

    /// <summary>Typed access to config keys; every failure names "file: key".</summary>
    sealed class Reader(JsonObject root, string source)
    {
        public InvalidInputException Missing(string key) => new($"{source}: {key}", "required key is missing");

        InvalidInputException Wrong(string key, string expected, JsonNode node) =>
            new($"{source}: {key}", $"expected {expected}, got {node.ToJsonString()}");

        JsonNode? Node(string key) => root.TryGetPropertyValue(key, out var n) ? n : null;

        public string? String(string key)
        {
            var n = Node(key);
            if (n is null) return null;
            return n is JsonValue v && v.TryGetValue(out string? s) ? s : throw Wrong(key, "a string", n);
        }

        public int? Int(string key)
        {
            var n = Node(key);
            if (n is null) return null;
            if (n is JsonValue v && v.TryGetValue(out JsonElement e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int i)) return i;
            throw Wrong(key, "an integer", n);
        }

        public int RequiredPositiveInt(string key)
        {
            int value = Int(key) ?? throw Missing(key);
            return value > 0 ? value : throw new InvalidInputException($"{source}: {key}", $"must be positive, got {value}");
        }

        public double? Double(string key)
        {
            var n = Node(key);
            if (n is null) return null;
            if (n is JsonValue v && v.TryGetValue(out JsonElement e) && e.ValueKind == JsonValueKind.Number) return e.GetDouble();
            throw Wrong(key, "a number", n);
        }

        public double? Probability(string key)
        {
            double? p = Double(key);
            if (p is < 0 or >= 1) throw new InvalidInputException($"{source}: {key}", $"must be in [0, 1), got {p}");
            return p;
        }

        public IReadOnlyList<string> StringArray(string key)
        {
            var n = Node(key);
            if (n is null) return [];
            if (n is not JsonArray a) throw Wrong(key, "an array of strings", n);
            return a.Select(x => x is JsonValue v && v.TryGetValue(out string? s) ? s : throw Wrong(key, "an array of strings", n)).ToArray();
        }

        /// <summary>id2label as a dense list; num_labels alone gives HF's LABEL_i names; label2id must agree.</summary>
        public IReadOnlyList<string> Labels()
        {
            string[] labels;
            var n = Node("id2label");
            if (n is JsonObject map)
            {
                labels = new string[map.Count];
                foreach (var (k, v) in map)
                {
                    if (!int.TryParse(k, out int id) || id < 0 || id >= labels.Length || labels[id] != null)
                        throw new InvalidInputException($"{source}: id2label", $"keys must be the ids 0..{labels.Length - 1}, got '{k}'");
                    labels[id] = v is JsonValue jv && jv.TryGetValue(out string? s) ? s : throw Wrong("id2label", "string label names", map);
                }
            }
            else if (n is null)
            {
                int count = Int("num_labels") ?? 2;
                if (count < 1) throw new InvalidInputException($"{source}: num_labels", $"must be positive, got {count}");
                labels = Enumerable.Range(0, count).Select(i => $"LABEL_{i}").ToArray();
            }
            else throw Wrong("id2label", "an object mapping ids to names", n);

            if (Int("num_labels") is int declared && declared != labels.Length)
                throw new InvalidInputException($"{source}: num_labels", $"{declared} disagrees with id2label's {labels.Length} entries");
            if (Node("label2id") is JsonNode l2i)
            {
                if (l2i is not JsonObject inverse) throw Wrong("label2id", "an object mapping names to ids", l2i);
                foreach (var (name, idNode) in inverse)
                {
                    int? id = idNode is JsonValue v && v.TryGetValue(out JsonElement e) && e.TryGetInt32(out int i) ? i : null;
                    if (id is null || id < 0 || id >= labels.Length || labels[id.Value] != name)
                        throw new InvalidInputException($"{source}: label2id", $"'{name}' -> {idNode?.ToJsonString()} disagrees with id2label");
                }
            }
            return labels;
        }
    }
}
