using System.IO.MemoryMappedFiles;
using System.Security.Cryptography;
using Utf8 = System.Text.Encoding;
using System.Text.Json;
using Stilts.Tokenization;

namespace Stilts.Pipeline;

/// <summary>What a cached set of featurized rows depends on. The data path is part of it so translated copies of a task get their own entry.</summary>
/// <param name="Variant">Settings beyond max length that change the rows (QA stride, text-to-text form, a learned label set).</param>
public sealed record CacheKey(string Task, string Split, string Language, string DataPath, string TokenizerFingerprint, int MaxLength, string Variant = "")
{
    public string FolderName
    {
        get
        {
            string full = $"{Task}|{Split}|{Language}|{Path.GetFullPath(DataPath)}|{TokenizerFingerprint}|{MaxLength}" + (Variant.Length > 0 ? "|" + Variant : "");
            string hash = Convert.ToHexString(SHA256.HashData(Utf8.UTF8.GetBytes(full)))[..16].ToLowerInvariant();
            return $"{Task}-{Split}-{Language}-{MaxLength}-{hash}";
        }
    }
}

/// <summary>
/// Tokenize-once cache. Each featurized row is a few int arrays (ids, mask, type ids, labels ...); rows are stored
/// in binary chunk files of <see cref="RowsPerChunk"/> rows with an offset index, so a million-example task is read
/// from memory-mapped files instead of sitting in memory. An entry is built in a temp folder and renamed into place,
/// so a half-built entry is never read, and concurrent runs at worst build it twice.
/// </summary>
public sealed class FeatureCache(string root, int rowsPerChunk = 50_000)
{
    public int RowsPerChunk { get; } = rowsPerChunk > 0 ? rowsPerChunk : throw new ArgumentOutOfRangeException(nameof(rowsPerChunk));
    public string Root { get; } = root;

    /// <summary>
    /// A tokenizer's identity for cache keys: its family, sizes and every vocabulary entry, hashed. Two tokenizers
    /// with the same fingerprint produce the same ids.
    /// </summary>
    public static string Fingerprint(TextTokenizer tokenizer)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Utf8.UTF8.GetBytes($"{tokenizer.Kind}|{tokenizer.VocabSize}|{tokenizer.ModelMaxLength}|{tokenizer.Special}\n"));
        for (int i = 0; i < tokenizer.VocabSize; i++) sha.AppendData(Utf8.UTF8.GetBytes(tokenizer.IdToToken(i) + "\n"));
        // The vocabulary alone misses normalization options (lower-casing, accents): a probe text catches them.
        var probe = tokenizer.Tokenize("Stilts Ünïcode CASE 123 naïve – テスト");
        sha.AppendData(Utf8.UTF8.GetBytes(string.Join(",", probe.Ids)));
        return Convert.ToHexString(sha.GetHashAndReset())[..20].ToLowerInvariant();
    }

    public bool Contains(CacheKey key) => File.Exists(Path.Combine(Root, key.FolderName, "index.json"));

    /// <summary>The cached rows for <paramref name="key"/>, produced (once) by <paramref name="produce"/> when absent.</summary>
    public CachedRows GetOrCreate(CacheKey key, Func<IEnumerable<int[][]>> produce)
    {
        string folder = Path.Combine(Root, key.FolderName);
        if (!Contains(key)) Build(folder, key, produce(), RowsPerChunk);
        return CachedRows.Open(folder);
    }

    static void Build(string folder, CacheKey key, IEnumerable<int[][]> rows, int rowsPerChunk)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
        string tmp = $"{folder}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(tmp);
        try
        {
            var offsets = new List<long>();
            var lengths = new List<int>();
            int chunk = 0;
            FileStream? stream = null;
            BinaryWriter? writer = null;
            foreach (var row in rows)
            {
                if (offsets.Count % rowsPerChunk == 0)
                {
                    writer?.Dispose();
                    stream = new FileStream(Path.Combine(tmp, $"chunk-{chunk++:D5}.bin"), FileMode.CreateNew);
                    writer = new BinaryWriter(stream);
                }
                offsets.Add(stream!.Position);
                lengths.Add(row.Length == 0 ? 0 : row[0].Length);
                writer!.Write(row.Length);
                foreach (var field in row)
                {
                    writer.Write(field.Length);
                    foreach (int v in field) writer.Write(v);
                }
            }
            writer?.Dispose();
            WriteInts(Path.Combine(tmp, "offsets.bin"), offsets.Select(o => checked((int)o)));
            WriteInts(Path.Combine(tmp, "lengths.bin"), lengths);
            File.WriteAllText(Path.Combine(tmp, "index.json"), JsonSerializer.Serialize(new CacheIndex(key, offsets.Count, rowsPerChunk)));
            try { Directory.Move(tmp, folder); }
            catch (IOException) when (File.Exists(Path.Combine(folder, "index.json"))) { Directory.Delete(tmp, true); } // another run built it first
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
            throw;
        }
    }

    static void WriteInts(string path, IEnumerable<int> values)
    {
        using var w = new BinaryWriter(new FileStream(path, FileMode.CreateNew));
        foreach (int v in values) w.Write(v);
    }

    internal sealed record CacheIndex(CacheKey Key, int Count, int RowsPerChunk);
}

/// <summary>Random access to cached rows; <see cref="Lengths"/> (first field, i.e. the ids) is in memory for length-grouped batching.</summary>
public sealed class CachedRows : IDisposable
{
    readonly MemoryMappedFile[] _chunks;
    readonly MemoryMappedViewAccessor[] _views;
    readonly int[] _offsets;
    readonly int _rowsPerChunk;

    public int Count { get; }
    public int[] Lengths { get; }

    CachedRows(MemoryMappedFile[] chunks, int[] offsets, int[] lengths, int rowsPerChunk)
    {
        _chunks = chunks;
        _views = chunks.Select(c => c.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read)).ToArray();
        _offsets = offsets;
        _rowsPerChunk = rowsPerChunk;
        Lengths = lengths;
        Count = offsets.Length;
    }

    internal static CachedRows Open(string folder)
    {
        string indexPath = Path.Combine(folder, "index.json");
        var index = JsonSerializer.Deserialize<FeatureCache.CacheIndex>(File.ReadAllText(indexPath))
            ?? throw new InvalidInputException(indexPath, "empty cache index");
        var offsets = ReadInts(Path.Combine(folder, "offsets.bin"));
        var lengths = ReadInts(Path.Combine(folder, "lengths.bin"));
        if (offsets.Length != index.Count || lengths.Length != index.Count)
            throw new InvalidInputException(folder, $"cache index says {index.Count} rows but the offset files disagree; delete the folder");
        var chunks = Directory.GetFiles(folder, "chunk-*.bin").Order(StringComparer.Ordinal)
            .Where(f => new FileInfo(f).Length > 0)
            .Select(f => MemoryMappedFile.CreateFromFile(f, FileMode.Open, null, 0, MemoryMappedFileAccess.Read)).ToArray();
        return new CachedRows(chunks, offsets, lengths, index.RowsPerChunk);
    }

    static int[] ReadInts(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new int[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, values.Length * 4);
        return values;
    }

    public int[][] this[int index]
    {
        get
        {
            var view = _views[index / _rowsPerChunk];
            long pos = _offsets[index];
            int fields = view.ReadInt32(pos); pos += 4;
            var row = new int[fields][];
            for (int f = 0; f < fields; f++)
            {
                int n = view.ReadInt32(pos); pos += 4;
                row[f] = new int[n];
                view.ReadArray(pos, row[f], 0, n);
                pos += 4L * n;
            }
            return row;
        }
    }

    public void Dispose()
    {
        foreach (var v in _views) v.Dispose();
        foreach (var c in _chunks) c.Dispose();
    }
}
