using System.Text.Json;
using Stilts.Checkpoints;
using Stilts.Cli.Commands;
using Stilts.Inference;
using Stilts.Models;
using Stilts.Studies;
using TorchSharp;

namespace Stilts.Tests.Inference;

public sealed class InferenceBenchmarkTests
{
    static readonly InferenceBenchOptions Small = new() { BatchSizes = [1, 3], SeqLens = [8, 16], GenerationLength = 4, Warmup = 1, Iterations = 6 };

    static string TinyT5()
    {
        string dir = TestPaths.NewTempDir("tiny-t5");
        var config = new T5Config
        {
            VocabSize = 96, DModel = 16, DKv = 4, DFf = 32, NumLayers = 1, NumDecoderLayers = 1, NumHeads = 2,
            FeedForward = T5FeedForward.GatedGelu, TieWordEmbeddings = false,
        };
        using var model = T5ForConditionalGeneration.Create(config, new torch.Generator(7));
        model.SavePretrained(dir);
        return dir;
    }

    static string TinyBert()
    {
        string dir = TestPaths.NewTempDir("tiny-bert");
        var config = EncoderConfig.FromJson("""
            {"model_type": "bert", "vocab_size": 120, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
             "intermediate_size": 32, "max_position_embeddings": 64}
            """);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJson());
        using var encoder = Encoder.Create(config, addPoolingLayer: false);
        // Saved under the HF prefix, as a fine-tuned checkpoint with a head is; the loader strips it.
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"),
            encoder.named_parameters().ToDictionary(p => "bert." + p.name, p => (torch.Tensor)p.parameter));
        return dir;
    }

    [Fact]
    public void EncoderDecoderFiguresAreConsistentAndGenerationLengthIsReported()
    {
        string dir = TinyT5();
        Assert.Equal(ModelFamily.T5, Pretrained.FamilyOf(dir));
        var rows = InferenceBenchmark.Run(dir, Small);
        Assert.Equal(4, rows.Count);
        Assert.Equal([(1, 8), (1, 16), (3, 8), (3, 16)], rows.Select(r => (r.BatchSize, r.SeqLen)));
        foreach (var r in rows)
        {
            Assert.True(r.IsConsistent(1e-9), r.ToString());
            Assert.True(r.P50Ms > 0 && r.P50Ms <= r.P95Ms && r.P95Ms <= r.P99Ms);
            Assert.Equal(4, r.GenerationLength);
            Assert.Equal(6, r.Iterations);
            Assert.Equal(r.BatchSize * (r.SeqLen + 4) * 1000.0 / r.MeanMs, r.TokensPerSecond, 6);
        }
    }

    [Fact]
    public void EncoderFiguresAreConsistentWithNoGeneration()
    {
        string dir = TinyBert();
        Assert.Equal(ModelFamily.Bert, Pretrained.FamilyOf(dir));
        var rows = InferenceBenchmark.Run(dir, Small);
        Assert.Equal(4, rows.Count);
        Assert.All(rows, r =>
        {
            Assert.True(r.IsConsistent(1e-9), r.ToString());
            Assert.Equal(0, r.GenerationLength);
            Assert.Equal(r.BatchSize * 1000.0 / r.MeanMs, r.ExamplesPerSecond, 6);
        });
        Assert.Throws<InvalidInputException>(() => InferenceBenchmark.Run(dir, Small with { SeqLens = [65] }));
    }

    [Fact]
    public void RealXlmRobertaCheckpointLoadsAndIsMeasured()
    {
        string dir = TestPaths.TestVectors("xlm-roberta");
        using var encoder = Pretrained.LoadEncoder(dir).Encoder;
        Assert.Equal(EncoderFamily.Roberta, encoder.Config.Family);
        var rows = InferenceBenchmark.Run(encoder, Small with { BatchSizes = [2], Iterations = 3 });
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.True(r.IsConsistent(1e-9), r.ToString()));
    }

    [Fact]
    public void CommandWritesTheTableAndStoresRowsInTheStudy()
    {
        string dir = TinyT5(), work = TestPaths.NewTempDir("bench");
        string csv = Path.Combine(work, "bench.csv"), db = Path.Combine(work, "results.db");
        int rc = BenchCommand.RunInference(new BenchCommand.InferenceArgs(dir, "xnli", "1,2", "8", DeviceChoice.Cpu, 3, 1, 5, csv, db, "s1", "run-a", "tiny-mt5"));
        Assert.Equal(0, rc);
        var lines = File.ReadAllLines(csv);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("batch_size,seq_len,generation_length", lines[0]);
        Assert.StartsWith("2,8,3,5,", lines[2]);
        using var store = ResultsStore.Open(db);
        var stored = store.Inference("s1");
        Assert.Equal(2, stored.Count);
        Assert.All(stored, r => Assert.Equal(("tiny-mt5", "xnli", "cpu", "run-a", 3), (r.Model, r.Task, r.Device, r.RunKey, r.GenerationLength)));
        Assert.All(stored, r => Assert.True(r.P50Ms <= r.P95Ms && r.P95Ms <= r.P99Ms));

        string json = Path.Combine(work, "bench.json");
        Assert.Equal(0, BenchCommand.RunInference(new BenchCommand.InferenceArgs(dir, "xnli", "2", "8", DeviceChoice.Cpu, 2, 0, 3, json, null, null, null, null)));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("T5", doc.RootElement.GetProperty("family").GetString());
        Assert.Equal(2, doc.RootElement.GetProperty("results")[0].GetProperty("generation_length").GetInt32());
    }

    [Fact]
    public void BadArgumentsAndUnknownModelTypesExitWith2()
    {
        string work = TestPaths.NewTempDir("bench");
        File.WriteAllText(Path.Combine(work, "config.json"), """{"model_type": "gpt2"}""");
        Assert.Throws<InvalidInputException>(() => Pretrained.FamilyOf(work));
        var args = new BenchCommand.InferenceArgs(work, "xnli", "1", "8", DeviceChoice.Cpu, 2, 0, 2, null, null, null, null, null);
        Assert.Equal(2, BenchCommand.RunInference(args));
        Assert.Equal(2, BenchCommand.RunInference(args with { Model = TinyT5(), BatchSizes = "1,x" }));
        Assert.Equal(2, BenchCommand.RunInference(args with { Model = TinyT5(), Results = Path.Combine(work, "r.db") }));
    }
}
