using Stilts.Checkpoints;
using Stilts.Models;
using Stilts.Pipeline;
using static TorchSharp.torch;

namespace Stilts.Tests.Pipeline;

/// <summary>Heads files (keys "&lt;head&gt;.&lt;param&gt;") load strictly: a missing weight is an error naming the file.</summary>
public sealed class EncoderStageWeightsTests
{
    const string ConfigJson = """
        {"model_type": "bert", "vocab_size": 30, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
         "intermediate_size": 24, "max_position_embeddings": 32, "type_vocab_size": 2}
        """;

    // Only the tokenizer, device and precision are read when a model is built for evaluation.
    static RunContext Context(string dir) => new(null!, dir, new WhitespaceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]), "",
        ModelFamily.Bert, CPU, Precision.Float32, null!, null!);

    /// <summary>An encoder folder with an "xnli" head beside it; returns the head's tensors as stored.</summary>
    static Dictionary<string, Tensor> WriteModel(string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), ConfigJson);
        using var encoder = Encoder.Create(EncoderConfig.FromJson(ConfigJson), addPoolingLayer: true);
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), encoder.state_dict());
        using var head = TaskHead.Create(HeadKind.SequenceClassification, encoder, 3);
        var heads = head.state_dict().ToDictionary(p => "xnli." + p.Key, p => p.Value.detach().clone());
        SafeTensors.Write(Path.Combine(dir, "heads.safetensors"), heads);
        return heads;
    }

    static void DropKey(string headsFile, string key)
    {
        var tensors = SafeTensors.Read(headsFile);
        Assert.True(tensors.Remove(key));
        SafeTensors.Write(headsFile, tensors);
    }

    [Fact]
    public void HeadWeightsLoadStrictlyAndAMissingOneNamesTheFile()
    {
        string root = TestPaths.NewTempDir();
        string folder = Path.Combine(root, "model");
        var stored = WriteModel(folder);
        var task = PipelineTasks.Get("xnli", "test");
        var ctx = Context(root);

        using (var model = EncoderStageModel.ForEvaluation(ctx, folder, task, "xnli"))
        {
            var loaded = model.Module.state_dict();
            foreach (var (key, t) in stored)
                Assert.Equal(t.data<float>().ToArray(), loaded["heads." + key].data<float>().ToArray());

            // A checkpoint of the stage whose heads file lost a weight: resuming from it fails, naming the file and key.
            string checkpoint = Path.Combine(root, "checkpoint");
            Directory.CreateDirectory(checkpoint);
            model.SaveWeights(checkpoint);
            string lost = stored.Keys.Order(StringComparer.Ordinal).First();
            DropKey(Path.Combine(checkpoint, "heads.safetensors"), lost);
            var e = Assert.Throws<InvalidInputException>(() => model.LoadWeights(checkpoint));
            Assert.StartsWith(Path.Combine(checkpoint, "heads.safetensors") + ": ", e.Message);
            Assert.Contains(lost, e.Message);
        }

        // Loading the one head for evaluation is as strict: no weight silently stays random.
        string second = stored.Keys.Order(StringComparer.Ordinal).Last();
        DropKey(Path.Combine(folder, "heads.safetensors"), second);
        var evalError = Assert.Throws<InvalidInputException>(() => EncoderStageModel.ForEvaluation(ctx, folder, task, "xnli"));
        Assert.StartsWith(Path.Combine(folder, "heads.safetensors") + ": ", evalError.Message);
        Assert.Contains(second["xnli.".Length..], evalError.Message);
    }
}
