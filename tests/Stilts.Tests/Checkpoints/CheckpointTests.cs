using Stilts.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stilts.Tests.Checkpoints;

// Field names are the state-dict keys (RegisterComponents), spelled as HF spells them.
#pragma warning disable IDE1006
sealed class TinyEmbeddings : nn.Module
{
    readonly Embedding word_embeddings = nn.Embedding(10, 4);
    readonly LayerNorm LayerNorm = nn.LayerNorm(4);

    public TinyEmbeddings() : base("TinyEmbeddings")
    {
        RegisterComponents();
        register_buffer("position_ids", torch.arange(8).unsqueeze(0));
    }
}

sealed class TinyPooler : nn.Module
{
    readonly Linear dense = nn.Linear(4, 4);
    public TinyPooler() : base("TinyPooler") => RegisterComponents();
}

/// <summary>A base model in HF's shape: embeddings, one dense layer, and an optional pooler.</summary>
sealed class TinyBase : nn.Module
{
    readonly TinyEmbeddings embeddings = new();
    readonly Linear dense = nn.Linear(4, 4);
    readonly TinyPooler? pooler;

    public TinyBase(bool withPooler) : base("TinyBase")
    {
        pooler = withPooler ? new TinyPooler() : null;
        RegisterComponents();
    }
}

/// <summary>A model with a head: the base under "bert." (HF's base_model_prefix) plus a classifier.</summary>
sealed class TinyWithHead : nn.Module
{
    readonly TinyBase bert = new(withPooler: false);
    readonly Linear classifier = nn.Linear(4, 3);
    public TinyWithHead() : base("TinyWithHead") => RegisterComponents();
}

/// <summary>An mT5-like pair: the encoder's embedding is the shared one.</summary>
sealed class TinyTied : nn.Module
{
    readonly Embedding shared = nn.Embedding(10, 4);
    readonly Embedding embed_tokens;
    public TinyTied() : base("TinyTied")
    {
        embed_tokens = nn.Embedding(10, 4);
        RegisterComponents();
    }
}
#pragma warning restore IDE1006

public sealed class CheckpointTests
{
    /// <summary>A base-model checkpoint as HF saves BertModel: every key, pooler and position_ids included.</summary>
    static Dictionary<string, Tensor> BaseCheckpoint(string prefix = "")
    {
        var keys = new (string Name, long[] Shape)[]
        {
            ("embeddings.word_embeddings.weight", [10, 4]), ("embeddings.LayerNorm.weight", [4]), ("embeddings.LayerNorm.bias", [4]),
            ("dense.weight", [4, 4]), ("dense.bias", [4]), ("pooler.dense.weight", [4, 4]), ("pooler.dense.bias", [4]),
        };
        var sd = new Dictionary<string, Tensor>();
        int seed = 1;
        foreach (var (name, shape) in keys)
            sd[prefix + name] = (torch.arange(shape.Aggregate(1L, (a, b) => a * b), ScalarType.Float32) * 0.01f + seed++).reshape(shape);
        sd[prefix + "embeddings.position_ids"] = torch.arange(8).unsqueeze(0);
        return sd;
    }

    [Fact]
    public void BaseCheckpointLoadsIntoModelWithHeadUnderItsPrefix()
    {
        using var model = new TinyWithHead();
        var ckpt = BaseCheckpoint();
        var before = model.state_dict();
        var headBefore = before["classifier.weight"].clone();

        var e = Assert.Throws<InvalidInputException>(() => Checkpoint.LoadInto(model, ckpt));
        Assert.Contains("classifier.weight", e.Message);
        Assert.Contains("classifier.bias", e.Message);

        var report = Checkpoint.LoadInto(model, ckpt, new LoadOptions { AllowMissing = ["classifier.*"] });

        Assert.Equal(["classifier.bias", "classifier.weight"], report.Missing.Order());
        Assert.Equal(["pooler.dense.bias", "pooler.dense.weight"], report.Ignored.Order()); // the model has no pooler
        Assert.Empty(report.Unexpected);
        Assert.Equal("bert.dense.weight", report.Renamed["dense.weight"]);
        Assert.Equal(6, report.Renamed.Count);
        var after = model.state_dict();
        foreach (var key in new[] { "embeddings.word_embeddings.weight", "embeddings.LayerNorm.bias", "dense.weight" })
            Assert.Equal(ckpt[key].data<float>().ToArray(), after["bert." + key].data<float>().ToArray());
        Assert.Equal(headBefore.data<float>().ToArray(), after["classifier.weight"].data<float>().ToArray());
    }

    [Fact]
    public void HeadCheckpointLoadsIntoBaseModelWithPrefixStripped()
    {
        using var model = new TinyBase(withPooler: true);
        var ckpt = BaseCheckpoint("bert.");
        ckpt["classifier.weight"] = torch.zeros(3, 4);

        var report = Checkpoint.LoadInto(model, ckpt, new LoadOptions { BaseModelPrefix = "bert" });

        Assert.Equal(["classifier.weight"], report.Unexpected);
        Assert.Empty(report.Missing);
        Assert.Equal("pooler.dense.weight", report.Renamed["bert.pooler.dense.weight"]);
        Assert.Equal(ckpt["bert.pooler.dense.bias"].data<float>().ToArray(), model.state_dict()["pooler.dense.bias"].data<float>().ToArray());
    }

    [Fact]
    public void ValuesAreCopiedIntoTheExistingParametersKeepingTheirDtype()
    {
        using var model = new TinyBase(withPooler: true);
        var param = model.state_dict()["dense.weight"];
        var ckpt = BaseCheckpoint().ToDictionary(kv => kv.Key, kv => kv.Value.is_floating_point() ? kv.Value.to_type(ScalarType.Float16) : kv.Value);

        var report = Checkpoint.LoadInto(model, ckpt);

        var now = model.state_dict()["dense.weight"];
        Assert.Equal(param.Handle, now.Handle); // the same parameter object, filled in place
        Assert.Equal(ScalarType.Float32, now.dtype);
        Assert.True(now.requires_grad);
        Assert.Equal(ckpt["dense.weight"].to_type(ScalarType.Float32).data<float>().ToArray(), now.data<float>().ToArray());
        Assert.Empty(report.Renamed);
        Assert.Equal(8, report.Loaded.Count); // 7 parameters and the position_ids buffer
    }

    [Fact]
    public void ShapeMismatchNamesTheKeyAndBothShapesAndChangesNothing()
    {
        using var model = new TinyBase(withPooler: false);
        var ckpt = BaseCheckpoint();
        ckpt["dense.weight"] = torch.ones(4, 5);
        var before = model.state_dict()["embeddings.LayerNorm.bias"].clone();

        var e = Assert.Throws<InvalidInputException>(() => Checkpoint.LoadInto(model, ckpt));

        Assert.Contains("dense.weight", e.Message);
        Assert.Contains("[4, 5]", e.Message);
        Assert.Contains("[4, 4]", e.Message);
        Assert.Equal(before.data<float>().ToArray(), model.state_dict()["embeddings.LayerNorm.bias"].data<float>().ToArray());
    }

    [Fact]
    public void LegacyGammaBetaNamesLoadIntoLayerNorm()
    {
        using var model = new TinyBase(withPooler: true);
        var ckpt = BaseCheckpoint();
        ckpt["embeddings.LayerNorm.gamma"] = ckpt["embeddings.LayerNorm.weight"];
        ckpt["embeddings.LayerNorm.beta"] = ckpt["embeddings.LayerNorm.bias"];
        ckpt.Remove("embeddings.LayerNorm.weight");
        ckpt.Remove("embeddings.LayerNorm.bias");

        var report = Checkpoint.LoadInto(model, ckpt);

        Assert.Equal("embeddings.LayerNorm.weight", report.Renamed["embeddings.LayerNorm.gamma"]);
        Assert.Equal(ckpt["embeddings.LayerNorm.beta"].data<float>().ToArray(), model.state_dict()["embeddings.LayerNorm.bias"].data<float>().ToArray());
    }

    [Fact]
    public void TiedKeyTakesItsPartnersWeights()
    {
        using var model = new TinyTied();
        var shared = torch.arange(40, ScalarType.Float32).reshape(10, 4);
        var ckpt = new Dictionary<string, Tensor> { ["shared.weight"] = shared };

        Assert.Throws<InvalidInputException>(() => Checkpoint.LoadInto(model, ckpt));
        var report = Checkpoint.LoadInto(model, ckpt, new LoadOptions { Tied = new Dictionary<string, string> { ["embed_tokens.weight"] = "shared.weight" } });

        Assert.Equal("shared.weight", report.Tied["embed_tokens.weight"]);
        Assert.Equal(shared.data<float>().ToArray(), model.state_dict()["embed_tokens.weight"].data<float>().ToArray());
    }

    [Fact]
    public void SaveFolderRoundTripsAndCopiesTokenizerFiles()
    {
        string root = TestPaths.NewTempDir();
        string dir = Path.Combine(root, "out");
        string vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllText(vocab, "[PAD]\n[UNK]\nhello\n");
        using var model = new TinyBase(withPooler: true);

        Checkpoint.SaveFolder(dir, model, """{"model_type":"bert","hidden_size":4}""", [vocab]);

        Assert.Equal(["config.json", "model.safetensors", "vocab.txt"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
        Assert.Equal(["out", "vocab.txt"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Order()); // no temp folders left
        Assert.Equal("[PAD]\n[UNK]\nhello\n", File.ReadAllText(Path.Combine(dir, "vocab.txt")));
        var back = Checkpoint.ReadStateDict(dir);
        var original = model.state_dict();
        Assert.Equal(original.Keys.Order(), back.Keys.Order());
        foreach (var (k, t) in original) Assert.True(t.bytes.SequenceEqual(back[k].bytes), k);

        // Saving again replaces the folder as a whole; a failed save leaves the last good one.
        using var other = new TinyBase(withPooler: false);
        Checkpoint.SaveFolder(dir, other, "{}");
        Assert.False(Checkpoint.ReadStateDict(dir).ContainsKey("pooler.dense.weight"));
        Assert.False(File.Exists(Path.Combine(dir, "vocab.txt")));
        Assert.Throws<InvalidInputException>(() => Checkpoint.SaveFolder(dir, model, "{not json"));
        Assert.Equal("{}", File.ReadAllText(Path.Combine(dir, "config.json")));
        Assert.Single(Directory.GetFileSystemEntries(root), e => e.StartsWith(dir));
    }

    [Fact]
    public void SavedFolderLoadsIntoAFreshModel()
    {
        string dir = Path.Combine(TestPaths.NewTempDir(), "saved");
        using var source = new TinyBase(withPooler: true);
        Checkpoint.SaveFolder(dir, source, "{}");
        using var target = new TinyWithHead();

        var e = Assert.Throws<InvalidInputException>(() => Checkpoint.Load(target, dir));
        Assert.StartsWith($"{dir}: checkpoint: 2 model weight(s) missing", e.Message);
        var report = Checkpoint.Load(target, dir, new LoadOptions { AllowMissing = ["classifier.*"] });

        Assert.Equal(6, report.Loaded.Count); // 5 parameters and position_ids, all under "bert."
        Assert.Equal(["pooler.dense.bias", "pooler.dense.weight"], report.Ignored.Order());
        Assert.Equal(source.state_dict()["dense.weight"].data<float>().ToArray(), target.state_dict()["bert.dense.weight"].data<float>().ToArray());
    }

    [Fact]
    public void KeyPrefixLoadsASubmoduleFromItsParentsFile()
    {
        string file = Path.Combine(TestPaths.NewTempDir(), "parent.safetensors");
        using var parent = new TinyWithHead();
        SafeTensors.Write(file, parent.state_dict());

        using var head = nn.Linear(4, 3);
        var report = Checkpoint.LoadFile(head, file, new LoadOptions { KeyPrefix = "classifier" });
        Assert.Equal(["bias", "weight"], report.Loaded.Order());
        Assert.Empty(report.Unexpected); // the "bert.*" keys are outside the prefix, not unexpected
        Assert.Empty(report.Renamed);
        Assert.Equal(parent.state_dict()["classifier.weight"].data<float>().ToArray(), head.weight!.data<float>().ToArray());

        using var baseModel = new TinyBase(withPooler: false);
        Assert.Equal(6, Checkpoint.LoadFile(baseModel, file, new LoadOptions { KeyPrefix = "bert" }).Loaded.Count);

        // Errors name the file and the checkpoint's own key, prefix included.
        using var wide = nn.Linear(4, 5);
        var e = Assert.Throws<InvalidInputException>(() => Checkpoint.LoadFile(wide, file, new LoadOptions { KeyPrefix = "classifier" }));
        Assert.StartsWith($"{file}: classifier.", e.Message);
        Assert.Contains("does not match model key", e.Message);
        var missing = Assert.Throws<InvalidInputException>(() => Checkpoint.LoadFile(head, file, new LoadOptions { KeyPrefix = "nothing" }));
        Assert.StartsWith($"{file}: checkpoint: 2 model weight(s) missing", missing.Message);
    }

    [Fact]
    public void SaveFolderCanShard()
    {
        string dir = Path.Combine(TestPaths.NewTempDir(), "sharded");
        var sd = BaseCheckpoint();
        Checkpoint.SaveFolder(dir, sd, "{}", maxShardBytes: 100);
        Assert.Equal(WeightFormat.ShardedSafeTensors, CheckpointFolder.Resolve(dir).Format);
        var back = Checkpoint.ReadStateDict(dir, floatType: null);
        foreach (var (k, t) in sd) Assert.True(t.bytes.SequenceEqual(back[k].bytes), k);
    }

    [Fact]
    public void ReferenceCheckpointsLoadTheSameFromEitherFormat()
    {
        // The seq-cls checkpoint carries "bert." keys and a head; the base checkpoint has neither.
        var withHead = Checkpoint.ReadStateDict(Path.Combine(TestPaths.TestVectors("bert"), "seq-cls"));
        Assert.Contains("bert.embeddings.word_embeddings.weight", withHead.Keys);
        Assert.Contains("classifier.weight", withHead.Keys);
        var fromBin = PyTorchBin.Read(Path.Combine(TestPaths.TestVectors("bert"), "pytorch_model.bin"));
        var fromFolder = Checkpoint.ReadStateDict(TestPaths.TestVectors("bert"));
        Assert.Equal(fromBin.Keys.Order(), fromFolder.Keys.Order());
        foreach (var (k, t) in fromBin) Assert.True(t.bytes.SequenceEqual(fromFolder[k].bytes), k);
    }
}
