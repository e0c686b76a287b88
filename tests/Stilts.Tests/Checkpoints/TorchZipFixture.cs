using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Stilts.Tests.Checkpoints;

/// <summary>Emits pickle opcodes one by one, so tests can build both honest torch.save pickles and hostile ones.</summary>
sealed class PickleWriter
{
    readonly MemoryStream _s = new();

    public PickleWriter Op(char op) { _s.WriteByte((byte)op); return this; }
    public PickleWriter Raw(params byte[] bytes) { _s.Write(bytes); return this; }
    public PickleWriter Proto() => Raw(0x80, 2);
    public PickleWriter Global(string module, string name) => Op('c').Raw(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
    public PickleWriter Mark() => Op('(');
    public PickleWriter Tuple() => Op('t');
    public PickleWriter EmptyTuple() => Op(')');
    public PickleWriter EmptyDict() => Op('}');
    public PickleWriter SetItem() => Op('s');
    public PickleWriter SetItems() => Op('u');
    public PickleWriter Reduce() => Op('R');
    public PickleWriter Build() => Op('b');
    public PickleWriter PersId() => Op('Q');
    public PickleWriter False() => Raw(0x89);
    public PickleWriter Stop() => Op('.');
    public PickleWriter Put(byte index) => Op('q').Raw(index);
    public PickleWriter Get(byte index) => Op('h').Raw(index);

    public PickleWriter Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        return StrHeader(b.Length).Raw(b);
    }

    /// <summary>A BINUNICODE header that may claim more bytes than follow.</summary>
    public PickleWriter StrHeader(long length)
    {
        var len = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)length);
        return Op('X').Raw(len);
    }

    public PickleWriter Int(long v)
    {
        if (v is >= int.MinValue and <= int.MaxValue)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)v);
            return Op('J').Raw(b);
        }
        var l = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(l, v);
        return Raw(0x8a, 8).Raw(l); // LONG1, 8 bytes
    }

    public PickleWriter Ints(params long[] values)
    {
        Mark();
        foreach (var v in values) Int(v);
        return Tuple();
    }

    public byte[] ToArray() => _s.ToArray();
}

/// <summary>One tensor of a fixture checkpoint: a strided view into a named storage.</summary>
sealed record FixtureTensor(string Name, string StorageKey, string StorageType, long StorageNumel, long Offset, long[] Size, long[] Stride, bool AsParameter = false);

/// <summary>Writes torch.save-style zip checkpoints, opcode for opcode what PyTorch's pickler emits for a state dict.</summary>
static class TorchZipFixture
{
    /// <summary>The state-dict pickle; <paramref name="legacy"/> adds the view_metadata None of the pre-1.6 persistent ids.</summary>
    public static byte[] StateDictPickle(IEnumerable<FixtureTensor> tensors, bool legacy = false)
    {
        var p = new PickleWriter().Proto().Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark();
        foreach (var t in tensors)
        {
            p.Str(t.Name);
            if (t.AsParameter) p.Global("torch._utils", "_rebuild_parameter").Mark();
            p.Global("torch._utils", "_rebuild_tensor_v2").Mark()
                .Mark().Str("storage").Global("torch", t.StorageType).Str(t.StorageKey).Str("cpu").Int(t.StorageNumel);
            if (legacy) p.Op('N');
            p.Tuple().PersId()
                .Int(t.Offset).Ints(t.Size).Ints(t.Stride).False()
                .Global("collections", "OrderedDict").EmptyTuple().Reduce()
                .Tuple().Reduce();
            if (t.AsParameter) p.False().Global("collections", "OrderedDict").EmptyTuple().Reduce().Tuple().Reduce();
        }
        p.SetItems();
        // state_dict() carries a _metadata attribute, which the pickle restores with BUILD.
        p.EmptyDict().Str("_metadata").EmptyDict().SetItem().Build();
        return p.Stop().ToArray();
    }

    /// <summary>
    /// A pre-1.6 torch.save file: pickles of the magic number, protocol 1001, sys_info, the state dict and the sorted
    /// storage keys, then every storage as [int64 element count][raw bytes].
    /// </summary>
    public static byte[] LegacyFile(IReadOnlyList<FixtureTensor> tensors, IReadOnlyDictionary<string, byte[]> storages)
    {
        var s = new MemoryStream();
        s.Write(new PickleWriter().Proto().Raw(0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19).Stop().ToArray());
        s.Write(new PickleWriter().Proto().Int(1001).Stop().ToArray());
        s.Write(new PickleWriter().Proto().EmptyDict().Mark()
            .Str("protocol_version").Int(1001).Str("little_endian").Raw(0x88)
            .Str("type_sizes").EmptyDict().Mark().Str("short").Int(2).Str("int").Int(4).Str("long").Int(4).SetItems()
            .SetItems().Stop().ToArray());
        s.Write(StateDictPickle(tensors, legacy: true));
        var keys = storages.Keys.Order(StringComparer.Ordinal).ToList();
        var list = new PickleWriter().Proto().Op(']').Mark();
        foreach (var k in keys) list.Str(k);
        s.Write(list.Op('e').Stop().ToArray());
        foreach (var k in keys)
        {
            s.Write(Longs(tensors.First(t => t.StorageKey == k).StorageNumel));
            s.Write(storages[k]);
        }
        return s.ToArray();
    }

    /// <summary>A zip with folder/data.pkl, folder/data/&lt;key&gt; per storage, version and byteorder entries.</summary>
    public static void WriteZip(string path, byte[]? pickle, IReadOnlyDictionary<string, byte[]> storages, string folder = "archive")
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        void Add(string name, byte[] data)
        {
            var e = zip.CreateEntry($"{folder}/{name}", CompressionLevel.NoCompression);
            using var s = e.Open();
            s.Write(data);
        }
        if (pickle != null) Add("data.pkl", pickle);
        Add("byteorder", Encoding.ASCII.GetBytes("little"));
        foreach (var (key, data) in storages) Add($"data/{key}", data);
        Add("version", Encoding.ASCII.GetBytes("3\n"));
    }

    public static byte[] Floats(params float[] values)
    {
        var b = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), values[i]);
        return b;
    }

    public static byte[] Halves(params float[] values)
    {
        var b = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(b.AsSpan(i * 2), (Half)values[i]);
        return b;
    }

    /// <summary>bf16 is the top half of an fp32; the values used in tests are exact in bf16.</summary>
    public static byte[] BFloat16s(params float[] values)
    {
        var b = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(i * 2), (ushort)(BitConverter.SingleToUInt32Bits(values[i]) >> 16));
        return b;
    }

    public static byte[] Longs(params long[] values)
    {
        var b = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(i * 8), values[i]);
        return b;
    }
}
