using System.Text.Json.Nodes;
using Stilts.Checkpoints;
using static TorchSharp.torch;

namespace Stilts.Models;

/// <summary>The architecture families Stilts runs, read from config.json's model_type.</summary>
public enum ModelFamily { Bert, Roberta, T5 }

/// <summary>What `stilts info` prints about a checkpoint folder.</summary>
public sealed record ModelInfo(
    string Directory, string ModelType, ModelFamily Family, int Layers, int HiddenSize, int Heads, int VocabSize,
    long Parameters, string WeightsFile, string? TokenizerKind);

/// <summary>
/// Loads pretrained checkpoints from an HF folder (plain or cache layout; safetensors, sharded or .bin) through the
/// strict loader, for the CLI and the pipeline alike.
/// </summary>
public static class Pretrained
{
    /// <summary>The family of a checkpoint folder, from config.json's model_type (a folder with only config.json, as for training from scratch, counts).</summary>
    public static ModelFamily FamilyOf(string path)
    {
        string plainConfig = Path.Combine(path, "config.json");
        string configPath = File.Exists(plainConfig) ? plainConfig : CheckpointFolder.Resolve(path).ConfigPath;
        return FamilyOfConfig(configPath);
    }

    /// <summary>The family named by a config.json's model_type.</summary>
    public static ModelFamily FamilyOfConfig(string configPath)
    {
        string type = ModelTypeOf(configPath);
        return type switch
        {
            "bert" => ModelFamily.Bert,
            "roberta" or "xlm-roberta" or "camembert" => ModelFamily.Roberta,
            "t5" or "mt5" => ModelFamily.T5,
            _ => throw new InvalidInputException($"{configPath}: model_type", $"unsupported model_type '{type}' (expected bert, roberta, xlm-roberta, camembert, t5 or mt5)"),
        };
    }

    /// <summary>
    /// A BERT/RoBERTa/XLM-R encoder with the folder's weights; the pooler exists when the checkpoint has one.
    /// Head weights in the checkpoint (a ForSequenceClassification save) are reported as unexpected, not loaded.
    /// </summary>
    public static (Encoder Encoder, LoadReport Report) LoadEncoder(string path, DeviceChoice device = DeviceChoice.Cpu, Precision precision = Precision.Float32)
    {
        var folder = CheckpointFolder.Resolve(path);
        var config = EncoderConfig.FromFile(folder.ConfigPath);
        var weights = Checkpoint.ReadStateDict(folder.Directory, floatType: null);
        try
        {
            bool hasPooler = weights.Keys.Any(k => k.EndsWith("pooler.dense.weight", StringComparison.Ordinal));
            var encoder = Encoder.Create(config, addPoolingLayer: hasPooler);
            LoadReport report;
            try { report = Checkpoint.LoadInto(encoder, weights, new LoadOptions { BaseModelPrefix = encoder.BaseModelPrefix }); }
            catch (InvalidInputException e) { throw new InvalidInputException($"{folder.WeightsFile}: {e.Where}", e.Message[(e.Where.Length + 2)..], e); }
            encoder.eval();
            return (encoder.Place(device, precision), report);
        }
        finally { foreach (var t in weights.Values) t.Dispose(); }
    }

    public static ModelInfo Info(string path)
    {
        var folder = CheckpointFolder.Resolve(path);
        string type = ModelTypeOf(folder.ConfigPath);
        var family = FamilyOf(folder.Directory);
        long parameters = CountParameters(folder);
        string? tokenizer = null;
        try { tokenizer = Tokenization.AutoTokenizer.FromFolder(folder.Directory).Kind.ToString(); }
        catch (InvalidInputException) { } // a weights-only folder has no tokenizer: report none
        if (family == ModelFamily.T5)
        {
            var t5 = T5Config.FromFile(folder.ConfigPath);
            return new ModelInfo(folder.Directory, type, family, t5.NumLayers, t5.DModel, t5.NumHeads, t5.VocabSize, parameters, folder.WeightsFile, tokenizer);
        }
        var c = EncoderConfig.FromFile(folder.ConfigPath);
        return new ModelInfo(folder.Directory, type, family, c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.VocabSize, parameters, folder.WeightsFile, tokenizer);
    }

    // Parameter count from the stored tensors (tied duplicates such as mT5's embed_tokens counted once).
    static long CountParameters(CheckpointFolder folder)
    {
        var weights = Checkpoint.ReadStateDict(folder.Directory, floatType: null);
        try
        {
            long total = 0;
            foreach (var (name, t) in weights)
            {
                if (name.EndsWith("embed_tokens.weight", StringComparison.Ordinal) && weights.ContainsKey("shared.weight")) continue;
                if (name.EndsWith("position_ids", StringComparison.Ordinal)) continue;
                total += t.numel();
            }
            return total;
        }
        finally { foreach (var t in weights.Values) t.Dispose(); }
    }

    static string ModelTypeOf(string configPath)
    {
        if (!File.Exists(configPath)) throw new InvalidInputException(configPath, "config.json not found");
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(configPath)); }
        catch (System.Text.Json.JsonException e) { throw new InvalidInputException(configPath, $"not valid JSON: {e.Message}"); }
        return root?["model_type"]?.GetValue<string>() ?? throw new InvalidInputException($"{configPath}: model_type", "required key is missing");
    }
}
