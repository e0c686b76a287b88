namespace Stilts.Checkpoints;

/// <summary>How the weights of a checkpoint folder are stored, in the order <see cref="CheckpointFolder.Resolve"/> prefers them.</summary>
public enum WeightFormat
{
    SafeTensors,
    ShardedSafeTensors,
    PyTorchBin,
    ShardedPyTorchBin,
}

/// <summary>
/// A Hugging Face model folder with its weights located: a plain folder (what save_pretrained writes), a hub cache
/// repo folder (<c>models--org--name</c> with <c>refs/main</c> and <c>snapshots/&lt;rev&gt;</c>), or one snapshot.
/// </summary>
public sealed record CheckpointFolder(string Directory, WeightFormat Format, string WeightsFile)
{
    public const string SafeTensorsName = "model.safetensors";
    public const string SafeTensorsIndexName = "model.safetensors.index.json";
    public const string PyTorchBinName = "pytorch_model.bin";
    public const string PyTorchBinIndexName = "pytorch_model.bin.index.json";

    static readonly (string File, WeightFormat Format)[] Candidates =
    [
        (SafeTensorsName, WeightFormat.SafeTensors),
        (SafeTensorsIndexName, WeightFormat.ShardedSafeTensors),
        (PyTorchBinName, WeightFormat.PyTorchBin),
        (PyTorchBinIndexName, WeightFormat.ShardedPyTorchBin),
    ];

    /// <summary>Whether the folder itself holds weights in any supported format (a config-only folder, e.g. to train from scratch, does not).</summary>
    public static bool HasWeights(string dir) => TryWeights(Path.GetFullPath(dir)) != null;

    /// <summary>config.json of the folder (it may not exist; callers that need it check).</summary>
    public string ConfigPath => Path.Combine(Directory, "config.json");

    /// <summary>Finds the weights under <paramref name="path"/>, following an HF cache layout to its snapshot.</summary>
    public static CheckpointFolder Resolve(string path)
    {
        string dir = Path.GetFullPath(path);
        if (File.Exists(dir)) throw new InvalidInputException(path, "is a file; expected the checkpoint folder that holds it");
        if (!System.IO.Directory.Exists(dir)) throw new InvalidInputException(path, "checkpoint folder not found");
        if (TryWeights(dir) is { } direct) return direct;

        string snapshots = Path.Combine(dir, "snapshots");
        if (System.IO.Directory.Exists(snapshots))
        {
            string? snapshot = PickSnapshot(dir, snapshots);
            if (snapshot != null && TryWeights(snapshot) is { } cached) return cached;
        }
        throw new InvalidInputException(path,
            $"no loadable checkpoint: looked for {string.Join(", ", Candidates.Select(c => c.File))} in the folder, " +
            "and for an HF cache layout (refs/main naming a snapshots/<revision> folder holding one of them)");
    }

    /// <summary>
    /// The folder that holds a checkpoint's files (the snapshot of an HF cache layout, else the folder itself),
    /// without requiring weights there: what tokenizer-only commands need.
    /// </summary>
    public static string ResolveDirectory(string path)
    {
        string dir = Path.GetFullPath(path);
        if (!System.IO.Directory.Exists(dir)) throw new InvalidInputException(path, "folder not found");
        string snapshots = Path.Combine(dir, "snapshots");
        if (!File.Exists(Path.Combine(dir, "config.json")) && System.IO.Directory.Exists(snapshots) && PickSnapshot(dir, snapshots) is { } snapshot)
            return snapshot;
        return dir;
    }

    static CheckpointFolder? TryWeights(string dir)
    {
        foreach (var (file, format) in Candidates)
        {
            string full = Path.Combine(dir, file);
            if (File.Exists(full)) return new CheckpointFolder(dir, format, full); // File.Exists follows the cache's blob symlinks
        }
        return null;
    }

    /// <summary>The revision refs/main names; without refs/main, the only snapshot there is.</summary>
    static string? PickSnapshot(string repo, string snapshots)
    {
        string refMain = Path.Combine(repo, "refs", "main");
        if (File.Exists(refMain))
        {
            string rev = File.ReadAllText(refMain).Trim();
            if (rev.Length == 0 || rev.IndexOfAny(['/', '\\']) >= 0 || rev == "..")
                throw new InvalidInputException(refMain, $"expected a revision hash, found '{rev}'");
            string snapshot = Path.Combine(snapshots, rev);
            if (!System.IO.Directory.Exists(snapshot)) throw new InvalidInputException(refMain, $"names revision {rev}, but {snapshot} does not exist");
            return snapshot;
        }
        var all = System.IO.Directory.GetDirectories(snapshots);
        return all.Length == 1 ? all[0] : null;
    }
}
