using Stilts.Checkpoints;
using static Stilts.Tests.Checkpoints.TorchZipFixture;
using static TorchSharp.torch;

namespace Stilts.Tests.Checkpoints;

public sealed class PyTorchBinTests
{
    [Theory]
    [InlineData("bert")]
    [InlineData("xlm-roberta")]
    [InlineData("mt5")]
    public void ReferenceBinEqualsReferenceSafetensorsBitForBit(string family)
    {
        string dir = TestPaths.TestVectors(family);
        var bin = PyTorchBin.Read(Path.Combine(dir, "pytorch_model.bin"));
        var st = SafeTensors.Read(Path.Combine(dir, "model.safetensors"));
        Assert.True(st.Count > 10, $"{family}: only {st.Count} tensors");
        foreach (var (name, expected) in st)
        {
            Assert.True(bin.ContainsKey(name), $"{family}: {name} missing from the .bin");
            Assert.Equal(expected.dtype, bin[name].dtype);
            Assert.Equal(expected.shape, bin[name].shape);
            Assert.True(expected.bytes.SequenceEqual(bin[name].bytes), $"{family}: {name} differs");
        }
        // HF's safetensors save drops tied duplicates; the .bin keeps them (mT5's embed_tokens share 'shared').
        foreach (var extra in bin.Keys.Except(st.Keys))
        {
            Assert.Equal("mt5", family);
            Assert.True(st["shared.weight"].bytes.SequenceEqual(bin[extra].bytes), extra);
        }
        Assert.Equal(family == "mt5" ? 2 : 0, bin.Count - st.Count);
    }

    [Fact]
    public void RebuildsOffsetsStridesSharedStoragesAndDtypes()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "pytorch_model.bin");
        var tensors = new[]
        {
            // A 2x3 matrix stored transposed (column-major): the strided view of storage "0".
            new FixtureTensor("w.transposed", "0", "FloatStorage", 6, 0, [2, 3], [1, 2]),
            // Two tensors sharing storage "0": the tail at an offset.
            new FixtureTensor("w.tail", "0", "FloatStorage", 6, 4, [2], [1]),
            new FixtureTensor("h.half", "1", "HalfStorage", 3, 0, [3], [1], AsParameter: true),
            new FixtureTensor("b.bf16", "2", "BFloat16Storage", 2, 1, [1], [1]),
            new FixtureTensor("ids", "3", "LongStorage", 3, 0, [3], [1]),
            new FixtureTensor("scalar", "0", "FloatStorage", 6, 5, [], []),
        };
        WriteZip(path, StateDictPickle(tensors), new Dictionary<string, byte[]>
        {
            ["0"] = Floats(1, 2, 3, 4, 5, 6),
            ["1"] = Halves(0.5f, -1.5f, 1024f),
            ["2"] = BFloat16s(2.5f, -0.375f),
            ["3"] = Longs(7, -1, 1L << 40),
        });

        var sd = PyTorchBin.Read(path);

        Assert.Equal(["w.transposed", "w.tail", "h.half", "b.bf16", "ids", "scalar"], sd.Keys);
        Assert.Equal(new long[] { 2, 3 }, sd["w.transposed"].shape);
        Assert.Equal(new float[] { 1, 3, 5, 2, 4, 6 }, sd["w.transposed"].data<float>().ToArray());
        Assert.Equal(new float[] { 5, 6 }, sd["w.tail"].data<float>().ToArray());
        Assert.Equal(ScalarType.Float16, sd["h.half"].dtype);
        Assert.Equal(new float[] { 0.5f, -1.5f, 1024f }, sd["h.half"].to_type(ScalarType.Float32).data<float>().ToArray());
        Assert.Equal(ScalarType.BFloat16, sd["b.bf16"].dtype);
        Assert.Equal(-0.375f, sd["b.bf16"].to_type(ScalarType.Float32).data<float>()[0]);
        Assert.Equal(new long[] { 7, -1, 1L << 40 }, sd["ids"].data<long>().ToArray());
        Assert.Empty(sd["scalar"].shape);
        Assert.Equal(6f, sd["scalar"].data<float>()[0]);

        // Shared in Python, independent here: writing one leaves the other alone.
        sd["w.tail"].fill_(0);
        Assert.Equal(new float[] { 1, 3, 5, 2, 4, 6 }, sd["w.transposed"].data<float>().ToArray());
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("torch.storage", "_load_from_bytes")]
    [InlineData("torch", "load")]
    public void ForbiddenGlobalIsRefusedBeforeAnythingRuns(string module, string name)
    {
        // The classic exploit: GLOBAL os.system, then REDUCE with ("echo pwned",).
        var pickle = new PickleWriter().Proto().Global(module, name).Mark().Str("touch /tmp/stilts-pwned").Tuple().Reduce().Stop().ToArray();
        var e = ReadHostile(pickle, new Dictionary<string, byte[]>());
        Assert.Contains($"forbidden global {module}.{name}", e.Message);
    }

    [Fact]
    public void DeclaredStorageLargerThanItsEntryIsRefused()
    {
        var huge = new FixtureTensor("w", "0", "FloatStorage", 1L << 40, 0, [1L << 20, 1L << 20], [1L << 20, 1]);
        var e = ReadHostile(StateDictPickle([huge]), new Dictionary<string, byte[]> { ["0"] = Floats(1, 2) });
        Assert.Contains("storage '0' declares 1099511627776 Float32 elements", e.Message);
        Assert.Contains("holds 8 bytes", e.Message);
    }

    [Theory]
    [InlineData(0, new long[] { 3 }, new long[] { 1 })]      // one element too many
    [InlineData(2, new long[] { 2, 2 }, new long[] { 1, 1 })] // offset pushes the view out
    [InlineData(0, new long[] { 2, 2 }, new long[] { 2, 5 })] // a stride jumps out
    [InlineData(0, new long[] { 2 }, new long[] { -1 })]      // negative stride
    public void ViewReachingPastItsStorageIsRefused(long offset, long[] size, long[] stride)
    {
        var t = new FixtureTensor("w", "0", "FloatStorage", 2, offset, size, stride);
        var e = ReadHostile(StateDictPickle([t]), new Dictionary<string, byte[]> { ["0"] = Floats(1, 2) });
        Assert.Contains("'w'", e.Message);
        Assert.Matches("reaches past the end of storage '0'|negative", e.Message);
    }

    [Fact]
    public void PersistentIdNamingAnAbsentStorageIsRefused()
    {
        var t = new FixtureTensor("w", "7", "FloatStorage", 2, 0, [2], [1]);
        var e = ReadHostile(StateDictPickle([t]), new Dictionary<string, byte[]> { ["0"] = Floats(1, 2) });
        Assert.Contains("storage '7' has no entry archive/data/7", e.Message);
    }

    [Fact]
    public void UnknownStorageTypeIsRefused()
    {
        // ComplexFloatStorage is a real torch global, but not one a checkpoint of ours may use.
        var t = new FixtureTensor("w", "0", "ComplexFloatStorage", 1, 0, [1], [1]);
        var e = ReadHostile(StateDictPickle([t]), new Dictionary<string, byte[]> { ["0"] = Floats(1, 2) });
        Assert.Contains("forbidden global torch.ComplexFloatStorage", e.Message);
    }

    [Fact]
    public void TruncatedPickleIsRefused()
    {
        var full = StateDictPickle([new FixtureTensor("w", "0", "FloatStorage", 2, 0, [2], [1])]);
        var e = ReadHostile(full[..(full.Length / 2)], new Dictionary<string, byte[]> { ["0"] = Floats(1, 2) });
        Assert.Contains("malformed pickle", e.Message);
    }

    [Fact]
    public void StringLengthBeyondThePickleIsRefusedWithoutAllocating()
    {
        var pickle = new PickleWriter().Proto().StrHeader(uint.MaxValue).Raw(1, 2, 3).ToArray();
        var e = ReadHostile(pickle, new Dictionary<string, byte[]>());
        Assert.Contains("a 4294967295-byte item", e.Message);
    }

    [Fact]
    public void StackGrowthIsCapped()
    {
        // Each DUP costs one byte of pickle and one stack slot: without a cap a small file could fill memory.
        var p = new PickleWriter().Proto().Op('N');
        p.Raw(Enumerable.Repeat((byte)'2', 1 << 22).ToArray());
        Assert.Contains("more than 4194304 objects on the stack", ReadHostile(p.Stop().ToArray(), new Dictionary<string, byte[]>()).Message);
    }

    [Fact]
    public void DeeplyNestedPersistentIdIsDescribedWithoutRecursingIntoIt()
    {
        var p = new PickleWriter().Proto().EmptyTuple();
        p.Raw(Enumerable.Repeat((byte)0x85, 200_000).ToArray()); // TUPLE1, 200k levels deep
        var e = ReadHostile(p.PersId().Stop().ToArray(), new Dictionary<string, byte[]>());
        Assert.EndsWith("persistent id is not a ('storage', type, key, location, numel) tuple: ((((...))))", e.Message);
    }

    [Fact]
    public void MemoRecallBeforeStoreIsRefused()
    {
        var pickle = new PickleWriter().Proto().Get(3).Stop().ToArray();
        Assert.Contains("memo entry 3 used before it was stored", ReadHostile(pickle, new Dictionary<string, byte[]>()).Message);
    }

    [Fact]
    public void PickleThatIsNotAStateDictIsRefused()
    {
        var pickle = new PickleWriter().Proto().Str("hello").Stop().ToArray();
        Assert.Contains("'hello', not a state dict", ReadHostile(pickle, new Dictionary<string, byte[]>()).Message);
    }

    [Fact]
    public void ZipWithoutDataPklIsRefused()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "pytorch_model.bin");
        WriteZip(path, pickle: null, new Dictionary<string, byte[]> { ["0"] = Floats(1) });
        var e = Assert.Throws<InvalidInputException>(() => PyTorchBin.Read(path));
        Assert.Contains("no <folder>/data.pkl", e.Message);
    }

    [Fact]
    public void TruncatedZipIsRefused()
    {
        var bytes = File.ReadAllBytes(Path.Combine(TestPaths.TestVectors("bert"), "pytorch_model.bin"));
        string path = Path.Combine(TestPaths.NewTempDir(), "pytorch_model.bin");
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
        var e = Assert.Throws<InvalidInputException>(() => PyTorchBin.Read(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains("zip", e.Message);
    }

    [Fact]
    public void LegacyFormatIsReadWithTheSameChecks()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "pytorch_model.bin");
        var tensors = new[]
        {
            new FixtureTensor("w", "140201", "FloatStorage", 6, 0, [3, 2], [1, 3]),
            new FixtureTensor("w.shared", "140201", "FloatStorage", 6, 3, [3], [1]),
            new FixtureTensor("h", "139999", "HalfStorage", 2, 0, [2], [1]),
        };
        var storages = new Dictionary<string, byte[]> { ["140201"] = Floats(1, 2, 3, 4, 5, 6), ["139999"] = Halves(-2, 0.25f) };
        var bytes = LegacyFile(tensors, storages);
        File.WriteAllBytes(path, bytes);

        var sd = PyTorchBin.Read(path);

        Assert.Equal(new float[] { 1, 4, 2, 5, 3, 6 }, sd["w"].data<float>().ToArray());
        Assert.Equal(new float[] { 4, 5, 6 }, sd["w.shared"].data<float>().ToArray());
        Assert.Equal(new float[] { -2, 0.25f }, sd["h"].to_type(ScalarType.Float32).data<float>().ToArray());

        File.WriteAllBytes(path, bytes[..^4]);
        Assert.Contains("storage '140201' (24 bytes", Assert.Throws<InvalidInputException>(() => PyTorchBin.Read(path)).Message);

        var outOfBounds = new[] { tensors[0] with { Size = [4, 2] } };
        File.WriteAllBytes(path, LegacyFile(outOfBounds, new Dictionary<string, byte[]> { ["140201"] = Floats(1, 2, 3, 4, 5, 6) }));
        Assert.Contains("reaches past the end of storage '140201'", Assert.Throws<InvalidInputException>(() => PyTorchBin.Read(path)).Message);
    }

    [Fact]
    public void NeitherZipNorLegacyIsRefused()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "pytorch_model.bin");
        File.WriteAllText(path, "version https://git-lfs.github.com/spec/v1\n");
        Assert.Contains("not a PyTorch checkpoint", Assert.Throws<InvalidInputException>(() => PyTorchBin.Read(path)).Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "pytorch_model.bin");
        Assert.Equal($"{path}: file not found", Assert.Throws<InvalidInputException>(() => PyTorchBin.Read(path)).Message);
    }

    static InvalidInputException ReadHostile(byte[] pickle, IReadOnlyDictionary<string, byte[]> storages)
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "pytorch_model.bin");
        WriteZip(path, pickle, storages);
        return Assert.Throws<InvalidInputException>(() => PyTorchBin.Read(path));
    }
}
