using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Stilts.Models;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Stilts.Studies;

/// <summary>A pretrained model of a study. Size and Multilingual drive the report's comparison sections.</summary>
public sealed record StudyModel(string Name, string Path, string? Size, bool Multilingual);

/// <summary>
/// The study's `inference:` block: after training, `stilts run` benchmarks every finished target run's model with
/// these settings (see <see cref="StudyBenchmark"/>). Encoders time a forward pass; mT5 a fixed-length generation.
/// </summary>
public sealed record StudyInference
{
    public IReadOnlyList<int> BatchSizes { get; init; } = [1, 8, 32];
    public IReadOnlyList<int> SeqLens { get; init; } = [64, 128, 256];
    public int GenerationLength { get; init; } = 16;
    public int Warmup { get; init; } = 3;
    public int Iterations { get; init; } = 20;
    public DeviceChoice Device { get; init; } = DeviceChoice.Cpu;
    /// <summary>libtorch intra-op threads while benchmarking (null = libtorch's default).</summary>
    public int? Threads { get; init; }
    /// <summary>
    /// `data: test|dev`: also time each run on its target's real examples of that split, with its evaluation's
    /// settings (max_seq_len, max_new_tokens, constrain_to_labels, languages); see <see cref="Inference.TaskInferenceBenchmark"/>.
    /// </summary>
    public Tasks.Split? Data { get; init; }
    /// <summary>`examples: N`: at most N examples per language in the task-data measurement.</summary>
    public int? Examples { get; init; }
}

/// <summary>How a regime trains before the target: nothing (baseline), one stage, a chain, or a joint mixture.</summary>
public enum RegimeKind { Baseline, Single, Sequential, Joint }

/// <summary>
/// An intermediate regime: its stages as written in the study file (each a mapping the pipeline's stage parser
/// reads: task / tasks + sampler / mlm ...). Stages are kept as canonical JSON so the plan hash sees every edit.
/// </summary>
public sealed record StudyRegime(string Name, RegimeKind Kind, IReadOnlyList<string> StageJson, IReadOnlyList<string> Tasks);

/// <summary>
/// The study: models x regimes x targets x seeds. OverridesJson holds run-level settings for every run (device,
/// data_dir, log_every ...), StageDefaultsJson stage settings every stage starts from (lr, batch_size, epochs ...),
/// and TargetJson per target the settings of its fine-tuning stage and evaluation (data, eval_data, languages ...).
/// </summary>
public sealed record StudyFile(
    string Name, string SourcePath, string OutputDir, string ResultsPath,
    IReadOnlyList<StudyModel> Models, IReadOnlyList<StudyRegime> Regimes, IReadOnlyList<string> Targets,
    IReadOnlyList<int> Seeds, string OverridesJson, string StageDefaultsJson, IReadOnlyDictionary<string, string> TargetJson)
{
    public string Folder => System.IO.Path.GetDirectoryName(SourcePath)!;

    /// <summary>The `inference:` block, or null when the study does not benchmark its runs.</summary>
    public StudyInference? Inference { get; init; }

    /// <summary>
    /// Reads and type-checks a study YAML. Errors name the file, the key path and what was expected.
    /// <code>
    /// name: tiny
    /// output: runs            # relative to the study file; default: &lt;name&gt;-runs
    /// results: results.db     # default: &lt;output&gt;/results.db
    /// models: [{name: xlmr-base, path: /models/xlmr-base, size: base, multilingual: true}]
    /// regimes:
    ///   - name: baseline                       # no stages
    ///   - {name: mnli, stages: [{task: mnli}]}
    ///   - {name: mnli-then-squad, stages: [{task: mnli}, {task: squad_v1}]}
    ///   - {name: joint, stages: [{tasks: [mnli, squad_v1], sampler: proportional}]}
    /// targets: [xnli, {task: udpos, data: data/udpos, epochs: 10}]
    /// seeds: [1, 2]
    /// overrides: {device: auto}               # run-level settings of every run
    /// stage_defaults: {lr: 1e-5, batch_size: 4, grad_accumulation: 8}
    /// inference: {batch_sizes: [1, 8], seq_lens: [128], generation_length: 16, warmup: 3, iterations: 20, device: cpu, threads: 4}
    /// </code>
    /// </summary>
    public static StudyFile Load(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "study file not found");
        YamlMappingNode root;
        try
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(path)) stream.Load(reader);
            root = stream.Documents.Count == 1 && stream.Documents[0].RootNode is YamlMappingNode m
                ? m : throw new InvalidInputException(path, "expected one YAML document holding a mapping");
        }
        catch (YamlException e) { throw new InvalidInputException($"{path}:{e.Start.Line}", $"invalid YAML: {e.Message}"); }

        var known = new HashSet<string> { "name", "output", "results", "models", "regimes", "targets", "seeds", "overrides", "stage_defaults", "inference" };
        foreach (var key in root.Children.Keys.Select(k => k.ToString()))
            if (!known.Contains(key)) throw new InvalidInputException($"{path}: {key}", $"unknown key (expected one of {string.Join(", ", known)})");

        string name = Scalar(root, "name", path) ?? throw new InvalidInputException($"{path}: name", "required");
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        string output = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, Scalar(root, "output", path) ?? $"{name}-runs"));
        string results = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, Scalar(root, "results", path) ?? System.IO.Path.Combine(output, "results.db")));

        var models = Sequence(root, "models", path, required: true).Select((n, i) => ParseModel(n, $"{path}: models[{i}]", dir)).ToList();
        var regimes = root.Children.ContainsKey("regimes")
            ? Sequence(root, "regimes", path, required: true).Select((n, i) => ParseRegime(n, $"{path}: regimes[{i}]")).ToList()
            : [new StudyRegime("baseline", RegimeKind.Baseline, [], [])];
        var targetJson = new Dictionary<string, string>();
        var targets = Sequence(root, "targets", path, required: true).Select((n, i) =>
        {
            if (n is YamlScalarNode) { string t = ScalarOf(n, $"{path}: targets[{i}]"); targetJson[t] = "{}"; return t; }
            if (n is not YamlMappingNode tm) throw new InvalidInputException($"{path}: targets[{i}]", "expected a task name or a mapping {task: .., ...}");
            string task = Scalar(tm, "task", $"{path}: targets[{i}]") ?? throw new InvalidInputException($"{path}: targets[{i}].task", "required");
            targetJson[task] = ToJson(tm);
            return task;
        }).ToList();
        var seeds = root.Children.ContainsKey("seeds")
            ? Sequence(root, "seeds", path, required: true).Select((n, i) => int.TryParse(ScalarOf(n, $"{path}: seeds[{i}]"), out int s)
                ? s : throw new InvalidInputException($"{path}: seeds[{i}]", "expected an integer")).ToList()
            : [1];

        Unique(models.Select(m => m.Name), $"{path}: models", "model name");
        Unique(regimes.Select(r => r.Name), $"{path}: regimes", "regime name");
        Unique(targets, $"{path}: targets", "target");
        Unique(seeds.Select(s => s.ToString()), $"{path}: seeds", "seed");
        if (regimes.Count(r => r.Kind == RegimeKind.Baseline) > 1) throw new InvalidInputException($"{path}: regimes", "at most one baseline regime (no stages)");

        string overrides = Mapping(root, "overrides", path);
        string stageDefaults = Mapping(root, "stage_defaults", path);
        var inference = root.Children.TryGetValue(new YamlScalarNode("inference"), out var inf) ? ParseInference(inf, $"{path}: inference") : null;
        return new StudyFile(name, System.IO.Path.GetFullPath(path), output, results, models, regimes, targets, seeds, overrides, stageDefaults, targetJson)
        {
            Inference = inference,
        };
    }

    static StudyInference ParseInference(YamlNode node, string where)
    {
        if (node is not YamlMappingNode m) throw new InvalidInputException(where, "expected a mapping {batch_sizes, seq_lens, generation_length, warmup, iterations, device, threads, data, examples}");
        var known = new HashSet<string> { "batch_sizes", "seq_lens", "generation_length", "warmup", "iterations", "device", "threads", "data", "examples" };
        foreach (var key in m.Children.Keys.Select(k => k.ToString()))
            if (!known.Contains(key)) throw new InvalidInputException($"{where}.{key}", $"unknown key (expected one of {string.Join(", ", known)})");
        int Int(string key, int fallback, int min)
        {
            if (Scalar(m, key, where) is not { } text) return fallback;
            return int.TryParse(text, out int v) && v >= min ? v : throw new InvalidInputException($"{where}.{key}", $"expected an integer >= {min}, got '{text}'");
        }
        IReadOnlyList<int>? Ints(string key)
        {
            if (!m.Children.TryGetValue(new YamlScalarNode(key), out var v)) return null;
            var items = v is YamlSequenceNode seq ? seq.Children.ToList() : [v]; // "seq_lens: 128" is a list of one
            if (items.Count == 0) throw new InvalidInputException($"{where}.{key}", "must not be empty");
            return items.Select((n, i) => int.TryParse(ScalarOf(n, $"{where}.{key}[{i}]"), out int x) && x >= 1
                ? x : throw new InvalidInputException($"{where}.{key}[{i}]", "expected a positive integer")).ToList();
        }
        var defaults = new StudyInference();
        DeviceChoice device = defaults.Device;
        if (Scalar(m, "device", where) is { } d && (!Enum.TryParse(d, ignoreCase: true, out device) || !Enum.IsDefined(device)))
            throw new InvalidInputException($"{where}.device", $"expected cpu, cuda or auto, got '{d}'");
        Tasks.Split? data = Scalar(m, "data", where) switch
        {
            null => null,
            "test" => Tasks.Split.Test,
            "dev" => Tasks.Split.Dev,
            var other => throw new InvalidInputException($"{where}.data", $"expected test or dev, got '{other}'"),
        };
        return new StudyInference
        {
            BatchSizes = Ints("batch_sizes") ?? defaults.BatchSizes,
            SeqLens = Ints("seq_lens") ?? defaults.SeqLens,
            GenerationLength = Int("generation_length", defaults.GenerationLength, 1),
            Warmup = Int("warmup", defaults.Warmup, 0),
            Iterations = Int("iterations", defaults.Iterations, 1),
            Device = device,
            Threads = Scalar(m, "threads", where) is null ? null : Int("threads", 0, 1),
            Data = data,
            Examples = Scalar(m, "examples", where) is null ? null : Int("examples", 0, 1),
        };
    }

    static StudyModel ParseModel(YamlNode node, string where, string dir)
    {
        if (node is not YamlMappingNode m) throw new InvalidInputException(where, "expected a mapping {name, path, size?, multilingual?}");
        string name = Scalar(m, "name", where) ?? throw new InvalidInputException($"{where}.name", "required");
        string p = Scalar(m, "path", where) ?? throw new InvalidInputException($"{where}.path", "required");
        string multi = Scalar(m, "multilingual", where) ?? "true";
        if (!bool.TryParse(multi, out bool multilingual)) throw new InvalidInputException($"{where}.multilingual", $"expected true or false, got '{multi}'");
        return new StudyModel(name, System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, p)), Scalar(m, "size", where), multilingual);
    }

    static StudyRegime ParseRegime(YamlNode node, string where)
    {
        if (node is YamlScalarNode s) return new StudyRegime(s.Value!, RegimeKind.Baseline, [], []); // "- baseline"
        if (node is not YamlMappingNode m) throw new InvalidInputException(where, "expected a mapping {name, stages}");
        string name = Scalar(m, "name", where) ?? throw new InvalidInputException($"{where}.name", "required");
        var stages = m.Children.TryGetValue(new YamlScalarNode("stages"), out var st)
            ? (st as YamlSequenceNode ?? throw new InvalidInputException($"{where}.stages", "expected a list of stages")).Children.ToList()
            : [];
        var tasks = new List<string>();
        bool joint = false;
        for (int i = 0; i < stages.Count; i++)
        {
            if (stages[i] is not YamlMappingNode sm) throw new InvalidInputException($"{where}.stages[{i}]", "expected a mapping (task: X, or tasks: [X, Y])");
            if (Scalar(sm, "task", where) is { } t) tasks.Add(t);
            else if (sm.Children.TryGetValue(new YamlScalarNode("tasks"), out var ts) && ts is YamlSequenceNode seq)
            {
                joint = true;
                tasks.AddRange(seq.Children.Select((c, j) => c is YamlMappingNode cm
                    ? Scalar(cm, "task", $"{where}.stages[{i}].tasks[{j}]") ?? throw new InvalidInputException($"{where}.stages[{i}].tasks[{j}].task", "required")
                    : ScalarOf(c, $"{where}.stages[{i}].tasks[{j}]")));
            }
            else if (Scalar(sm, "mlm", where) is null) throw new InvalidInputException($"{where}.stages[{i}]", "needs 'task', 'tasks' or 'mlm'");
        }
        var kind = stages.Count == 0 ? RegimeKind.Baseline : joint ? RegimeKind.Joint : stages.Count > 1 ? RegimeKind.Sequential : RegimeKind.Single;
        return new StudyRegime(name, kind, stages.Select(ToJson).ToList(), tasks);
    }

    static string Mapping(YamlMappingNode root, string key, string path)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode(key), out var node)) return "{}";
        return node is YamlMappingNode ? ToJson(node) : throw new InvalidInputException($"{path}: {key}", "expected a mapping of settings");
    }

    static string? Scalar(YamlMappingNode m, string key, string where)
    {
        if (!m.Children.TryGetValue(new YamlScalarNode(key), out var v)) return null;
        return ScalarOf(v, $"{where}: {key}");
    }

    static string ScalarOf(YamlNode n, string where) =>
        n is YamlScalarNode s && s.Value != null ? s.Value : throw new InvalidInputException(where, "expected a single value");

    static IEnumerable<YamlNode> Sequence(YamlMappingNode m, string key, string path, bool required)
    {
        if (!m.Children.TryGetValue(new YamlScalarNode(key), out var v))
            return required ? throw new InvalidInputException($"{path}: {key}", "required") : [];
        var seq = v as YamlSequenceNode ?? throw new InvalidInputException($"{path}: {key}", "expected a list");
        if (seq.Children.Count == 0) throw new InvalidInputException($"{path}: {key}", "must not be empty");
        return seq.Children;
    }

    static void Unique(IEnumerable<string> items, string where, string what)
    {
        var dup = items.GroupBy(x => x).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new InvalidInputException(where, $"{what} '{dup.Key}' appears twice");
    }

    /// <summary>Canonical JSON of a YAML node (keys sorted) so equal content always hashes equal.</summary>
    internal static string ToJson(YamlNode node) => JsonSerializer.Serialize(ToPlain(node));

    static object? ToPlain(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value,
        YamlSequenceNode q => q.Children.Select(ToPlain).ToList(),
        YamlMappingNode m => new SortedDictionary<string, object?>(m.Children.ToDictionary(kv => kv.Key.ToString(), kv => ToPlain(kv.Value)), StringComparer.Ordinal),
        _ => null,
    };

    internal static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16].ToLowerInvariant();
}
