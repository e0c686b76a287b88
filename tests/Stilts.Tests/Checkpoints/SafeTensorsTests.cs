using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Stilts.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tests.Checkpoints;

public sealed class SafeTensorsTests
{
    [Fact]
    public void WriteThenReadGivesIdenticalTensorsInHfLayout()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "model.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["z.weight"] = torch.arange(6, ScalarType.Float32).reshape(2, 3) / 7,
            ["a.half"] = torch.tensor(new float[] { 0.5f, -2f, 3.25f }).to_type(ScalarType.Float16), // 6 bytes: unaligned after it
            ["m.bf16"] = torch.tensor(new float[] { 1.5f, -0.25f }).to_type(ScalarType.BFloat16),
            ["ids"] = torch.tensor(new long[] { 3, 1L << 50, -4 }),
            ["t.transposed"] = torch.arange(6, ScalarType.Float32).reshape(2, 3).t(), // non-contiguous input
        };

        SafeTensors.Write(path, tensors);
        var back = SafeTensors.Read(path);

        Assert.Equal(tensors.Keys.Order(), back.Keys.Order());
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(t.dtype, back[name].dtype);
            Assert.Equal(t.shape, back[name].shape);
            Assert.True(t.contiguous().bytes.SequenceEqual(back[name].bytes), name);
        }

        // The format facts HF readers rely on: u64 header length, __metadata__.format = "pt", names sorted, data 8-aligned.
        var bytes = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + n) % 8);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)n).TrimEnd(' '))!.AsObject();
        Assert.Equal("pt", header["__metadata__"]!["format"]!.GetValue<string>());
        var names = header.Select(kv => kv.Key).Where(k => k != "__metadata__").ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.Equal("F16", header["a.half"]!["dtype"]!.GetValue<string>());
    }

    [Fact]
    public void WriteShardedSplitsByBytesAndIndexesEveryTensor()
    {
        string dir = TestPaths.NewTempDir();
        var tensors = Enumerable.Range(0, 5).ToDictionary(i => $"layer.{i}.weight", i => torch.full(10, (float)i)); // 40 bytes each

        var files = SafeTensors.WriteSharded(dir, tensors, maxShardBytes: 100);

        Assert.Equal(["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json"], files);
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "model.safetensors.index.json")))!;
        Assert.Equal(200, index["metadata"]!["total_size"]!.GetValue<long>());
        Assert.Equal("model-00003-of-00003.safetensors", index["weight_map"]!["layer.4.weight"]!.GetValue<string>());
        Assert.Equal(2, SafeTensors.ReadIndex(Path.Combine(dir, files[0])).Entries.Count);

        var back = Checkpoint.ReadStateDict(dir);
        Assert.Equal(5, back.Count);
        for (int i = 0; i < 5; i++) Assert.Equal(Enumerable.Repeat((float)i, 10), back[$"layer.{i}.weight"].data<float>().ToArray());
    }

    [Fact]
    public void OneShardIsWrittenAsPlainModelSafetensors()
    {
        string dir = TestPaths.NewTempDir();
        var files = SafeTensors.WriteSharded(dir, new Dictionary<string, Tensor> { ["w"] = torch.ones(4) }, maxShardBytes: 1 << 20);
        Assert.Equal(["model.safetensors"], files);
        Assert.False(File.Exists(Path.Combine(dir, "model.safetensors.index.json")));
    }

    [Fact]
    public void HeaderLengthPastTheEndIsRefused()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "model.safetensors");
        var bytes = new byte[8 + 16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidInputException>(() => SafeTensors.Read(path));
        Assert.Contains("header length 1000 points past the end of the file (24 bytes)", e.Message);
    }

    [Fact]
    public void DataOffsetsPastTheEndAreRefused()
    {
        string path = WriteRaw("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", dataBytes: 8);
        var e = Assert.Throws<InvalidInputException>(() => SafeTensors.Read(path));
        Assert.Contains("tensor 'w'", e.Message);
        Assert.Contains("data_offsets [0, 16] point outside the data section (8 bytes)", e.Message);
    }

    [Fact]
    public void TruncatedFileIsRefused()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "model.safetensors");
        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["a"] = torch.ones(64), ["b"] = torch.ones(64) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);
        var e = Assert.Throws<InvalidInputException>(() => SafeTensors.Read(path));
        Assert.Contains("tensor 'b'", e.Message);
        Assert.Contains("outside the data section", e.Message);
    }

    [Fact]
    public void UnknownDtypeIsRefused()
    {
        string path = WriteRaw("""{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}""", dataBytes: 1);
        Assert.Contains("unknown dtype 'F8_E4M3'", Assert.Throws<InvalidInputException>(() => SafeTensors.Read(path)).Message);
    }

    [Theory]
    [InlineData("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]""", "not valid JSON")]
    [InlineData("""[1,2,3]""", "not valid JSON")]
    [InlineData("""{"w":{"dtype":"F32","shape":["x"],"data_offsets":[0,4]}}""", "malformed header entry")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", "holds 4 bytes but shape [2] of F32 needs 8")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1]}}""", "missing 'data_offsets'")]
    public void MalformedHeaderIsRefused(string header, string expected)
    {
        string path = WriteRaw(header, dataBytes: 4);
        Assert.Contains(expected, Assert.Throws<InvalidInputException>(() => SafeTensors.Read(path)).Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "model.safetensors");
        Assert.Equal($"{path}: file not found", Assert.Throws<InvalidInputException>(() => SafeTensors.Read(path)).Message);
    }

    static string WriteRaw(string header, int dataBytes)
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "model.safetensors");
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
