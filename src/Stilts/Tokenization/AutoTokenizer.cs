using System.Text.Json;

namespace Stilts.Tokenization;

/// <summary>A special token named in tokenizer_config.json / special_tokens_map.json: a plain string, or an
/// AddedToken object with its own lstrip/rstrip flags (null = plain string, HF strips both sides).</summary>
public sealed record SpecialTokenSpec(string Content, bool? LStrip = null, bool? RStrip = null);

/// <summary>What Stilts reads from an HF tokenizer folder's tokenizer_config.json, special_tokens_map.json and
/// config.json. Null = not given (each family applies HF's default).</summary>
public sealed record TokenizerConfig
{
    public string? TokenizerClass { get; init; }
    public int? ModelMaxLength { get; init; }
    public bool? DoLowerCase { get; init; }
    public bool? StripAccents { get; init; }
    public bool TokenizeChineseChars { get; init; } = true;
    public bool AddPrefixSpace { get; init; }
    public int ExtraIds { get; init; } = 100;
    public int? MaxPositionEmbeddings { get; init; }
    public IReadOnlyDictionary<string, SpecialTokenSpec> SpecialTokens { get; init; } = new Dictionary<string, SpecialTokenSpec>();

    public string Token(string key, string fallback) => SpecialTokens.TryGetValue(key, out var s) ? s.Content : fallback;
    public SpecialTokenSpec Spec(string key, string fallback) => SpecialTokens.TryGetValue(key, out var s) ? s : new(fallback);

    /// <summary>Reads the JSON files of <paramref name="dir"/> that exist; malformed JSON names the file.</summary>
    public static TokenizerConfig Load(string dir)
    {
        var specials = new Dictionary<string, SpecialTokenSpec>();
        var config = new TokenizerConfig();
        // special_tokens_map.json first: tokenizer_config.json is what from_pretrained gives priority to.
        foreach (string name in new[] { "special_tokens_map.json", "tokenizer_config.json" })
        {
            string path = Path.Combine(dir, name);
            if (!File.Exists(path)) continue;
            using var doc = ParseJson(path);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidInputException(path, "expected a JSON object");
            foreach (var prop in root.EnumerateObject())
                if (prop.Name.EndsWith("_token", StringComparison.Ordinal) && ReadSpecial(prop.Value) is { } spec)
                    specials[prop.Name] = spec;
            if (name != "tokenizer_config.json") continue;
            config = config with
            {
                TokenizerClass = Str(root, "tokenizer_class") ?? config.TokenizerClass,
                ModelMaxLength = Num(root, "model_max_length", path) is double m && m < int.MaxValue ? (int)m : null,
                DoLowerCase = Bool(root, "do_lower_case", path),
                StripAccents = Bool(root, "strip_accents", path),
                TokenizeChineseChars = Bool(root, "tokenize_chinese_chars", path) ?? true,
                AddPrefixSpace = Bool(root, "add_prefix_space", path) ?? false,
                ExtraIds = Num(root, "extra_ids", path) is double x ? (int)x : 100,
            };
        }
        string cfgPath = Path.Combine(dir, "config.json");
        if (File.Exists(cfgPath))
        {
            using var doc = ParseJson(cfgPath);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && Num(doc.RootElement, "max_position_embeddings", cfgPath) is double mp)
                config = config with { MaxPositionEmbeddings = (int)mp };
        }
        return config with { SpecialTokens = specials };
    }

    static JsonDocument ParseJson(string path)
    {
        try { return JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException ex) { throw new InvalidInputException(path, $"malformed JSON: {ex.Message}", ex); }
    }

    static SpecialTokenSpec? ReadSpecial(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => new SpecialTokenSpec(v.GetString()!),
        JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String =>
            new SpecialTokenSpec(c.GetString()!,
                v.TryGetProperty("lstrip", out var l) && l.ValueKind is JsonValueKind.True or JsonValueKind.False ? l.GetBoolean() : false,
                v.TryGetProperty("rstrip", out var r) && r.ValueKind is JsonValueKind.True or JsonValueKind.False ? r.GetBoolean() : false),
        _ => null,
    };

    static string? Str(JsonElement o, string key) =>
        o.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    static bool? Bool(JsonElement o, string key, string path)
    {
        if (!o.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidInputException($"{path}: {key}", $"expected true, false or null, got {v.GetRawText()}"),
        };
    }

    static double? Num(JsonElement o, string key, string path)
    {
        if (!o.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw new InvalidInputException($"{path}: {key}", $"expected a number, got {v.GetRawText()}");
        return v.GetDouble();
    }
}

/// <summary>Opens the tokenizer of an HF checkpoint folder, picking the family as HF's AutoTokenizer would.</summary>
public static class AutoTokenizer
{
    public static TextTokenizer FromFolder(string dir)
    {
        if (!Directory.Exists(dir)) throw new InvalidInputException(dir, "tokenizer folder not found");
        var config = TokenizerConfig.Load(dir);
        bool Has(string f) => File.Exists(Path.Combine(dir, f));
        string cls = config.TokenizerClass ?? "";

        TokenizerKind? kind = cls switch
        {
            _ when cls.StartsWith("XLMRoberta", StringComparison.Ordinal) => TokenizerKind.XlmRobertaSentencePiece,
            _ when cls.StartsWith("T5", StringComparison.Ordinal) || cls.StartsWith("MT5", StringComparison.Ordinal) => TokenizerKind.T5SentencePiece,
            _ when cls.StartsWith("Bert", StringComparison.Ordinal) || cls.StartsWith("DistilBert", StringComparison.Ordinal) => TokenizerKind.BertWordPiece,
            _ when cls.StartsWith("Roberta", StringComparison.Ordinal) => TokenizerKind.RobertaByteLevelBpe,
            _ => null,
        };
        kind ??= Has("sentencepiece.bpe.model") ? TokenizerKind.XlmRobertaSentencePiece
            : Has("spiece.model") ? TokenizerKind.T5SentencePiece
            : Has("vocab.txt") ? TokenizerKind.BertWordPiece
            : Has("vocab.json") && Has("merges.txt") ? TokenizerKind.RobertaByteLevelBpe
            : null;
        if (kind == null)
            throw new InvalidInputException(dir,
                "no tokenizer files found: expected sentencepiece.bpe.model (XLM-R), spiece.model (T5/mT5), vocab.txt (BERT) or vocab.json + merges.txt (RoBERTa)");

        return kind switch
        {
            TokenizerKind.XlmRobertaSentencePiece => XlmRobertaTokenizer.Create(Required(dir, "sentencepiece.bpe.model"), config),
            TokenizerKind.T5SentencePiece => T5Tokenizer.Create(Required(dir, "spiece.model"), config),
            TokenizerKind.BertWordPiece => BertWordPieceTokenizer.Create(Required(dir, "vocab.txt"), config),
            _ => RobertaBpeTokenizer.Create(Required(dir, "vocab.json"), Required(dir, "merges.txt"), config),
        };
    }

    static string Required(string dir, string file)
    {
        string path = Path.Combine(dir, file);
        if (!File.Exists(path)) throw new InvalidInputException(path, "tokenizer file missing (named by tokenizer_config.json tokenizer_class)");
        return path;
    }
}
