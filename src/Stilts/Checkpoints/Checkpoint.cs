using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Checkpoints;

/// <summary>
/// Hugging Face checkpoint folders: read a state dict from whatever weights a folder holds, load it strictly into a
/// TorchSharp module (HF's key conventions included), and save a folder the way save_pretrained does.
/// </summary>
public static class Checkpoint
{
    /// <summary>
    /// Reads the weights of an HF folder (plain, hub cache repo, or snapshot) onto the CPU, preferring
    /// model.safetensors, then sharded safetensors, then pytorch_model.bin (+ index). Floating-point tensors are
    /// converted to <paramref name="floatType"/> (fp16/bf16 checkpoints become fp32 by default); null keeps the stored dtypes.
    /// Integer tensors are never converted.
    /// </summary>
    public static Dictionary<string, Tensor> ReadStateDict(string folder, ScalarType? floatType = ScalarType.Float32)
    {
        var found = CheckpointFolder.Resolve(folder);
        var tensors = found.Format switch
        {
            WeightFormat.SafeTensors => SafeTensors.Read(found.WeightsFile),
            WeightFormat.ShardedSafeTensors => ReadSharded(found.WeightsFile, SafeTensors.Read),
            WeightFormat.PyTorchBin => PyTorchBin.Read(found.WeightsFile),
            WeightFormat.ShardedPyTorchBin => ReadSharded(found.WeightsFile, PyTorchBin.Read),
            _ => throw new ArgumentOutOfRangeException(nameof(folder)),
        };
        if (floatType is { } target)
            foreach (var name in tensors.Keys.ToList())
            {
                var t = tensors[name];
                if (!t.is_floating_point() || t.dtype == target) continue;
                tensors[name] = t.to_type(target);
                t.Dispose();
            }
        return tensors;
    }

    /// <summary>
    /// Reads a sharded checkpoint through its index ({"weight_map": {tensor: shard file}}): every shard once, and
    /// checks each tensor the index names is in the shard it names.
    /// </summary>
    public static Dictionary<string, Tensor> ReadSharded(string indexPath, Func<string, Dictionary<string, Tensor>> readShard)
    {
        var weightMap = ReadWeightMap(indexPath);
        string dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var shards = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var absent = shards.Where(s => !File.Exists(Path.Combine(dir, s))).ToList();
        if (absent.Count > 0) // before reading gigabytes of the others
            throw new InvalidInputException(indexPath, $"shard(s) named in weight_map are missing from {dir}: {string.Join(", ", absent)}");

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var source = new Dictionary<string, string>(StringComparer.Ordinal); // tensor -> the shard it was read from
        try
        {
            foreach (var shard in shards)
            {
                var part = readShard(Path.Combine(dir, shard));
                if (part.Keys.FirstOrDefault(result.ContainsKey) is { } twice)
                {
                    foreach (var t in part.Values) t.Dispose();
                    throw new InvalidInputException(Path.Combine(dir, shard), $"tensor '{twice}' is also in shard '{source[twice]}'");
                }
                foreach (var (name, t) in part) { result[name] = t; source[name] = shard; }
            }
            foreach (var (name, shard) in weightMap)
                if (!source.TryGetValue(name, out var actual) || actual != shard)
                    throw new InvalidInputException(indexPath, $"weight_map puts '{name}' in shard '{shard}', which does not hold it");
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        if (!File.Exists(indexPath)) throw new InvalidInputException(indexPath, "file not found");
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(indexPath)); }
        catch (JsonException e) { throw new InvalidInputException(indexPath, $"not valid JSON: {e.Message}"); }
        if (root?["weight_map"] is not JsonObject map) throw new InvalidInputException(indexPath, "expected an object with a \"weight_map\" object");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in map)
        {
            string shard = node is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new InvalidInputException($"{indexPath}: weight_map.{name}", "expected a shard file name");
            // Shards sit beside the index; a path here could read anything on disk.
            if (shard.Length == 0 || shard.IndexOfAny(['/', '\\']) >= 0 || shard is "." or "..")
                throw new InvalidInputException($"{indexPath}: weight_map.{name}", $"'{shard}' is not a plain file name in the checkpoint folder");
            result[name] = shard;
        }
        return result;
    }

    /// <summary>
    /// Copies <paramref name="weights"/> into the module's parameters and buffers, in place and without autograd,
    /// keeping the module's device and dtype. Keys are matched as HF's from_pretrained does (base-model prefix added
    /// or stripped, legacy LayerNorm gamma/beta renamed, ignore lists). Throws <see cref="InvalidInputException"/> on
    /// any shape mismatch and on missing keys the options do not allow; unexpected keys are only reported.
    /// </summary>
    public static LoadReport LoadInto(nn.Module model, IReadOnlyDictionary<string, Tensor> weights, LoadOptions? options = null)
    {
        options ??= new LoadOptions();
        var target = model.state_dict();
        var prefixes = options.BaseModelPrefix is { } p ? [p] : LoadOptions.KnownPrefixes;
        // Matching sees the keys under KeyPrefix with it stripped; reports and errors keep the checkpoint's own keys.
        var inScope = options.KeyPrefix is { } scope
            ? weights.Keys.Where(k => k.StartsWith(scope + ".", StringComparison.Ordinal)).Select(k => (Local: k[(scope.Length + 1)..], Key: k))
            : weights.Keys.Select(k => (Local: k, Key: k));

        var assigned = new Dictionary<string, string>(StringComparer.Ordinal); // model key -> checkpoint key
        var unexpected = new List<string>();
        var ignored = new List<string>();
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (local, key) in inScope)
        {
            string? modelKey = Candidates(local, prefixes).FirstOrDefault(target.ContainsKey);
            if (modelKey == null)
            {
                (LoadOptions.Matches(options.IgnoreUnexpected, local) ? ignored : unexpected).Add(key);
                continue;
            }
            if (assigned.TryGetValue(modelKey, out var other))
                throw new InvalidInputException(key, $"checkpoint keys '{other}' and '{key}' both map to model key '{modelKey}'");
            assigned[modelKey] = key;
            if (modelKey != local) renamed[key] = modelKey;
        }

        var tied = new Dictionary<string, string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var modelKey in target.Keys.Where(k => !assigned.ContainsKey(k)))
        {
            if (options.Tied.TryGetValue(modelKey, out var partner) && assigned.ContainsKey(partner))
                tied[modelKey] = partner;
            else if (LoadOptions.Matches(options.IgnoreMissing, modelKey)) ignored.Add(modelKey);
            else missing.Add(modelKey);
        }
        var forbidden = missing.Where(k => !LoadOptions.Matches(options.AllowMissing, k)).ToList();
        if (forbidden.Count > 0)
            throw new InvalidInputException("checkpoint", $"{forbidden.Count} model weight(s) missing from the checkpoint: {string.Join(", ", forbidden.Take(20))}{(forbidden.Count > 20 ? ", ..." : "")}");

        var copies = assigned.Select(a => (ModelKey: a.Key, CheckpointKey: a.Value))
            .Concat(tied.Select(t => (ModelKey: t.Key, CheckpointKey: assigned[t.Value]))).ToList();
        foreach (var (modelKey, ckptKey) in copies) // check every shape before changing anything
        {
            var (have, want) = (weights[ckptKey].shape, target[modelKey].shape);
            if (!have.SequenceEqual(want))
                throw new InvalidInputException(ckptKey, $"checkpoint shape [{string.Join(", ", have)}] does not match model key '{modelKey}' shape [{string.Join(", ", want)}]");
        }
        using (torch.no_grad())
            foreach (var (modelKey, ckptKey) in copies)
                target[modelKey].copy_(weights[ckptKey]); // copy_ converts dtype and device to the module's

        return new LoadReport(assigned.Keys.Concat(tied.Keys).ToList(), missing, unexpected, ignored, renamed, tied);
    }

    /// <summary>
    /// Reads the weights of an HF folder and loads them into <paramref name="model"/> (see <see cref="LoadInto"/>);
    /// the CPU copies are freed afterwards. Errors name the folder.
    /// </summary>
    public static LoadReport Load(nn.Module model, string folder, LoadOptions? options = null)
    {
        var weights = ReadStateDict(folder, floatType: null); // copy_ converts to the module's dtype directly
        return LoadAndFree(model, weights, options, folder);
    }

    /// <summary>
    /// Reads one safetensors file (e.g. a heads file beside an HF folder) and loads it into <paramref name="model"/>
    /// (see <see cref="LoadInto"/>); the CPU copies are freed afterwards. Errors name the file.
    /// </summary>
    public static LoadReport LoadFile(nn.Module model, string safetensorsPath, LoadOptions? options = null) =>
        LoadAndFree(model, SafeTensors.Read(safetensorsPath), options, safetensorsPath);

    static LoadReport LoadAndFree(nn.Module model, Dictionary<string, Tensor> weights, LoadOptions? options, string source)
    {
        try { return LoadInto(model, weights, options); }
        catch (InvalidInputException e) { throw new InvalidInputException($"{source}: {e.Where}", e.Message[(e.Where.Length + 2)..], e); }
        finally { foreach (var t in weights.Values) t.Dispose(); }
    }

    /// <summary>The key itself, its legacy-renamed form, then with each base-model prefix stripped or added.</summary>
    static IEnumerable<string> Candidates(string key, IReadOnlyList<string> prefixes)
    {
        foreach (var k in key.EndsWith(".gamma") || key.EndsWith(".beta")
                     ? [key, key.EndsWith(".gamma") ? key[..^6] + ".weight" : key[..^5] + ".bias"] // TF-era LayerNorm names
                     : new[] { key })
        {
            yield return k;
            foreach (var p in prefixes)
                yield return k.StartsWith(p + ".", StringComparison.Ordinal) ? k[(p.Length + 1)..] : $"{p}.{k}";
        }
    }

    /// <summary>Saves a module's state dict as an HF folder; see the state-dict overload.</summary>
    public static void SaveFolder(string dir, nn.Module model, string configJson, IEnumerable<string>? tokenizerFiles = null, long? maxShardBytes = null) =>
        SaveFolder(dir, model.state_dict(), configJson, tokenizerFiles, maxShardBytes);

    /// <summary>
    /// Writes config.json, model.safetensors (or shards of at most <paramref name="maxShardBytes"/> plus an index)
    /// and copies of the tokenizer files into <paramref name="dir"/>. Everything is written into a sibling temp
    /// folder first and renamed into place, so <paramref name="dir"/> never holds half a checkpoint.
    /// </summary>
    public static void SaveFolder(string dir, IReadOnlyDictionary<string, Tensor> stateDict, string configJson, IEnumerable<string>? tokenizerFiles = null, long? maxShardBytes = null)
    {
        try { if (JsonNode.Parse(configJson) is not JsonObject) throw new JsonException("not a JSON object"); }
        catch (JsonException e) { throw new InvalidInputException("config.json", $"config to save is not a JSON object: {e.Message}"); }
        var files = (tokenizerFiles ?? []).ToList();
        foreach (var f in files)
        {
            if (!File.Exists(f)) throw new InvalidInputException(f, "tokenizer file to copy not found");
            if (Path.GetFileName(f) is "config.json" || Path.GetFileName(f).EndsWith(".safetensors") || Path.GetFileName(f).EndsWith(".index.json"))
                throw new InvalidInputException(f, "a tokenizer file may not overwrite the config or the weights");
        }

        string full = Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = $"{full}.tmp-{Guid.NewGuid():N}";
        Directory.CreateDirectory(tmp);
        try
        {
            AtomicFile.WriteAllText(Path.Combine(tmp, "config.json"), configJson);
            if (maxShardBytes is { } max) SafeTensors.WriteSharded(tmp, stateDict, max);
            else SafeTensors.Write(Path.Combine(tmp, CheckpointFolder.SafeTensorsName), stateDict);
            foreach (var f in files) File.Copy(f, Path.Combine(tmp, Path.GetFileName(f)), overwrite: true);

            // Swap the finished folder in: the old one (if any) is moved aside first, then dropped.
            string? old = null;
            if (Directory.Exists(full)) { old = $"{full}.old-{Guid.NewGuid():N}"; Directory.Move(full, old); }
            try { Directory.Move(tmp, full); }
            catch when (old != null) { Directory.Move(old, full); throw; } // put the last good folder back
            if (old != null) Directory.Delete(old, recursive: true);
        }
        catch
        {
            try { Directory.Delete(tmp, recursive: true); } catch (IOException) { }
            throw;
        }
    }
}
