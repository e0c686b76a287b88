using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Checkpoints;

/// <summary>
/// The safetensors format: [u64 LE header length N][N bytes JSON header][raw little-endian tensor data].
/// Header entries are {"dtype", "shape", "data_offsets": [begin, end]} relative to the data section, plus an
/// optional "__metadata__" string map. Every offset is checked against the file before any tensor is built.
/// </summary>
public static class SafeTensors
{
    const long MaxHeaderBytes = 100L << 20; // HF's own limit; a larger header is a corrupt or hostile file

    /// <summary>Header of one tensor entry, validated.</summary>
    public sealed record Entry(string Name, ScalarType DType, long[] Shape, long Begin, long End);

    /// <summary>Reads every tensor of a file onto the CPU in its stored dtype.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var file = OpenOrThrow(path);
        var (entries, dataStart, _) = ReadHeader(file, path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var e in entries)
            {
                var bytes = new byte[e.End - e.Begin];
                file.Position = dataStart + e.Begin;
                file.ReadExactly(bytes);
                result[e.Name] = FromBytes(bytes, e.DType, e.Shape);
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>Reads only the header (names, dtypes, shapes, offsets) and the metadata map.</summary>
    public static (IReadOnlyList<Entry> Entries, IReadOnlyDictionary<string, string> Metadata) ReadIndex(string path)
    {
        using var file = OpenOrThrow(path);
        var (entries, _, metadata) = ReadHeader(file, path);
        return (entries, metadata);
    }

    /// <summary>
    /// Writes tensors (any device; copied to CPU) atomically: a temp file beside the target, then a rename.
    /// Entries are ordered by name and the header is space-padded so data starts 8-byte aligned, as HF does.
    /// </summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        var meta = new JsonObject { ["format"] = "pt" };
        if (metadata != null) foreach (var (k, v) in metadata) meta[k] = v;
        header["__metadata__"] = meta;
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var blobs = new List<byte[]>(names.Count);
        long offset = 0;
        foreach (var name in names)
        {
            var t = tensors[name];
            byte[] data = ToBytes(t);
            header[name] = new JsonObject
            {
                ["dtype"] = DTypeName(t.dtype),
                ["shape"] = new JsonArray(t.shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + data.Length),
            };
            offset += data.Length;
            blobs.Add(data);
        }
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            stream.Write(len);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var b in blobs) stream.Write(b);
        });
    }

    /// <summary>
    /// Writes tensors as HF does for big models: shards <c>model-00001-of-0000N.safetensors</c> of at most
    /// <paramref name="maxShardBytes"/> each (a larger tensor gets a shard of its own), filled greedily in name order,
    /// plus <c>model.safetensors.index.json</c> mapping every tensor to its shard. One shard is written as plain
    /// model.safetensors with no index, as save_pretrained does. Returns the file names written.
    /// </summary>
    public static IReadOnlyList<string> WriteSharded(string dir, IReadOnlyDictionary<string, Tensor> tensors, long maxShardBytes)
    {
        if (maxShardBytes <= 0) throw new ArgumentOutOfRangeException(nameof(maxShardBytes), "the shard size must be positive");
        var shards = new List<List<string>> { new() };
        long current = 0;
        foreach (var name in tensors.Keys.Order(StringComparer.Ordinal))
        {
            long bytes = tensors[name].numel() * ElementSize(tensors[name].dtype);
            if (current > 0 && current + bytes > maxShardBytes) { shards.Add([]); current = 0; }
            shards[^1].Add(name);
            current += bytes;
        }
        if (shards.Count == 1)
        {
            Write(Path.Combine(dir, "model.safetensors"), tensors);
            return ["model.safetensors"];
        }

        var written = new List<string>();
        var weightMap = new JsonObject();
        long total = 0;
        for (int i = 0; i < shards.Count; i++)
        {
            string file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            var part = shards[i].ToDictionary(n => n, n => tensors[n], StringComparer.Ordinal);
            Write(Path.Combine(dir, file), part);
            foreach (var (n, t) in part) { weightMap[n] = file; total += t.numel() * ElementSize(t.dtype); }
            written.Add(file);
        }
        // The index goes last, so no reader ever finds it naming a shard that is not there yet.
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
        AtomicFile.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        written.Add("model.safetensors.index.json");
        return written;
    }

    static FileStream OpenOrThrow(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "file not found");
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    }

    static (List<Entry>, long DataStart, Dictionary<string, string>) ReadHeader(FileStream file, string path)
    {
        long fileLength = file.Length;
        if (fileLength < 8) throw new InvalidInputException(path, $"not a safetensors file: {fileLength} bytes, shorter than the 8-byte header length");
        Span<byte> len = stackalloc byte[8];
        file.ReadExactly(len);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (n > (ulong)MaxHeaderBytes || (long)n > fileLength - 8)
            throw new InvalidInputException(path, $"safetensors header length {n} points past the end of the file ({fileLength} bytes)");
        var json = new byte[n];
        file.ReadExactly(json);
        JsonObject root;
        try { root = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("the header is not a JSON object"); }
        catch (JsonException e) { throw new InvalidInputException(path, $"safetensors header is not valid JSON: {e.Message}"); }

        long dataStart = 8 + (long)n, dataLength = fileLength - dataStart;
        var metadata = new Dictionary<string, string>();
        var entries = new List<Entry>();
        foreach (var (name, node) in root)
        {
            if (name == "__metadata__")
            {
                if (node is JsonObject m) foreach (var (k, v) in m) metadata[k] = v?.ToString() ?? "";
                continue;
            }
            entries.Add(ParseEntry(path, name, node, dataLength));
        }
        return (entries, dataStart, metadata);
    }

    static Entry ParseEntry(string path, string name, JsonNode? node, long dataLength)
    {
        string where = $"{path}: tensor '{name}'";
        // Wrong JSON types (a string shape, a float offset) surface as these from System.Text.Json; name the tensor instead.
        try { return ParseEntryFields(where, node, dataLength, name); }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException or NullReferenceException)
        {
            throw new InvalidInputException(where, $"malformed header entry (expected dtype string, shape [ints], data_offsets [begin, end]): {e.Message}");
        }
    }

    static Entry ParseEntryFields(string where, JsonNode? node, long dataLength, string name)
    {
        if (node is not JsonObject o) throw new InvalidInputException(where, "header entry is not an object");
        string dtypeName = o["dtype"]?.GetValue<string>() ?? throw new InvalidInputException(where, "missing 'dtype'");
        var dtype = ParseDType(dtypeName) ?? throw new InvalidInputException(where, $"unknown dtype '{dtypeName}' (expected F64, F32, F16, BF16, I64, I32, I16, I8, U8 or BOOL)");
        var shape = (o["shape"] as JsonArray ?? throw new InvalidInputException(where, "missing 'shape'")).Select(x => x!.GetValue<long>()).ToArray();
        var offsets = o["data_offsets"] as JsonArray ?? throw new InvalidInputException(where, "missing 'data_offsets'");
        if (offsets.Count != 2) throw new InvalidInputException(where, "'data_offsets' must hold two numbers");
        long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
        if (shape.Any(s => s < 0)) throw new InvalidInputException(where, $"negative dimension in shape [{string.Join(", ", shape)}]");
        if (begin < 0 || end < begin || end > dataLength)
            throw new InvalidInputException(where, $"data_offsets [{begin}, {end}] point outside the data section ({dataLength} bytes)");
        long expected = shape.Aggregate(1L, (a, b) => checked(a * b)) * ElementSize(dtype);
        if (end - begin != expected)
            throw new InvalidInputException(where, $"holds {end - begin} bytes but shape [{string.Join(", ", shape)}] of {dtypeName} needs {expected}");
        return new Entry(name, dtype, shape, begin, end);
    }

    internal static ScalarType? ParseDType(string name) => name switch
    {
        "F64" => ScalarType.Float64, "F32" => ScalarType.Float32, "F16" => ScalarType.Float16, "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64, "I32" => ScalarType.Int32, "I16" => ScalarType.Int16, "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte, "BOOL" => ScalarType.Bool, _ => null,
    };

    internal static string DTypeName(ScalarType t) => t switch
    {
        ScalarType.Float64 => "F64", ScalarType.Float32 => "F32", ScalarType.Float16 => "F16", ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64", ScalarType.Int32 => "I32", ScalarType.Int16 => "I16", ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8", ScalarType.Bool => "BOOL", _ => throw new NotSupportedException($"dtype {t} cannot be stored in safetensors"),
    };

    internal static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    /// <summary>Builds a CPU tensor from raw little-endian bytes (the machine is little-endian).</summary>
    internal static Tensor FromBytes(byte[] bytes, ScalarType dtype, long[] shape)
    {
        var t = torch.empty(shape, dtype);
        if (bytes.Length > 0) t.bytes = bytes;
        return t;
    }

    internal static byte[] ToBytes(Tensor t)
    {
        using var cpu = t.detach().cpu().contiguous();
        return cpu.numel() == 0 ? Array.Empty<byte>() : cpu.bytes.ToArray();
    }
}
