using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stilts.Pipeline;

/// <summary>Where a task's data stream stands: the epoch and the next batch within it (its order is a function of the seed and epoch).</summary>
public sealed record DataCursor(int Epoch, int Batch);

/// <summary>
/// Everything besides tensors that a stage needs to continue exactly where it stopped: the optimizer-step counter,
/// each task's data cursor, the sampler's generator, early-stopping bookkeeping. Model and optimizer tensors sit
/// beside it in the same checkpoint folder. Dropout and masking draw from generators re-seeded from (seed, step),
/// so they need no state here.
/// </summary>
public sealed record TrainerState
{
    public string Stage { get; init; } = "";
    /// <summary>Optimizer steps done in this stage.</summary>
    public long Step { get; init; }
    public long TotalSteps { get; init; }
    public Dictionary<string, DataCursor> Cursors { get; init; } = [];
    public ulong[] SamplerState { get; init; } = [];
    /// <summary>The generator deciding MLM-vs-task steps when MLM is mixed in.</summary>
    public ulong[] MixState { get; init; } = [];
    public double? BestMetric { get; init; }
    public long BestStep { get; init; }
    public int EvalsWithoutImprovement { get; init; }
    public bool StoppedEarly { get; init; }
    public long ExamplesSeen { get; init; }

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static TrainerState FromFile(string path)
    {
        try { return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), Json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new InvalidInputException(path, $"not a trainer state: {e.Message}"); }
    }

    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());
}

/// <summary>
/// A folder that is replaced as a whole: files are written into a fresh sibling, which is then renamed into
/// place (rename of a directory is atomic on POSIX). The previous version is moved aside first and removed last, so
/// a kill at any moment leaves either the old or the new complete folder; <see cref="Resolve"/> finds it.
/// </summary>
public static class AtomicFolder
{
    public static void Write(string path, Action<string> write)
    {
        string full = Path.GetFullPath(path);
        string parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        string tmp = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        string old = full + ".old";
        Directory.CreateDirectory(tmp);
        try
        {
            write(tmp);
            File.WriteAllText(Path.Combine(tmp, ".complete"), "");
        }
        catch
        {
            try { Directory.Delete(tmp, true); } catch (IOException) { }
            throw;
        }
        if (Directory.Exists(full))
        {
            if (Directory.Exists(old)) Directory.Delete(old, true);
            Directory.Move(full, old);
        }
        Directory.Move(tmp, full);
        if (Directory.Exists(old)) Directory.Delete(old, true);
    }

    /// <summary>The complete folder at <paramref name="path"/>, or the old one a kill left aside, or null.</summary>
    public static string? Resolve(string path)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(Path.Combine(full, ".complete"))) return full;
        if (File.Exists(Path.Combine(full + ".old", ".complete"))) return full + ".old";
        return null;
    }

    /// <summary>Removes temp folders left by killed writers.</summary>
    public static void CleanUp(string path)
    {
        string full = Path.GetFullPath(path);
        string parent = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent)) return;
        foreach (var dir in Directory.GetDirectories(parent, Path.GetFileName(full) + ".tmp-*"))
            try { Directory.Delete(dir, true); } catch (IOException) { }
    }
}
