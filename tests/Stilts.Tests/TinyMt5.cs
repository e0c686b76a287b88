using Stilts.Models;
using TorchSharp;

namespace Stilts.Tests;

/// <summary>A random tiny mT5-shaped checkpoint (gated GELU, untied head, no dropout) with the public test vectors' SentencePiece vocabulary.</summary>
static class TinyMt5
{
    /// <summary>Writes the folder (tokenizer files, config.json, model.safetensors) and returns the model; the caller disposes it.</summary>
    public static T5ForConditionalGeneration Create(string dir, int dModel, int layers, int heads, ulong seed, int? dKv = null)
    {
        Directory.CreateDirectory(dir);
        string vectors = TestPaths.TestVectors("mt5");
        foreach (var f in new[] { "spiece.model", "tokenizer_config.json", "special_tokens_map.json" })
            File.Copy(Path.Combine(vectors, f), Path.Combine(dir, f), overwrite: true);
        var config = new T5Config
        {
            VocabSize = T5Config.FromFile(Path.Combine(vectors, "config.json")).VocabSize, DModel = dModel, DKv = dKv ?? dModel / heads, DFf = dModel * 2,
            NumLayers = layers, NumDecoderLayers = layers, NumHeads = heads, FeedForward = T5FeedForward.GatedGelu, TieWordEmbeddings = false, DropoutRate = 0.0,
        };
        var model = T5ForConditionalGeneration.Create(config, new torch.Generator(seed));
        model.SavePretrained(dir);
        return model;
    }

    public static string Write(string dir, int dModel, int layers, int heads, ulong seed, int? dKv = null)
    {
        using var model = Create(dir, dModel, layers, heads, seed, dKv);
        return dir;
    }
}
