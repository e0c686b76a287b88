using Stilts.Checkpoints;
using TorchSharp;
using static Stilts.Tests.Checkpoints.TorchZipFixture;
using static TorchSharp.torch;

namespace Stilts.Tests.Checkpoints;

public sealed class CheckpointFolderTests
{
    [Fact]
    public void PlainFolderPrefersSafetensorsOverBin()
    {
        string dir = TestPaths.NewTempDir();
        File.Copy(Path.Combine(TestPaths.TestVectors("bert"), "pytorch_model.bin"), Path.Combine(dir, "pytorch_model.bin"));
        Assert.Equal(WeightFormat.PyTorchBin, CheckpointFolder.Resolve(dir).Format);

        File.Copy(Path.Combine(TestPaths.TestVectors("bert"), "model.safetensors"), Path.Combine(dir, "model.safetensors"));
        var found = CheckpointFolder.Resolve(dir);
        Assert.Equal(WeightFormat.SafeTensors, found.Format);
        Assert.Equal(Path.Combine(dir, "model.safetensors"), found.WeightsFile);
    }

    [Fact]
    public void HubCacheRepoFollowsRefsMainToItsSnapshot()
    {
        // models--org--name/{blobs/<sha>, refs/main, snapshots/<rev>/model.safetensors -> ../../blobs/<sha>}
        string repo = Path.Combine(TestPaths.NewTempDir(), "models--org--tiny");
        string blob = Path.Combine(repo, "blobs", "5f3a");
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        File.Copy(Path.Combine(TestPaths.TestVectors("bert"), "model.safetensors"), blob);
        foreach (var rev in new[] { "aaa111", "bbb222" })
        {
            Directory.CreateDirectory(Path.Combine(repo, "snapshots", rev));
        }
        File.CreateSymbolicLink(Path.Combine(repo, "snapshots", "bbb222", "model.safetensors"), Path.Combine("..", "..", "blobs", "5f3a"));
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), "bbb222\n");

        var found = CheckpointFolder.Resolve(repo);
        Assert.Equal(Path.Combine(repo, "snapshots", "bbb222"), found.Directory);
        Assert.Equal(WeightFormat.SafeTensors, found.Format);

        // A snapshot folder given directly is a plain folder.
        Assert.Equal(found, CheckpointFolder.Resolve(Path.Combine(repo, "snapshots", "bbb222")));

        var sd = Checkpoint.ReadStateDict(repo);
        Assert.Equal(SafeTensors.ReadIndex(blob).Entries.Count, sd.Count);
    }

    [Fact]
    public void RefsMainNamingAnAbsentSnapshotIsNamed()
    {
        string repo = Path.Combine(TestPaths.NewTempDir(), "models--org--tiny");
        Directory.CreateDirectory(Path.Combine(repo, "snapshots", "aaa111"));
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), "ccc333");
        var e = Assert.Throws<InvalidInputException>(() => CheckpointFolder.Resolve(repo));
        Assert.Contains("names revision ccc333", e.Message);
    }

    [Fact]
    public void EmptyFolderErrorListsWhatWasLookedFor()
    {
        string dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "config.json"), "{}");
        var e = Assert.Throws<InvalidInputException>(() => CheckpointFolder.Resolve(dir));
        foreach (var name in new[] { "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json", "refs/main" })
            Assert.Contains(name, e.Message);
    }

    [Fact]
    public void MissingFolderIsNamed()
    {
        string dir = Path.Combine(TestPaths.NewTempDir(), "nope");
        Assert.Equal($"{dir}: checkpoint folder not found", Assert.Throws<InvalidInputException>(() => Checkpoint.ReadStateDict(dir)).Message);
    }

    [Fact]
    public void ShardedBinIsReadThroughItsIndex()
    {
        string dir = TestPaths.NewTempDir();
        WriteZip(Path.Combine(dir, "pytorch_model-00001-of-00002.bin"),
            StateDictPickle([new FixtureTensor("a", "0", "FloatStorage", 2, 0, [2], [1])]), new Dictionary<string, byte[]> { ["0"] = Floats(1, 2) });
        WriteZip(Path.Combine(dir, "pytorch_model-00002-of-00002.bin"),
            StateDictPickle([new FixtureTensor("b", "0", "HalfStorage", 1, 0, [1], [1])]), new Dictionary<string, byte[]> { ["0"] = Halves(3) });
        File.WriteAllText(Path.Combine(dir, "pytorch_model.bin.index.json"),
            """{"metadata":{"total_size":10},"weight_map":{"a":"pytorch_model-00001-of-00002.bin","b":"pytorch_model-00002-of-00002.bin"}}""");

        var sd = Checkpoint.ReadStateDict(dir);
        Assert.Equal(new float[] { 1, 2 }, sd["a"].data<float>().ToArray());
        Assert.Equal(ScalarType.Float32, sd["b"].dtype); // fp16 storage, fp32 for the model
        Assert.Equal(3f, sd["b"].data<float>()[0]);

        var raw = Checkpoint.ReadStateDict(dir, floatType: null);
        Assert.Equal(ScalarType.Float16, raw["b"].dtype);

        File.Delete(Path.Combine(dir, "pytorch_model-00002-of-00002.bin"));
        var e = Assert.Throws<InvalidInputException>(() => Checkpoint.ReadStateDict(dir));
        Assert.Contains("shard(s) named in weight_map are missing", e.Message);
        Assert.EndsWith(": pytorch_model-00002-of-00002.bin", e.Message);
    }

    [Fact]
    public void IndexNamingATensorItsShardLacksIsRefused()
    {
        string dir = TestPaths.NewTempDir();
        SafeTensors.Write(Path.Combine(dir, "part-1.safetensors"), new Dictionary<string, Tensor> { ["a"] = torch.ones(2) });
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), """{"weight_map":{"a":"part-1.safetensors","ghost":"part-1.safetensors"}}""");
        var e = Assert.Throws<InvalidInputException>(() => Checkpoint.ReadStateDict(dir));
        Assert.Contains("weight_map puts 'ghost' in shard 'part-1.safetensors', which does not hold it", e.Message);
    }

    [Fact]
    public void IndexShardPathOutsideTheFolderIsRefused()
    {
        string dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), """{"weight_map":{"a":"../elsewhere.safetensors"}}""");
        var e = Assert.Throws<InvalidInputException>(() => Checkpoint.ReadStateDict(dir));
        Assert.Contains("weight_map.a", e.Message);
        Assert.Contains("not a plain file name", e.Message);
    }
}
