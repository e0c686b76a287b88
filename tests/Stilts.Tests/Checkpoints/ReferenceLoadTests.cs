using Stilts.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tests.Checkpoints;

/// <summary>A module whose state-dict keys are exactly the given names: nested submodules per dotted segment, zero parameters.</summary>
sealed class KeyedModule : nn.Module
{
    public KeyedModule(IEnumerable<(string Name, long[] Shape)> keys) : base("Keyed")
    {
        foreach (var group in keys.GroupBy(k => k.Name.Split('.', 2)[0]))
        {
            var leaf = group.FirstOrDefault(k => !k.Name.Contains('.'));
            if (leaf.Name != null) register_parameter(leaf.Name, nn.Parameter(torch.zeros(leaf.Shape)));
            else register_module(group.Key, new KeyedModule(group.Select(k => (k.Name[(group.Key.Length + 1)..], k.Shape))));
        }
    }

    public static KeyedModule ShapedLike(string safetensorsPath) =>
        new(SafeTensors.ReadIndex(safetensorsPath).Entries.Select(e => (e.Name, e.Shape)));
}

// The reference BERT vectors: seq-cls was built by loading the base checkpoint under "bert." and adding a head,
// so loading the base checkpoint into a model with the seq-cls keys must reproduce seq-cls's encoder exactly.
public sealed class ReferenceLoadTests
{
    static string Bert => TestPaths.TestVectors("bert");

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("pytorch_model.bin")]
    public void BaseCheckpointLoadsIntoClassifierShapedModelAsHfDid(string weightsFile)
    {
        using var model = KeyedModule.ShapedLike(Path.Combine(Bert, "seq-cls", "model.safetensors"));
        var dir = TestPaths.NewTempDir();
        File.Copy(Path.Combine(Bert, weightsFile), Path.Combine(dir, weightsFile));

        var report = Checkpoint.Load(model, dir, new LoadOptions { AllowMissing = ["classifier.*"] });

        Assert.Equal(["classifier.bias", "classifier.weight"], report.Missing.Order());
        Assert.Empty(report.Unexpected);
        Assert.Equal(39, report.Loaded.Count);
        Assert.All(report.Renamed, r => Assert.Equal("bert." + r.Key, r.Value));
        var expected = SafeTensors.Read(Path.Combine(Bert, "seq-cls", "model.safetensors"));
        var actual = model.state_dict();
        foreach (var key in expected.Keys.Where(k => k.StartsWith("bert.")))
            Assert.True(expected[key].bytes.SequenceEqual(actual[key].bytes), key);
    }

    [Fact]
    public void ClassifierCheckpointLoadsIntoBaseShapedModel()
    {
        using var model = KeyedModule.ShapedLike(Path.Combine(Bert, "model.safetensors"));

        var report = Checkpoint.Load(model, Path.Combine(Bert, "seq-cls"));

        Assert.Equal(["classifier.bias", "classifier.weight"], report.Unexpected.Order());
        Assert.Empty(report.Missing);
        var expected = SafeTensors.Read(Path.Combine(Bert, "model.safetensors"));
        foreach (var (key, t) in model.state_dict())
            Assert.True(expected[key].bytes.SequenceEqual(t.bytes), key);
    }

    [Fact]
    public void Mt5SafetensorsFillTheTiedEmbeddingsFromShared()
    {
        // model.safetensors holds only shared.weight; the .bin (and the model) also have encoder/decoder.embed_tokens.
        string mt5 = TestPaths.TestVectors("mt5");
        var fromBin = PyTorchBin.Read(Path.Combine(mt5, "pytorch_model.bin"));
        using var model = new KeyedModule(fromBin.Select(kv => (kv.Key, kv.Value.shape)));
        var tied = new Dictionary<string, string> { ["encoder.embed_tokens.weight"] = "shared.weight", ["decoder.embed_tokens.weight"] = "shared.weight" };

        var report = Checkpoint.LoadInto(model, SafeTensors.Read(Path.Combine(mt5, "model.safetensors")), new LoadOptions { Tied = tied });

        Assert.Equal(tied, report.Tied);
        Assert.Empty(report.Missing);
        foreach (var (key, t) in model.state_dict())
            Assert.True(fromBin[key].bytes.SequenceEqual(t.bytes), key);
    }
}
