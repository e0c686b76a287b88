using System.IO.Compression;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Checkpoints;

/// <summary>
/// Reads <c>pytorch_model.bin</c> as written by <c>torch.save</c> since PyTorch 1.6: a zip holding
/// <c>&lt;name&gt;/data.pkl</c> (the state dict, pickled) and one raw little-endian entry <c>&lt;name&gt;/data/&lt;key&gt;</c>
/// per storage. The pickle goes through <see cref="TorchPickle"/>, which refuses every global that does not rebuild
/// a tensor; every storage size, offset and stride is checked against the zip entries before memory is allocated.
/// The legacy (pre-1.6) layout, pickles followed by raw storages, is read with the same unpickler and checks.
/// One storage must fit a .NET array (about 2 GiB), which covers every tensor of XLM-R/mT5 up to xl size.
/// </summary>
public static class PyTorchBin
{
    const long MaxPickleBytes = 64L << 20; // a state-dict pickle is ~200 bytes per tensor; anything this big is not one
    const long MaxInflation = 1100; // deflate cannot expand more than ~1032:1, so a larger claim is a zip bomb

    /// <summary>
    /// Reads every tensor onto the CPU in its stored dtype as contiguous tensors. Tensors that shared a storage in
    /// Python come out as independent copies (HF ties weights again when it builds the model; so does LoadOptions.Tied).
    /// </summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "file not found");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[4];
        int got = file.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        file.Position = 0;
        if (got >= 3 && magic[0] == 0x80 && magic[2] == 0x8a) return ReadLegacy(file, path); // PROTO n, LONG1 <torch magic number>
        if (got < 4 || magic[0] != 'P' || magic[1] != 'K')
            throw new InvalidInputException(path, "not a PyTorch checkpoint (expected a zip archive holding data.pkl, or the legacy torch.save format)");
        try
        {
            using var zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
            return ReadArchive(zip, path);
        }
        catch (InvalidDataException e) { throw new InvalidInputException(path, $"corrupt or truncated zip archive: {e.Message}", e); }
        catch (EndOfStreamException e) { throw new InvalidInputException(path, $"truncated zip archive: {e.Message}", e); }
    }

    static Dictionary<string, Tensor> ReadArchive(ZipArchive zip, string path)
    {
        // The top folder is named after the file torch.save wrote ("archive", "pytorch_model", ...): find it by data.pkl.
        var pkls = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
        if (pkls.Count != 1)
            throw new InvalidInputException(path, pkls.Count == 0 ? "zip holds no <folder>/data.pkl, so it is not a torch.save checkpoint" : "zip holds more than one data.pkl");
        string prefix = pkls[0].FullName[..^"data.pkl".Length];
        var byteOrder = zip.GetEntry(prefix + "byteorder");
        if (byteOrder != null && ReadEntry(byteOrder, 16, path) is var bo && Encoding.ASCII.GetString(bo) != "little")
            throw new InvalidInputException(path, $"storages are '{Encoding.ASCII.GetString(bo)}'-endian; only little-endian checkpoints are supported");

        string where = $"{path}: {pkls[0].FullName}";
        var storages = new Dictionary<string, TorchPickle.StorageRef>(StringComparer.Ordinal);
        var root = TorchPickle.Load(ReadEntry(pkls[0], MaxPickleBytes, path), where, pid =>
        {
            var s = TorchPickle.ParseStoragePid(pid, where);
            if (storages.TryGetValue(s.Key, out var seen) && seen != s)
                throw new InvalidInputException(where, $"storage '{s.Key}' is declared twice with different types or sizes");
            var entry = zip.GetEntry($"{prefix}data/{s.Key}") ?? throw new InvalidInputException(where, $"storage '{s.Key}' has no entry {prefix}data/{s.Key} in the zip");
            long bytes = checked(s.Numel * SafeTensors.ElementSize(s.DType));
            if (entry.Length != bytes)
                throw new InvalidInputException(where, $"storage '{s.Key}' declares {s.Numel} {s.DType} elements ({bytes} bytes) but its zip entry holds {entry.Length} bytes");
            storages[s.Key] = s;
            return s;
        });
        if (root is not OrderedDictionary<object, object?> dict)
            throw new InvalidInputException(where, $"the pickle holds {TorchPickle.Describe(root)}, not a state dict");

        return BuildTensors(dict, where, storage =>
        {
            var entry = zip.GetEntry($"{prefix}data/{storage.Key}")!;
            return ReadEntry(entry, entry.Length, path);
        });
    }

    static readonly System.Numerics.BigInteger LegacyMagic = System.Numerics.BigInteger.Parse("1950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber);

    /// <summary>
    /// The pre-1.6 torch.save layout: five pickles back to back (magic number, protocol 1001, sys_info, the state
    /// dict, the sorted storage keys), then each storage in key order as [int64 element count][raw bytes].
    /// </summary>
    static Dictionary<string, Tensor> ReadLegacy(FileStream file, string path)
    {
        string where = $"{path} (legacy torch.save format)";
        var head = new byte[Math.Min(file.Length, MaxPickleBytes)]; // the pickles are small; storages follow them
        file.ReadExactly(head);
        int pos = 0;
        TorchPickle.StorageRef NoStorage(object?[] _) => throw new InvalidInputException(where, "persistent id outside the state dict");

        if (TorchPickle.Load(head, ref pos, where, NoStorage) is not System.Numerics.BigInteger m || m != LegacyMagic)
            throw new InvalidInputException(where, "wrong magic number: not a torch.save file");
        if (TorchPickle.Load(head, ref pos, where, NoStorage) is not 1001L)
            throw new InvalidInputException(where, "unsupported legacy protocol version (expected 1001)");
        if (TorchPickle.Load(head, ref pos, where, NoStorage) is not OrderedDictionary<object, object?> sysInfo || !sysInfo.TryGetValue("little_endian", out var little) || little is not true)
            throw new InvalidInputException(where, "sys_info does not say little_endian=True; only little-endian checkpoints are supported");

        var storages = new Dictionary<string, TorchPickle.StorageRef>(StringComparer.Ordinal);
        var root = TorchPickle.Load(head, ref pos, where, pid =>
        {
            if (pid.Length != 6 || pid[5] != null)
                throw new InvalidInputException(where, $"persistent id {TorchPickle.Describe(pid)} is not a plain storage (storage views are not supported)");
            var s = TorchPickle.ParseStoragePid(pid, where);
            if (storages.TryGetValue(s.Key, out var seen) && seen != s)
                throw new InvalidInputException(where, $"storage '{s.Key}' is declared twice with different types or sizes");
            return storages[s.Key] = s;
        });
        if (root is not OrderedDictionary<object, object?> dict)
            throw new InvalidInputException(where, $"the pickle holds {TorchPickle.Describe(root)}, not a state dict");
        if (TorchPickle.Load(head, ref pos, where, NoStorage) is not List<object?> keys)
            throw new InvalidInputException(where, "the storage key list is missing");

        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        long offset = pos;
        Span<byte> count = stackalloc byte[8];
        foreach (var k in keys)
        {
            if (k is not string key || !storages.TryGetValue(key, out var s))
                throw new InvalidInputException(where, $"storage key list names {TorchPickle.Describe(k)}, which no tensor uses");
            long bytes = checked(s.Numel * SafeTensors.ElementSize(s.DType));
            if (offset + 8 + bytes > file.Length)
                throw new InvalidInputException(where, $"storage '{key}' ({bytes} bytes at byte {offset + 8}) runs past the end of the file ({file.Length} bytes): truncated?");
            file.Position = offset;
            file.ReadExactly(count);
            long declared = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(count);
            if (declared != s.Numel)
                throw new InvalidInputException(where, $"storage '{key}' holds {declared} elements but the pickle declares {s.Numel}");
            offsets[key] = offset + 8;
            offset += 8 + bytes;
        }
        return BuildTensors(dict, where, s =>
        {
            if (!offsets.TryGetValue(s.Key, out long at)) throw new InvalidInputException(where, $"storage '{s.Key}' is not in the storage key list");
            long bytes = s.Numel * SafeTensors.ElementSize(s.DType);
            if (bytes > Array.MaxLength) throw new InvalidInputException(where, $"storage '{s.Key}' is {bytes} bytes, more than one read allows");
            var data = new byte[bytes];
            file.Position = at;
            file.ReadExactly(data);
            return data;
        });
    }

    /// <summary>Turns the unpickled state dict into tensors, reading each storage once through <paramref name="readStorage"/>.</summary>
    static Dictionary<string, Tensor> BuildTensors(OrderedDictionary<object, object?> dict, string where, Func<TorchPickle.StorageRef, byte[]> readStorage)
    {
        var uses = dict.Values.OfType<TorchPickle.TensorRef>().GroupBy(t => t.Storage.Key).ToDictionary(g => g.Key, g => g.Count());
        var loaded = new Dictionary<string, Tensor>(StringComparer.Ordinal); // storage key -> flat storage tensor
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, value) in dict)
            {
                if (key is not string name) throw new InvalidInputException(where, $"state dict key {TorchPickle.Describe(key)} is not a string");
                if (value is not TorchPickle.TensorRef t) throw new InvalidInputException($"{where}: '{name}'", $"value is {TorchPickle.Describe(value)}, not a tensor");
                CheckBounds(t, $"{where}: '{name}'");
                if (!loaded.TryGetValue(t.Storage.Key, out var storage))
                {
                    storage = SafeTensors.FromBytes(readStorage(t.Storage), t.Storage.DType, [t.Storage.Numel]);
                    loaded[t.Storage.Key] = storage;
                }
                if (uses[t.Storage.Key] == 1 && CoversWholeStorage(t))
                {
                    result[name] = storage.view(t.Size); // the usual case: no second copy of the weights
                    continue;
                }
                // Copy out of the strided view so tensors that shared a storage in Python stay independent here.
                using var view = storage.as_strided(t.Size, t.Stride, t.Offset);
                var owned = torch.empty(t.Size, t.Storage.DType);
                owned.copy_(view);
                result[name] = owned;
            }
        }
        catch
        {
            foreach (var x in result.Values) x.Dispose();
            throw;
        }
        finally
        {
            foreach (var s in loaded.Values) s.Dispose();
        }
        return result;
    }

    /// <summary>Every element of the strided view must lie inside its storage (no negative strides in torch).</summary>
    static void CheckBounds(TorchPickle.TensorRef t, string where)
    {
        string shape = $"size [{string.Join(", ", t.Size)}], stride [{string.Join(", ", t.Stride)}], offset {t.Offset}";
        if (t.Size.Length != t.Stride.Length) throw new InvalidInputException(where, $"{shape}: size and stride differ in length");
        if (t.Offset < 0 || t.Size.Any(s => s < 0) || t.Stride.Any(s => s < 0)) throw new InvalidInputException(where, $"{shape}: negative size, stride or offset");
        try
        {
            long numel = t.Size.Aggregate(1L, (a, b) => checked(a * b));
            long last = t.Offset;
            for (int i = 0; i < t.Size.Length; i++) last = checked(last + (t.Size[i] - 1) * t.Stride[i]);
            bool inside = numel == 0 ? t.Offset <= t.Storage.Numel : last < t.Storage.Numel;
            if (!inside) throw new InvalidInputException(where, $"{shape} reaches past the end of storage '{t.Storage.Key}' ({t.Storage.Numel} elements)");
        }
        catch (OverflowException) { throw new InvalidInputException(where, $"{shape} overflows"); }
    }

    /// <summary>True when the view is the whole storage in row-major order (dimensions of size 1 may have any stride).</summary>
    static bool CoversWholeStorage(TorchPickle.TensorRef t)
    {
        if (t.Offset != 0 || t.Size.Aggregate(1L, (a, b) => a * b) != t.Storage.Numel) return false;
        long expected = 1;
        for (int i = t.Size.Length - 1; i >= 0; i--)
        {
            if (t.Size[i] != 1 && t.Stride[i] != expected) return false;
            expected *= t.Size[i];
        }
        return true;
    }

    static byte[] ReadEntry(ZipArchiveEntry entry, long maxBytes, string path)
    {
        if (entry.Length > maxBytes || entry.Length > Array.MaxLength)
            throw new InvalidInputException(path, $"zip entry {entry.FullName} is {entry.Length} bytes, more than the {Math.Min(maxBytes, Array.MaxLength)} allowed");
        if (entry.Length > checked(entry.CompressedLength * MaxInflation + 4096))
            throw new InvalidInputException(path, $"zip entry {entry.FullName} claims {entry.Length} bytes from {entry.CompressedLength} compressed bytes");
        var bytes = new byte[entry.Length];
        using var stream = entry.Open();
        int n = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (n != bytes.Length) throw new InvalidInputException(path, $"zip entry {entry.FullName} is truncated: {n} of {entry.Length} bytes");
        return bytes;
    }
}
