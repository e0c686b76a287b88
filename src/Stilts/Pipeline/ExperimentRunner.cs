using System.Diagnostics;
using System.Text.Json;
using Stilts.Checkpoints;
using Stilts.Metrics;
using Stilts.Models;
using Stilts.Tasks;
using Stilts.Tasks.Featurization;
using Stilts.Tokenization;
using Stilts.Training;
using TorchSharp;
using TorchSharp.Modules;
using AdamW = Stilts.Training.AdamWOptimizer;
using static TorchSharp.torch;
using FeatureLabels = Stilts.Tasks.Featurization.Labels;

namespace Stilts.Pipeline;

public sealed record RunOptions
{
    /// <summary>The run folder: resolved config, checkpoints, logs, predictions, results. Re-running with the same folder resumes.</summary>
    public required string RunDir { get; init; }
    /// <summary>Tokenize-once cache shared by runs; default $STILTS_CACHE or ~/.cache/stilts/features.</summary>
    public string? CacheDir { get; init; }
    /// <summary>Opens the tokenizer of a checkpoint folder.</summary>
    public required Func<string, TextTokenizer> LoadTokenizer { get; init; }
    public ITrainingObserver? Observer { get; init; }
    public bool TensorBoard { get; init; } = true;

    public string ResolvedCacheDir => CacheDir ?? Environment.GetEnvironmentVariable("STILTS_CACHE")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "stilts", "features");
}

public sealed record StageResult(string Name, long Steps, double? BestMetric, long BestStep, bool StoppedEarly);
/// <summary>One language's zero-shot score (a fraction in [0, 1]; null when the file has no gold labels).</summary>
public sealed record LanguageResult(string Language, double? Score, int Examples, string PredictionFile)
{
    /// <summary>Span QA: SQuAD exact match and F1 in percent (Score is their mean / 100); null for other tasks.</summary>
    public double? ExactMatch { get; init; }
    public double? F1 { get; init; }
}

/// <summary>Per-language scores of the target task: accuracy, or seqeval F1 for tagging (xtreme's metric for UD-POS and PAN-X).</summary>
public sealed record EvaluationResult(string Task, string Metric, IReadOnlyList<LanguageResult> Languages)
{
    public double? Average => Languages.All(l => l.Score.HasValue) && Languages.Count > 0 ? Languages.Average(l => l.Score!.Value) : null;
    public double? ScoreOf(string language) => Languages.FirstOrDefault(l => l.Language == language)?.Score;
}
public sealed record RunResult(string RunDir, IReadOnlyList<StageResult> Stages, EvaluationResult? Evaluation, string ModelDir);

/// <summary>A loss that is NaN or infinite: the run stops, and the last checkpoint (from before the step) is kept.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>One shared encoder and a head per head name: the multi-task model (jiant's encoder + task-model map).</summary>
internal sealed class MultiTaskModel : nn.Module
{
    public readonly Encoder encoder;
    public readonly ModuleDict<TaskHead> heads;

    public MultiTaskModel(Encoder encoder, IEnumerable<(string Name, TaskHead Head)> heads) : base(nameof(MultiTaskModel))
    {
        this.encoder = encoder;
        this.heads = new ModuleDict<TaskHead>();
        foreach (var (name, head) in heads) this.heads.Add((name, head));
        RegisterComponents();
    }

    /// <summary>Moves and casts the encoder and each head (TorchSharp's Module.to trips over ModuleDict's indexer).</summary>
    public void Place(Device device, Precision precision)
    {
        var modules = new List<nn.Module> { encoder };
        modules.AddRange(heads.values());
        foreach (var m in modules)
        {
            if (device.type != DeviceType.CPU) m.to(device);
            if (precision != Precision.Float32) m.to(precision.ToScalarType());
        }
    }
}

/// <summary>
/// The experiment recipe, top to bottom: for each stage, build fresh heads on the carried encoder, train with AdamW
/// + linear warmup/decay + accumulation + clipping on a task sampled per optimizer step, validate every N steps,
/// checkpoint, stop early, reload the best weights, save the stage's model; then evaluate zero-shot on every language
/// of the target. Every random choice is a function of (seed, stage, step), or comes from a generator whose state is
/// in the checkpoint, so on the CPU an interrupted run resumed from its last checkpoint ends bit-for-bit where an
/// uninterrupted one does.
/// </summary>
public static class ExperimentRunner
{
    const string EncoderFile = "model.safetensors", HeadsFile = "heads.safetensors", OptimizerFile = "optimizer.safetensors", StateFile = "trainer_state.json";

    public static RunResult Run(RunConfig config, RunOptions options)
    {
        // ---- Setup: run folder, resolved config, tokenizer, encoder config, device, cache, logs.
        string runDir = Path.GetFullPath(options.RunDir);
        Directory.CreateDirectory(runDir);
        // Re-running resumes; a different config in the same folder would silently mix two experiments.
        string resolved = Path.Combine(runDir, "run.yaml");
        if (File.Exists(resolved) && File.ReadAllText(resolved) != config.ToYaml())
            throw new InvalidInputException(resolved, "this run folder was started with a different config; use a new --run-dir (or delete the folder) to start over");
        config.Save(resolved);
        string modelDir = Path.GetFullPath(config.Model);
        var tokenizer = options.LoadTokenizer(modelDir);
        var encoderConfig = config.Stages.Length == 0 && config.Evaluate is { } retrieval && RetrievalEvaluation.Handles(retrieval.Task) ? null! : EncoderConfig.FromFile(Path.Combine(modelDir, "config.json")); // evaluation-only retrieval loads the checkpoint itself (BERT/XLM-R or mT5)
        var device = Placement.Resolve(config.Device);
        var precision = config.Bf16 && device.type == DeviceType.CUDA ? Precision.BFloat16 : Precision.Float32;
        var cache = new FeatureCache(options.ResolvedCacheDir);
        using var log = new TrainingLog(runDir, options.Observer, options.TensorBoard);
        if (config.Bf16 && precision == Precision.Float32) log.Message("bf16 ignored on the CPU (it is slower there than float32)");
        var ctx = new Context(config, options, runDir, tokenizer, FeatureCache.Fingerprint(tokenizer), encoderConfig, device, precision, cache, log);

        // ---- Stages: each starts from the previous stage's saved model (or the pretrained one) and saves its own.
        string previous = modelDir;
        var results = new List<StageResult>();
        for (int i = 0; i < config.Stages.Length; i++)
        {
            var stage = config.Stages[i];
            string stageDir = Path.Combine(runDir, "stages", stage.Name);
            string? done = AtomicFolder.Resolve(Path.Combine(stageDir, "final"));
            if (done == null)
            {
                RunStage(ctx, i, stage, previous, stageDir);
                done = AtomicFolder.Resolve(Path.Combine(stageDir, "final"))!;
            }
            else log.Message($"[{stage.Name}] already complete, skipping");
            results.Add(JsonSerializer.Deserialize<StageResult>(File.ReadAllText(Path.Combine(done, "stage_result.json")))!);
            previous = done;
        }

        // ---- Zero-shot evaluation of the final model on every language of the target task.
        EvaluationResult? evaluation = config.Evaluate == null ? null : Evaluate(ctx, config.Evaluate, previous);
        return new RunResult(runDir, results, evaluation, previous);
    }

    sealed record Context(RunConfig Config, RunOptions Options, string RunDir, TextTokenizer Tokenizer, string Fingerprint,
        EncoderConfig EncoderConfig, Device Device, Precision Precision, FeatureCache Cache, TrainingLog Log);

    /// <summary>A task of the stage with its data: the cached training rows and the validation subset.</summary>
    sealed record StageTask(string Name, string Head, PipelineTask Task, CachedRows Train, IReadOnlyList<int[][]> Val, QaGold? Qa = null);

    /// <summary>Span QA: the questions a set of rows comes from (rows name them by index), to decode and score answers.</summary>
    sealed record QaGold(IReadOnlyList<SpanQaExample> Examples, string Language);

    static void RunStage(Context ctx, int stageIndex, StageConfig stage, string previousModel, string stageDir)
    {
        var config = ctx.Config;
        long seed = config.Seed;
        string where = $"stages[{stageIndex}]";

        // ---- Data: tokenize once (cached), validation subsets in memory.
        var tasks = stage.Tasks.Select((spec, t) =>
        {
            var task = PipelineTasks.Get(spec.Task, $"{where}.tasks[{t}].task");
            _ = task.HeadKind; // fails early for task kinds the runner cannot train
            string folder = Path.GetFullPath(spec.Data ?? Path.Combine(config.DataDir, spec.Task));
            var train = Rows(ctx, task, folder, Split.Train, spec.Language, stage.MaxSeqLen);
            var val = Rows(ctx, task, folder, Split.Dev, spec.Language, stage.MaxSeqLen);
            if (task.Kind == TaskKind.SpanQa)
            {
                // The subset counts questions, not windows: every window of the first val_subset questions.
                var questions = task.Read(Path.Combine(folder, task.FileName(Split.Dev, spec.Language))).Cast<SpanQaExample>().Take(stage.ValSubset).ToList();
                var windows = Enumerable.Range(0, val.Count).Select(i => val[i]).Where(r => r[2][2] < questions.Count).ToList();
                return new StageTask(spec.Task, spec.HeadName, task, train, windows, new QaGold(questions, spec.Language));
            }
            var subset = Enumerable.Range(0, Math.Min(stage.ValSubset, val.Count)).Select(i => val[i]).ToList();
            return new StageTask(spec.Task, spec.HeadName, task, train, subset);
        }).ToList();
        if (stage.Mlm != null)
            tasks.Add(new StageTask("mlm", "mlm", PipelineTask.MaskedLm, CorpusRows(ctx, stage.Mlm.Corpus, stage.MaxSeqLen), []));
        var supervised = tasks.Where(t => t.Name != "mlm").ToList();

        // ---- Model: the encoder of the previous stage, a fresh head per head name (or carried over when asked).
        manual_seed((long)Xoshiro256.DeriveSeed(seed, Xoshiro256.Key("init"), stageIndex));
        var encoder = Encoder.Create(ctx.EncoderConfig, addPoolingLayer: true);
        LoadEncoder(encoder, previousModel, config.FromScratch && stageIndex == 0);
        var heads = new List<(string, TaskHead)>();
        foreach (var group in tasks.GroupBy(t => t.Head))
        {
            var first = group.First();
            if (group.Any(t => t.Task.HeadKind != first.Task.HeadKind || !t.Task.Labels.SequenceEqual(first.Task.Labels)))
                throw new InvalidInputException($"{where}.tasks", $"tasks sharing head '{group.Key}' must have the same kind and labels");
            heads.Add((group.Key, TaskHead.Create(first.Task.HeadKind, encoder, Math.Max(first.Task.Labels.Count, 1))));
        }
        var model = new MultiTaskModel(encoder, heads);
        if (stage.CarryHeads) CarryHeads(model, previousModel);
        model.Place(ctx.Device, ctx.Precision);

        // ---- Optimizer and schedule: AdamW without decay on biases/LayerNorm, linear warmup then linear decay.
        var optimizer = AdamW.Create(model, new AdamWOptions { LearningRate = stage.Lr, Eps = stage.AdamEpsilon, WeightDecay = stage.WeightDecay });
        int stepBatch = stage.BatchSize * stage.GradAccumulation;
        long perEpoch = stage.IsMlmOnly
            ? Ceil(tasks[0].Train.Count, stepBatch)
            : supervised.Sum(t => Ceil(t.Train.Count, stepBatch));
        long totalSteps = Math.Max(1, (long)Math.Ceiling(stage.Epochs * perEpoch));
        if (stage.MaxSteps is long max) totalSteps = Math.Min(totalSteps, max);
        var schedule = new LinearWarmupSchedule(optimizer, (int)(totalSteps * stage.WarmupRatio), (int)totalSteps);
        var sampler = supervised.Count > 0
            ? stage.CreateSampler(supervised.Select(t => (long)t.Train.Count).ToArray(), Xoshiro256.DeriveSeed(seed, Xoshiro256.Key("sampler"), stageIndex))
            : null;
        var mix = Xoshiro256.Derive(seed, Xoshiro256.Key("mlm-mix"), stageIndex);
        var state = new TrainerState { Stage = stage.Name, TotalSteps = totalSteps, Cursors = tasks.ToDictionary(t => t.Name, _ => new DataCursor(0, 0)) };

        // ---- Resume from the last complete checkpoint of this stage, if any.
        string checkpointDir = Path.Combine(stageDir, "checkpoint"), bestDir = Path.Combine(stageDir, "best");
        AtomicFolder.CleanUp(checkpointDir);
        AtomicFolder.CleanUp(bestDir);
        if (AtomicFolder.Resolve(checkpointDir) is string resumeFrom)
        {
            LoadWeights(model, resumeFrom);
            using (var tensors = new DisposableDict(SafeTensors.Read(Path.Combine(resumeFrom, OptimizerFile))))
                optimizer.LoadStateTensors(tensors.Items, Path.Combine(resumeFrom, OptimizerFile));
            state = TrainerState.FromFile(Path.Combine(resumeFrom, StateFile));
            schedule = new LinearWarmupSchedule(optimizer, (int)(totalSteps * stage.WarmupRatio), (int)totalSteps, (int)state.Step);
            if (sampler != null) sampler.Restore(state.SamplerState);
            mix = Xoshiro256.FromState(state.MixState);
        }
        ctx.Log.StageStart(stage.Name, totalSteps, state.Step);

        // ---- Train.
        var batches = new EpochBatches(seed, stageIndex, stage.BatchSize);
        var memory = new StepMemory();
        var parameters = model.parameters().ToList();
        var clock = Stopwatch.StartNew();
        long loggedSince = state.Step, examplesSince = 0;
        double lossSince = 0;
        var collator = Collator.For(ctx.Tokenizer);
        while (state.Step < totalSteps && !state.StoppedEarly)
        {
            long step = state.Step;
            // One task per optimizer step; every micro-batch of the step comes from it (jiant).
            StageTask task = sampler == null ? tasks[0]
                : stage.Mlm != null && mix.NextDouble() < stage.Mlm.Ratio ? tasks[^1]
                : supervised[sampler.Next(step)];
            model.train();
            optimizer.ZeroGrad();
            double stepLoss = 0;
            var cursors = new Dictionary<string, DataCursor>(state.Cursors);
            for (int micro = 0; micro < stage.GradAccumulation; micro++)
            {
                using var scope = memory.BeginStep();
                var (rows, next) = batches.Take(task.Name, task.Train, cursors[task.Name]);
                cursors[task.Name] = next;
                // Dropout and masking are re-seeded from (seed, stage, step, micro): nothing to save, same on resume.
                ulong microSeed = Xoshiro256.DeriveSeed(seed, stageIndex, step, micro);
                manual_seed((long)(microSeed >> 1));
                using var batch = Collate(task, rows, collator, ctx.Tokenizer, stage, new Random((int)(microSeed & 0x7FFFFFFF)));
                var head = model.heads[task.Head];
                var logits = head.Apply(encoder, Input(batch, ctx.Device));
                var loss = head.Loss(logits, Labels(batch, task.Task.Kind, ctx.Device)) / stage.GradAccumulation;
                double value = loss.to(ScalarType.Float32).item<float>();
                if (!double.IsFinite(value))
                    throw new TrainingDivergedException(
                        $"[{stage.Name}] the loss of task {task.Name} became {value} at step {step + 1}; training stopped. " +
                        $"The last good checkpoint is kept in {AtomicFolder.Resolve(checkpointDir) ?? "(none yet)"}; lower the learning rate or check the data.");
                loss.backward();
                stepLoss += value;
                examplesSince += rows.Count;
            }
            Gradients.ClipGlobalNorm(parameters, stage.MaxGradNorm);
            optimizer.Step();
            double lr = optimizer.Groups[0].LearningRate;
            schedule.Step();
            state = state with
            {
                Step = step + 1, Cursors = cursors, ExamplesSeen = state.ExamplesSeen + examplesSince,
                SamplerState = sampler?.GetState() ?? [], MixState = mix.GetState(),
            };
            lossSince += stepLoss;

            if (state.Step % config.LogEvery == 0 || state.Step == totalSteps)
            {
                double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-6);
                long steps = state.Step - loggedSince;
                var eta = TimeSpan.FromSeconds(seconds / Math.Max(steps, 1) * (totalSteps - state.Step));
                ctx.Log.Step(new StepReport(stage.Name, state.Step, totalSteps, task.Name, lossSince / Math.Max(steps, 1), lr, examplesSince / seconds, eta));
                clock.Restart();
                loggedSince = state.Step;
                lossSince = 0;
                examplesSince = 0;
            }

            // ---- Validate, keep the best weights, stop early, checkpoint.
            if (state.Step % stage.EvalEvery == 0 || state.Step == totalSteps)
            {
                if (supervised.Count > 0)
                {
                    var perTask = supervised.ToDictionary(t => t.Name, t => ValidationScore(ctx, model, t, t.Val, stage.BatchSize * 4, collator));
                    double metric = perTask.Values.Average();
                    bool improved = state.BestMetric == null || metric > state.BestMetric;
                    if (improved) AtomicFolder.Write(bestDir, d => SaveWeights(model, d));
                    state = improved
                        ? state with { BestMetric = metric, BestStep = state.Step, EvalsWithoutImprovement = 0 }
                        : state with { EvalsWithoutImprovement = state.EvalsWithoutImprovement + 1 };
                    if (stage.Patience is int patience && state.EvalsWithoutImprovement >= patience)
                        state = state with { StoppedEarly = true };
                    ctx.Log.Eval(new EvalReport(stage.Name, state.Step, metric, perTask, improved));
                    if (state.StoppedEarly) ctx.Log.Message($"[{stage.Name}] early stop at step {state.Step}: no improvement in {stage.Patience} validations");
                }
                var snapshot = state;
                AtomicFolder.Write(checkpointDir, d =>
                {
                    SaveWeights(model, d);
                    SafeTensors.Write(Path.Combine(d, OptimizerFile), optimizer.StateTensors());
                    snapshot.Save(Path.Combine(d, StateFile));
                });
            }
        }

        // ---- Reload the best weights and save the stage's model (an HF folder plus heads) as one atomic folder.
        if (AtomicFolder.Resolve(bestDir) is string best) LoadWeights(model, best);
        var result = new StageResult(stage.Name, state.Step, state.BestMetric, state.BestStep, state.StoppedEarly);
        AtomicFolder.Write(Path.Combine(stageDir, "final"), d =>
        {
            SaveWeights(model, d);
            ctx.EncoderConfig.Save(Path.Combine(d, "config.json"));
            foreach (var f in TokenizerFiles(previousModel)) File.Copy(f, Path.Combine(d, Path.GetFileName(f)));
            AtomicFile.WriteAllText(Path.Combine(d, "stage_result.json"), JsonSerializer.Serialize(result));
        });
        foreach (var t in tasks) t.Train.Dispose();
        model.Dispose();
        GC.Collect();
    }

    static long Ceil(long n, long d) => (n + d - 1) / d;

    // ---- Data helpers.

    static CachedRows Rows(Context ctx, PipelineTask task, string folder, Split split, string language, int maxLength)
    {
        string path = Path.Combine(folder, task.FileName(split, language));
        if (!File.Exists(path)) throw new InvalidInputException(path, $"the {split.ToString().ToLowerInvariant()} file of task {task.Name} ({language}) was not found");
        var key = new CacheKey(task.Name, split.ToString(), language, path, ctx.Fingerprint, maxLength);
        return ctx.Cache.GetOrCreate(key, () => task.Featurize(path, ctx.Tokenizer, maxLength, training: split == Split.Train));
    }

    static CachedRows CorpusRows(Context ctx, string corpus, int maxLength)
    {
        string full = Path.GetFullPath(corpus);
        var files = Directory.Exists(full) ? Directory.GetFiles(full, "*.txt").Order(StringComparer.Ordinal).ToArray()
            : File.Exists(full) ? [full] : throw new InvalidInputException(corpus, "the MLM corpus (a .txt file or a folder of them) was not found");
        if (files.Length == 0) throw new InvalidInputException(corpus, "the MLM corpus folder holds no .txt file");
        var key = new CacheKey("mlm", "train", string.Join("+", files.Select(Path.GetFileNameWithoutExtension)), full, ctx.Fingerprint, maxLength);
        return ctx.Cache.GetOrCreate(key, () => files.SelectMany(f => PipelineTask.MaskedLm.Featurize(f, ctx.Tokenizer, maxLength)));
    }

    static Batch Collate(StageTask task, IReadOnlyList<int[][]> rows, Collator collator, TextTokenizer tokenizer, StageConfig stage, Random maskRng)
    {
        switch (task.Task.Kind)
        {
            case TaskKind.MaskedLm:
                var masking = new MaskingOptions { Probability = stage.Mlm!.MaskProbability };
                return collator.MaskedLm(rows.Select(r => MaskedLanguageModeling.Mask(
                    new MaskedLmFeature(r[0], r[1].Select(v => v != 0).ToArray()), tokenizer, masking, maskRng)).ToList());
            case TaskKind.Tagging:
                return collator.Tagging(rows.Select(ToTagging).ToList());
            case TaskKind.MultipleChoice:
                return collator.MultipleChoice(rows.Select(ToChoices).ToList());
            case TaskKind.SpanQa:
                return collator.SpanQa(rows.Select(PipelineTask.ToSpanQa).ToList());
            default:
                return collator.Classification(rows.Select(r => new ClassificationFeature(r[0], Ones(r[0].Length), r[1], r[2][0])).ToList());
        }
    }

    static TaggingFeature ToTagging(int[][] r) => new(r[0], Ones(r[0].Length), r[1], r[2], r[3][0], r[3][1], r[4]);

    /// <summary>Rows [ids_0, types_0, ids_1, types_1, ..., [label]] back to a feature.</summary>
    static MultipleChoiceFeature ToChoices(int[][] r)
    {
        int choices = (r.Length - 1) / 2;
        var ids = Enumerable.Range(0, choices).Select(k => r[2 * k]).ToArray();
        return new MultipleChoiceFeature(ids, ids.Select(x => Ones(x.Length)).ToArray(), Enumerable.Range(0, choices).Select(k => r[2 * k + 1]).ToArray(), r[^1][0]);
    }

    /// <summary>The label field of a row: [label] for classification and multiple choice, per-token labels for tagging.</summary>
    static int[] GoldOf(int[][] row, TaskKind kind) => kind == TaskKind.Tagging ? row[2] : row[^1];

    static int[] Ones(int n) { var a = new int[n]; Array.Fill(a, 1); return a; }

    static EncoderInput Input(Batch b, Device device) => new(b.InputIds.to(device), b.AttentionMask.to(device), b.TokenTypeIds.to(device));

    static Tensor Labels(Batch b, TaskKind kind, Device device) =>
        kind == TaskKind.SpanQa ? stack([b.StartPositions!, b.EndPositions!], 1).to(device) : b.Labels!.to(device); // QA head: (B, 2)

    /// <summary>Predicted label index per row (classification) or per token (tagging), in row order.</summary>
    static List<int[]> Predict(Context ctx, MultiTaskModel model, string head, TaskKind kind, IReadOnlyList<int[][]> rows, int batchSize, Collator collator)
    {
        model.eval();
        var predictions = new int[rows.Count][];
        // Sorted by length so batches pad little; predictions go back to row order.
        var order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i][0].Length).ToArray();
        using var noGrad = no_grad();
        for (int start = 0; start < order.Length; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var idx = order.Skip(start).Take(batchSize).ToArray();
            var batchRows = idx.Select(i => rows[i]).ToList();
            using var batch = kind == TaskKind.Tagging ? collator.Tagging(batchRows.Select(ToTagging).ToList())
                : kind == TaskKind.MultipleChoice ? collator.MultipleChoice(batchRows.Select(ToChoices).ToList())
                : collator.Classification(batchRows.Select(r => new ClassificationFeature(r[0], Ones(r[0].Length), r[1], r[2][0])).ToList());
            var logits = model.heads[head].Apply(model.encoder, Input(batch, ctx.Device));
            var argmax = logits.argmax(-1).to(ScalarType.Int32).cpu();
            var flat = argmax.data<int>().ToArray();
            int width = kind == TaskKind.Tagging ? (int)argmax.shape[1] : 1;
            for (int k = 0; k < idx.Length; k++) predictions[idx[k]] = flat.AsSpan(k * width, width).ToArray();
        }
        return [.. predictions];
    }

    /// <summary>Accuracy over labelled positions (examples for classification, first subwords for tagging).</summary>
    static double ValidationScore(Context ctx, MultiTaskModel model, StageTask task, IReadOnlyList<int[][]> rows, int batchSize, Collator collator)
    {
        if (task.Qa is QaGold qa)
        {
            var answers = PredictAnswers(ctx, model, task.Head, rows, qa.Examples, batchSize, collator);
            return ScoreAnswers(qa.Examples, answers, task.Task.QaNormalizer(qa.Language))?.Mean / 100 ?? 0;
        }
        var predicted = Predict(ctx, model, task.Head, task.Task.Kind, rows, batchSize, collator);
        long right = 0, total = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            var gold = GoldOf(rows[i], task.Task.Kind);
            for (int t = 0; t < gold.Length; t++)
            {
                if (gold[t] == FeatureLabels.Ignore) continue;
                total++;
                if (predicted[i][t] == gold[t]) right++;
            }
        }
        return total == 0 ? 0 : (double)right / total;
    }

    // ---- Span QA: logits per window, decoded to answer text from the original contexts.

    /// <summary>Start and end logits of every row (each as long as the row's ids), in row order.</summary>
    static (List<float[]> Start, List<float[]> End) SpanLogits(Context ctx, MultiTaskModel model, string head, IReadOnlyList<int[][]> rows, int batchSize, Collator collator)
    {
        model.eval();
        var starts = new float[rows.Count][];
        var ends = new float[rows.Count][];
        var order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i][0].Length).ToArray();
        using var noGrad = no_grad();
        for (int first = 0; first < order.Length; first += batchSize)
        {
            using var scope = NewDisposeScope();
            var idx = order.Skip(first).Take(batchSize).ToArray();
            using var batch = collator.SpanQa(idx.Select(i => PipelineTask.ToSpanQa(rows[i])).ToList());
            var logits = model.heads[head].Apply(model.encoder, Input(batch, ctx.Device)).to(ScalarType.Float32).cpu();
            var (s, e) = QuestionAnsweringHead.Split(logits);
            int width = (int)s.shape[1];
            float[] sf = s.data<float>().ToArray(), ef = e.data<float>().ToArray();
            for (int k = 0; k < idx.Length; k++)
            {
                int n = rows[idx[k]][0].Length;
                starts[idx[k]] = sf.AsSpan(k * width, n).ToArray();
                ends[idx[k]] = ef.AsSpan(k * width, n).ToArray();
            }
        }
        return ([.. starts], [.. ends]);
    }

    /// <summary>The answer text of every question, {id: answer} (n-best 20, at most 30 tokens, run_squad's search).</summary>
    static Dictionary<string, string> PredictAnswers(Context ctx, MultiTaskModel model, string head, IReadOnlyList<int[][]> rows,
        IReadOnlyList<SpanQaExample> examples, int batchSize, Collator collator)
    {
        var (starts, ends) = SpanLogits(ctx, model, head, rows, batchSize, collator);
        return DecodeAnswers(rows, starts, ends, examples);
    }

    internal static Dictionary<string, string> DecodeAnswers(IReadOnlyList<int[][]> rows, IReadOnlyList<float[]> starts, IReadOnlyList<float[]> ends,
        IReadOnlyList<SpanQaExample> examples)
    {
        var features = rows.Select(PipelineTask.ToSpanQa).ToList();
        var predictions = SpanQaDecoder.Decode(features, starts, ends, examples.Select(e => e.Context).ToList(), new SpanQaDecodeOptions());
        var answers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in predictions) answers[examples[p.ExampleIndex].Id] = p.Text;
        return answers;
    }

    /// <summary>EM/F1 over the questions that have gold answers; null when none has (blanked test files).</summary>
    static QaScore? ScoreAnswers(IReadOnlyList<SpanQaExample> examples, IReadOnlyDictionary<string, string> answers, AnswerNormalizer normalizer)
    {
        var gold = examples.Where(e => e.Answers.Count > 0).Select(e => new QaQuestion(e.Id, e.Answers.Select(a => a.Text).ToList())).ToList();
        return gold.Count == 0 ? null : QaMetrics.Evaluate(gold, answers, normalizer);
    }

    /// <summary>One language of a span-QA target: predictions/&lt;task&gt;/&lt;split&gt;-&lt;lang&gt;.json as {id: answer} (xtreme's contract).</summary>
    static LanguageResult EvaluateSpanQa(Context ctx, MultiTaskModel model, string head, PipelineTask task, EvaluationConfig eval,
        string path, string lang, string predPath, Collator collator)
    {
        var examples = task.Read(path).Cast<SpanQaExample>().ToList();
        using var rows = ctx.Cache.GetOrCreate(new CacheKey(task.Name, eval.Split.ToString(), lang, path, ctx.Fingerprint, eval.MaxSeqLen),
            () => task.Featurize(path, ctx.Tokenizer, eval.MaxSeqLen));
        var all = Enumerable.Range(0, rows.Count).Select(i => rows[i]).ToList();
        var answers = PredictAnswers(ctx, model, head, all, examples, eval.BatchSize, collator);
        AtomicFile.WriteAllText(predPath, JsonSerializer.Serialize(answers, new JsonSerializerOptions
        {
            WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }));
        var score = ScoreAnswers(examples, answers, task.QaNormalizer(lang));
        return new LanguageResult(lang, score?.Mean / 100, examples.Count, predPath) { ExactMatch = score?.ExactMatch, F1 = score?.F1 };
    }

    // ---- Zero-shot evaluation.

    static EvaluationResult Evaluate(Context ctx, EvaluationConfig eval, string modelFolder)
    {
        if (RetrievalEvaluation.Handles(eval.Task))
            return RetrievalEvaluation.Run(eval, ctx.Config.DataDir, modelFolder, ctx.RunDir, ctx.Tokenizer, ctx.Config.Device, ctx.Precision, ctx.Log.Message);
        var task = PipelineTasks.Get(eval.Task, "evaluate.task");
        string folder = Path.GetFullPath(eval.Data ?? Path.Combine(ctx.Config.DataDir, eval.Task));
        var split = eval.Split;
        string prefix = task.SplitName(split) + "-";
        var languages = eval.Languages ?? (Directory.Exists(folder)
            ? Directory.GetFiles(folder, $"{prefix}*.{task.Extension}").Select(f => Path.GetFileNameWithoutExtension(f)[prefix.Length..]).Order(StringComparer.Ordinal).ToArray()
            : []);
        if (languages.Length == 0) throw new InvalidInputException(folder, $"no {prefix}<lang>.{task.Extension} files to evaluate {eval.Task} on");
        string head = eval.Head ?? ctx.Config.Stages.SelectMany(s => s.Tasks).LastOrDefault(t => t.Task == eval.Task)?.HeadName ?? eval.Task;

        var encoder = Encoder.Create(ctx.EncoderConfig, addPoolingLayer: true);
        LoadEncoder(encoder, modelFolder, allowRandom: false);
        var model = new MultiTaskModel(encoder, [(head, TaskHead.Create(task.HeadKind, encoder, task.Labels.Count))]);
        string headsPath = Path.Combine(modelFolder, HeadsFile);
        if (!File.Exists(headsPath) || !SafeTensors.ReadIndex(headsPath).Entries.Any(e => e.Name.StartsWith(head + ".", StringComparison.Ordinal)))
            throw new InvalidInputException($"{modelFolder}: head '{head}'", $"the model has no trained head for {eval.Task}; train it in the last stage or set evaluate.head");
        LoadHeads(model, headsPath, only: head);
        model.Place(ctx.Device, ctx.Precision);

        var collator = Collator.For(ctx.Tokenizer);
        var results = new List<LanguageResult>();
        string predDir = Path.Combine(ctx.RunDir, "predictions", eval.Task);
        foreach (var lang in languages)
        {
            string path = Path.Combine(folder, task.FileName(split, lang));
            if (!File.Exists(path)) throw new InvalidInputException(path, $"no {split.ToString().ToLowerInvariant()} file for language '{lang}'");
            if (task.Kind == TaskKind.SpanQa)
            {
                Directory.CreateDirectory(predDir);
                results.Add(EvaluateSpanQa(ctx, model, head, task, eval, path, lang, Path.Combine(predDir, task.FileName(split, lang)), collator));
                continue;
            }
            using var rows = ctx.Cache.GetOrCreate(new CacheKey(task.Name, split.ToString(), lang, path, ctx.Fingerprint, eval.MaxSeqLen),
                () => task.Featurize(path, ctx.Tokenizer, eval.MaxSeqLen));
            var all = Enumerable.Range(0, rows.Count).Select(i => rows[i]).ToList();
            var predicted = Predict(ctx, model, head, task.Kind, all, eval.BatchSize, collator);
            var gold = task.Gold(path);
            string predPath = Path.Combine(predDir, $"{task.SplitName(split)}-{lang}.{task.Extension}");
            double? score;
            if (task.Kind == TaskKind.Tagging)
            {
                // Token predictions at each word's first subword, pieces of long sentences merged back in order.
                var features = all.Select(ToTagging).ToList();
                var perToken = features.Select((f, i) => (IReadOnlyList<int>)predicted[i]).ToList();
                var words = TaggingFeaturizer.MergePredictions(features, perToken);
                var tags = words.Select(s => (IReadOnlyList<string>)s.Select(w => task.Labels[w]).ToList()).ToList();
                AtomicFile.WriteAllText(predPath, string.Concat(tags.Select(s => string.Concat(s.Select(t => t + "\n")) + "\n")));
                var labelled = Enumerable.Range(0, tags.Count).Where(i => gold[i] != null).ToList();
                score = labelled.Count == 0 ? null
                    : Seqeval.Score(labelled.Select(i => (IReadOnlyList<string>)gold[i]!).ToList(), labelled.Select(i => tags[i]).ToList()).F1 / 100;
            }
            else
            {
                var labels = predicted.Select(p => task.Labels[p[0]]).ToList();
                AtomicFile.WriteAllText(predPath, string.Concat(labels.Select(l => l + "\n")));
                var labelled = Enumerable.Range(0, labels.Count).Where(i => gold[i] != null).ToList();
                score = labelled.Count == 0 ? null
                    : Accuracy.Compute(labelled.Select(i => gold[i]![0]).ToList(), labelled.Select(i => labels[i]).ToList()).Accuracy / 100;
            }
            results.Add(new LanguageResult(lang, score, all.Count, predPath));
        }
        model.Dispose();
        var evaluation = new EvaluationResult(eval.Task, task.Kind switch { TaskKind.Tagging => "f1", TaskKind.SpanQa => "em_f1_mean", _ => "accuracy" }, results);
        AtomicFile.WriteAllText(Path.Combine(ctx.RunDir, "results.json"), JsonSerializer.Serialize(new
        {
            task = eval.Task,
            metric = evaluation.Metric,
            languages = results.ToDictionary(r => r.Language, r => r.ExactMatch == null && r.F1 == null
                ? (object)new { score = r.Score, examples = r.Examples }
                : new { score = r.Score, examples = r.Examples, exact_match = r.ExactMatch, f1 = r.F1 }),
            average = evaluation.Average,
        }, new JsonSerializerOptions { WriteIndented = true }));
        return evaluation;
    }

    // ---- Weights: the encoder as an HF base-model safetensors file, heads beside it keyed "<head>.<param>".

    static void SaveWeights(MultiTaskModel model, string dir)
    {
        var encoder = model.encoder.state_dict().ToDictionary(p => $"{model.encoder.BaseModelPrefix}.{p.Key}", p => p.Value.cpu());
        SafeTensors.Write(Path.Combine(dir, EncoderFile), encoder);
        var heads = model.heads.state_dict().ToDictionary(p => p.Key, p => p.Value.cpu());
        SafeTensors.Write(Path.Combine(dir, HeadsFile), heads);
    }

    static void LoadWeights(MultiTaskModel model, string dir)
    {
        LoadEncoder(model.encoder, dir, allowRandom: false);
        LoadHeads(model, Path.Combine(dir, HeadsFile), only: null);
    }

    /// <summary>
    /// Loads an HF checkpoint's encoder weights (safetensors or pytorch_model.bin, sharded or not; keys with or
    /// without the bert./roberta. prefix) through the strict loader; head keys of the checkpoint are ignored.
    /// </summary>
    static void LoadEncoder(Encoder encoder, string dir, bool allowRandom)
    {
        bool hasWeights = new[] { "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json" }
            .Any(f => File.Exists(Path.Combine(dir, f)));
        if (!hasWeights && allowRandom) return;
        if (!hasWeights) throw new InvalidInputException(dir, "the model folder holds no weights (set from_scratch: true to pretrain from random weights)");
        Checkpoint.Load(encoder, dir, new LoadOptions { BaseModelPrefix = encoder.BaseModelPrefix, AllowMissing = ["pooler.*"] });
    }

    static void LoadHeads(MultiTaskModel model, string path, string? only)
    {
        using var tensors = new DisposableDict(SafeTensors.Read(path));
        var wanted = model.heads.state_dict().Keys.Where(k => only == null || k.StartsWith(only + ".", StringComparison.Ordinal)).ToHashSet();
        var present = tensors.Items.Where(p => wanted.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value);
        var report = WeightCopy.CopyInto(model.heads, present, path);
        if (only == null && report.Missing.Count > 0)
            throw new InvalidInputException(path, $"head weights missing: {string.Join(", ", report.Missing.Take(5))}");
    }

    /// <summary>carry_heads: heads whose name and shapes match the previous stage's are loaded from it.</summary>
    static void CarryHeads(MultiTaskModel model, string previousModel)
    {
        string path = Path.Combine(previousModel, HeadsFile);
        if (!File.Exists(path)) return;
        using var tensors = new DisposableDict(SafeTensors.Read(path));
        var mine = model.heads.state_dict();
        foreach (var name in model.heads.keys())
        {
            var keys = mine.Keys.Where(k => k.StartsWith(name + ".", StringComparison.Ordinal)).ToList();
            if (keys.All(k => tensors.Items.TryGetValue(k, out var t) && t.shape.SequenceEqual(mine[k].shape)))
                WeightCopy.CopyInto(model.heads, keys.ToDictionary(k => k, k => tensors.Items[k]), path);
        }
    }

    static IEnumerable<string> TokenizerFiles(string modelDir) =>
        new[] { "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "sentencepiece.bpe.model", "spiece.model", "vocab.json", "merges.txt" }
            .Select(f => Path.Combine(modelDir, f)).Where(File.Exists);

    sealed class DisposableDict(Dictionary<string, Tensor> items) : IDisposable
    {
        public Dictionary<string, Tensor> Items { get; } = items;
        public void Dispose() { foreach (var t in Items.Values) t.Dispose(); }
    }
}

/// <summary>
/// Length-grouped batches per task and epoch (HF's LengthGroupedSampler idea): shuffle, cut into mega-batches of 50
/// batches, sort each by length so batches pad little, then shuffle the batch order. The order is a pure function of
/// (seed, stage, task, epoch), so a <see cref="DataCursor"/> is all a checkpoint needs.
/// </summary>
internal sealed class EpochBatches(long seed, int stage, int batchSize)
{
    readonly Dictionary<(string, int), List<int[]>> _epochs = [];

    public (List<int[][]> Rows, DataCursor Next) Take(string task, CachedRows rows, DataCursor cursor)
    {
        var batches = Epoch(task, rows, cursor.Epoch);
        var batch = batches[cursor.Batch].Select(i => rows[i]).ToList();
        var next = cursor.Batch + 1 < batches.Count ? cursor with { Batch = cursor.Batch + 1 } : new DataCursor(cursor.Epoch + 1, 0);
        return (batch, next);
    }

    List<int[]> Epoch(string task, CachedRows rows, int epoch)
    {
        if (_epochs.TryGetValue((task, epoch), out var cached)) return cached;
        if (rows.Count == 0) throw new InvalidInputException(task, "the training data is empty");
        var rng = Xoshiro256.Derive(seed, Xoshiro256.Key("batches"), stage, Xoshiro256.Key(task), epoch);
        var order = Enumerable.Range(0, rows.Count).ToArray();
        rng.Shuffle(order);
        var batches = new List<int[]>();
        int mega = batchSize * 50;
        for (int start = 0; start < order.Length; start += mega)
        {
            var group = order.Skip(start).Take(mega).OrderByDescending(i => rows.Lengths[i]).ToArray(); // stable sort: deterministic
            for (int b = 0; b < group.Length; b += batchSize) batches.Add(group.Skip(b).Take(batchSize).ToArray());
        }
        rng.Shuffle(batches);
        _epochs.Remove((task, epoch - 1));
        _epochs[(task, epoch)] = batches;
        return batches;
    }
}
