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
/// </summary>
public static class PyTorchBin
{
    const long MaxPickleBytes = 256L << 20; // a state-dict pickle is kilobytes; anything this big is not one
    const long MaxInflation = 1100; // deflate cannot expand more than ~1032:1, so a larger claim is a zip bomb

    /// <summary>Reads every tensor onto the CPU in its stored dtype, as contiguous tensors that own their memory.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "file not found");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[4];
        int got = file.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        if (got < 4 || magic[0] != 'P' || magic[1] != 'K')
        {
            bool legacy = got >= 3 && magic[0] == 0x80 && magic[2] == 0x8a; // PROTO n, LONG1 <torch magic number>
            throw new InvalidInputException(path, legacy
                ? "legacy (pre-PyTorch 1.6) torch.save format is not supported; re-save it with a current torch.save, or convert it to safetensors"
                : "not a PyTorch zip checkpoint (expected a zip archive holding data.pkl)");
        }
        file.Position = 0;
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
                    var entry = zip.GetEntry($"{prefix}data/{t.Storage.Key}")!;
                    storage = SafeTensors.FromBytes(ReadEntry(entry, entry.Length, path), t.Storage.DType, [t.Storage.Numel]);
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
