using Stilts.Models;
using Stilts.Tasks;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Stilts.Pipeline;

public enum SamplerKind { Uniform, Proportional, Temperature, Specified, TimeDependent }

/// <summary>
/// One run: a pretrained checkpoint, a chain of training stages and a zero-shot evaluation. YAML keys are the
/// snake_case property names; every default follows the paper's replication recipe (BENCHMARK-FACTS §1.3-1.4).
/// Regimes: baseline = one stage with the target's train task; STILTs = [intermediate, target]; joint = one stage
/// with several tasks and a sampler; chains = more stages; +MLM = a stage's <c>mlm</c> block; translated intermediate
/// data = a task whose <c>data</c> points at the translated files.
/// </summary>
public sealed record RunConfig
{
    /// <summary>HF checkpoint folder (config.json, model.safetensors, tokenizer files).</summary>
    public string Model { get; init; } = "";
    /// <summary>Start from random weights when the model folder holds only config.json and tokenizer files (pretraining from scratch).</summary>
    public bool FromScratch { get; init; }
    /// <summary>Root of the task data (xtreme layout: &lt;data_dir&gt;/&lt;task&gt;/train-en.tsv ...).</summary>
    public string DataDir { get; init; } = "data";
    public int Seed { get; init; } = 42;
    public DeviceChoice Device { get; init; } = DeviceChoice.Auto;
    /// <summary>bfloat16 weights and activations on CUDA; ignored on the CPU, where bf16 is slower (STACK.md §1).</summary>
    public bool Bf16 { get; init; }
    /// <summary>Log a line (and TensorBoard scalars) every this many optimizer steps.</summary>
    public int LogEvery { get; init; } = 10;
    public StageConfig[] Stages { get; init; } = [];
    public EvaluationConfig? Evaluate { get; init; }

    static readonly IDeserializer Reader = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithEnumNamingConvention(UnderscoredNamingConvention.Instance)
        .Build();

    static readonly ISerializer Writer = new SerializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithEnumNamingConvention(UnderscoredNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull)
        .Build();

    public static RunConfig FromFile(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "run config not found");
        return FromYaml(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates; errors name the file, the line for syntax or unknown keys, and the key path.</summary>
    public static RunConfig FromYaml(string yaml, string source = "run.yaml")
    {
        RunConfig? config;
        try { config = Reader.Deserialize<RunConfig>(yaml); }
        catch (YamlException e)
        {
            string detail = e.InnerException?.Message ?? e.Message;
            throw InvalidInputException.AtLine(source, (int)e.Start.Line, detail);
        }
        config ??= new RunConfig();
        config.Validate(source);
        return config;
    }

    public string ToYaml() => Writer.Serialize(this);

    /// <summary>Writes the resolved config (every default filled in) atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToYaml());

    public void Validate(string source)
    {
        InvalidInputException Bad(string key, string problem) => new($"{source}: {key}", problem);
        if (string.IsNullOrWhiteSpace(Model)) throw Bad("model", "the pretrained checkpoint folder is required");
        if (LogEvery <= 0) throw Bad("log_every", "must be > 0");
        if (Stages.Length == 0 && Evaluate == null) throw Bad("stages", "a run needs at least one stage or an evaluate block");
        var names = new HashSet<string>();
        for (int i = 0; i < Stages.Length; i++)
        {
            Stages[i].Validate(source, $"stages[{i}]");
            if (!names.Add(Stages[i].Name)) throw Bad($"stages[{i}].name", $"'{Stages[i].Name}' is used twice");
        }
        Evaluate?.Validate(source);
    }
}

/// <summary>A task in a stage: a registry name, optionally its own data folder (e.g. machine-translated files).</summary>
public sealed record TaskSpec
{
    /// <summary>Registry name, e.g. mnli, squad_v1, xnli.</summary>
    public string Task { get; init; } = "";
    /// <summary>Folder holding this task's files; default &lt;data_dir&gt;/&lt;task&gt;.</summary>
    public string? Data { get; init; }
    /// <summary>Training language (the file suffix, train-&lt;lang&gt;).</summary>
    public string Language { get; init; } = "en";
    /// <summary>Head name; tasks with the same head share it (e.g. mnli, anli and snli on "nli"). Default: the task name.</summary>
    public string? Head { get; init; }

    [YamlIgnore] public string HeadName => Head ?? Task;
}

/// <summary>Masked-LM training: alone (a stage with no tasks) or mixed into a stage with probability <see cref="Ratio"/> per step.</summary>
public sealed record MlmConfig
{
    /// <summary>A plain-text file (one sentence or document per line) or a folder of *.txt files.</summary>
    public string Corpus { get; init; } = "";
    /// <summary>Fraction of optimizer steps that train MLM when mixed with tasks; ignored in an MLM-only stage.</summary>
    public double Ratio { get; init; } = 0.1;
    public double MaskProbability { get; init; } = 0.15;
}

public sealed record SamplerConfig
{
    public SamplerKind Kind { get; init; } = SamplerKind.Proportional;
    public double Temperature { get; init; } = 1.0;
    /// <summary>Example-count cap for temperature sampling (T5-style), none by default.</summary>
    public long? Cap { get; init; }
    /// <summary>Weights per task name for <c>specified</c>.</summary>
    public Dictionary<string, double>? Probabilities { get; init; }
    /// <summary>time_dependent: weights at step 0 and at <see cref="OverSteps"/>, linearly interpolated in between.</summary>
    public Dictionary<string, double>? From { get; init; }
    public Dictionary<string, double>? To { get; init; }
    public long OverSteps { get; init; } = 1000;
}

public sealed record StageConfig
{
    public string Name { get; init; } = "";
    public TaskSpec[] Tasks { get; init; } = [];
    public MlmConfig? Mlm { get; init; }
    public SamplerConfig Sampler { get; init; } = new();
    public double Epochs { get; init; } = 3;
    /// <summary>Stops the stage at this many optimizer steps (overrides epochs when smaller).</summary>
    public long? MaxSteps { get; init; }
    public double Lr { get; init; } = 1e-5;
    public int BatchSize { get; init; } = 4;
    public int GradAccumulation { get; init; } = 8;
    public double WarmupRatio { get; init; } = 0.1;
    public double WeightDecay { get; init; } = 0.01;
    public double AdamEpsilon { get; init; } = 1e-8;
    public double MaxGradNorm { get; init; } = 1.0;
    public int MaxSeqLen { get; init; } = 256;
    /// <summary>Span QA: tokens between the starts of consecutive context windows (run_squad's doc_stride).</summary>
    public int DocStride { get; init; } = 128;
    /// <summary>Span QA: questions are cut to this many tokens (run_squad's max_query_length).</summary>
    public int MaxQueryLength { get; init; } = 64;
    /// <summary>Text-to-text models (mT5): target texts are cut to this many tokens; validation generates up to as many.</summary>
    public int MaxTargetLen { get; init; } = 64;
    /// <summary>Validate every this many optimizer steps (and at the end of the stage).</summary>
    public int EvalEvery { get; init; } = 1000;
    /// <summary>Validation examples per task (the first N of the dev split).</summary>
    public int ValSubset { get; init; } = 500;
    /// <summary>Stop after this many validations without improvement; null = never stop early. The best weights are reloaded at the end either way.</summary>
    public int? Patience { get; init; } = 30;
    /// <summary>Keep the heads trained in earlier stages for tasks with the same head name (default: fresh heads).</summary>
    public bool CarryHeads { get; init; }

    [YamlIgnore] public bool IsMlmOnly => Tasks.Length == 0;

    public void Validate(string source, string at)
    {
        InvalidInputException Bad(string key, string problem) => new($"{source}: {at}.{key}", problem);
        if (string.IsNullOrWhiteSpace(Name)) throw Bad("name", "every stage needs a name (it names its checkpoint folder)");
        if (Tasks.Length == 0 && Mlm == null) throw Bad("tasks", "a stage needs tasks, an mlm block, or both");
        for (int i = 0; i < Tasks.Length; i++)
            if (string.IsNullOrWhiteSpace(Tasks[i].Task)) throw Bad($"tasks[{i}].task", "the task name is required");
        if (Tasks.Select(t => t.Task).Distinct().Count() != Tasks.Length) throw Bad("tasks", "a task appears twice");
        if (Mlm != null)
        {
            if (string.IsNullOrWhiteSpace(Mlm.Corpus)) throw Bad("mlm.corpus", "a text corpus path is required");
            if (!(Mlm.Ratio > 0 && Mlm.Ratio <= 1)) throw Bad("mlm.ratio", $"must be in (0, 1], got {Mlm.Ratio}");
            if (!(Mlm.MaskProbability > 0 && Mlm.MaskProbability < 1)) throw Bad("mlm.mask_probability", "must be in (0, 1)");
        }
        if (!(Epochs > 0)) throw Bad("epochs", $"must be > 0, got {Epochs}");
        if (MaxSteps is <= 0) throw Bad("max_steps", "must be > 0");
        if (!(Lr > 0)) throw Bad("lr", $"must be > 0, got {Lr}");
        if (BatchSize <= 0) throw Bad("batch_size", "must be > 0");
        if (GradAccumulation <= 0) throw Bad("grad_accumulation", "must be > 0");
        if (!(WarmupRatio >= 0 && WarmupRatio < 1)) throw Bad("warmup_ratio", "must be in [0, 1)");
        if (WeightDecay < 0) throw Bad("weight_decay", "must be >= 0");
        if (!(MaxGradNorm > 0)) throw Bad("max_grad_norm", "must be > 0");
        if (MaxSeqLen < 8) throw Bad("max_seq_len", "must be >= 8");
        if (DocStride <= 0) throw Bad("doc_stride", "must be > 0");
        if (MaxQueryLength <= 0) throw Bad("max_query_length", "must be > 0");
        if (MaxTargetLen <= 0) throw Bad("max_target_len", "must be > 0");
        if (EvalEvery <= 0) throw Bad("eval_every", "must be > 0");
        if (ValSubset <= 0) throw Bad("val_subset", "must be > 0");
        if (Patience is <= 0) throw Bad("patience", "must be > 0 (or omitted to never stop early)");
        var names = Tasks.Select(t => t.Task).ToHashSet();
        switch (Sampler.Kind)
        {
            case SamplerKind.Temperature when !(Sampler.Temperature > 0):
                throw Bad("sampler.temperature", "must be > 0");
            case SamplerKind.Specified:
                CheckWeights(Sampler.Probabilities, "sampler.probabilities");
                break;
            case SamplerKind.TimeDependent:
                CheckWeights(Sampler.From, "sampler.from");
                CheckWeights(Sampler.To, "sampler.to");
                if (Sampler.OverSteps <= 0) throw Bad("sampler.over_steps", "must be > 0");
                break;
        }

        void CheckWeights(Dictionary<string, double>? weights, string key)
        {
            if (weights == null) throw Bad(key, "a weight per task is required for this sampler");
            foreach (var (task, w) in weights)
            {
                if (!names.Contains(task)) throw Bad($"{key}.{task}", "is not a task of this stage");
                if (!(w >= 0)) throw Bad($"{key}.{task}", "must be >= 0");
            }
            foreach (var t in names) if (!weights.ContainsKey(t)) throw Bad(key, $"no weight for task '{t}'");
            if (weights.Values.Sum() <= 0) throw Bad(key, "weights must not all be zero");
        }
    }

    /// <summary>The sampler for this stage's tasks (MLM, when mixed in, is decided separately with <see cref="MlmConfig.Ratio"/>).</summary>
    public ITaskSampler CreateSampler(IReadOnlyList<long> trainSizes, ulong seed)
    {
        var tasks = Tasks.Select(t => t.Task).ToArray();
        return Sampler.Kind switch
        {
            SamplerKind.Uniform => new UniformSampler(tasks, seed),
            SamplerKind.Proportional => new ProportionalSampler(tasks, trainSizes, seed),
            SamplerKind.Temperature => new TemperatureSampler(tasks, trainSizes, Sampler.Temperature, Sampler.Cap, seed),
            SamplerKind.Specified => new SpecifiedSampler(tasks, tasks.Select(t => Sampler.Probabilities![t]).ToArray(), seed),
            SamplerKind.TimeDependent => TimeDependentSampler.Linear(tasks,
                tasks.Select(t => Sampler.From![t]).ToArray(), tasks.Select(t => Sampler.To![t]).ToArray(), Sampler.OverSteps, seed),
            _ => throw new InvalidOperationException(Sampler.Kind.ToString()),
        };
    }
}

/// <summary>Zero-shot evaluation of the final model on every language (or the listed ones) of the target task.</summary>
public sealed record EvaluationConfig
{
    public string Task { get; init; } = "";
    /// <summary>Default: all languages the task has test files for.</summary>
    public string[]? Languages { get; init; }
    public string? Data { get; init; }
    /// <summary>Head the target was trained with; default the task name (or the head of the last stage's only task).</summary>
    public string? Head { get; init; }
    public Split Split { get; init; } = Split.Test;
    public int MaxSeqLen { get; init; } = 256;
    public int BatchSize { get; init; } = 32;
    /// <summary>Span QA windows, as in the stages.</summary>
    public int DocStride { get; init; } = 128;
    public int MaxQueryLength { get; init; } = 64;
    /// <summary>Text-to-text models (mT5): most tokens generated per example.</summary>
    public int MaxNewTokens { get; init; } = 64;
    /// <summary>Text-to-text models: greedy decoding restricted to the label words (classification) or the example's choices.</summary>
    public bool ConstrainToLabels { get; init; }
    /// <summary>
    /// Retrieval targets (bucc2018, tatoeba, lareqa, mewslix): the hidden state pooled into sentence vectors,
    /// 0 = embeddings output, i = layer i. Default: 14 for 24-layer models (X-STILTs / jiant), otherwise the same
    /// relative depth, round(depth * 14 / 24): 7 for 12 layers; for mT5 the encoder's final (normed) output.
    /// </summary>
    public int? Layer { get; init; }
    /// <summary>Retrieval targets: mean over the attention mask (special tokens included) or the first token (not mT5).</summary>
    public Pooling Pooling { get; init; } = Pooling.Mean;

    public void Validate(string source)
    {
        if (string.IsNullOrWhiteSpace(Task)) throw new InvalidInputException($"{source}: evaluate.task", "the target task is required");
        if (Languages is { Length: 0 }) throw new InvalidInputException($"{source}: evaluate.languages", "leave it out for all languages, or list some");
        if (BatchSize <= 0) throw new InvalidInputException($"{source}: evaluate.batch_size", "must be > 0");
        if (Layer is < 0) throw new InvalidInputException($"{source}: evaluate.layer", "must be >= 0 (0 = the embeddings output)");
        if (DocStride <= 0) throw new InvalidInputException($"{source}: evaluate.doc_stride", "must be > 0");
        if (MaxQueryLength <= 0) throw new InvalidInputException($"{source}: evaluate.max_query_length", "must be > 0");
        if (MaxNewTokens <= 0) throw new InvalidInputException($"{source}: evaluate.max_new_tokens", "must be > 0");
    }
}
