using System.Diagnostics;
using System.Text.Json;
using Stilts.Checkpoints;
using Stilts.Models;
using Stilts.Tasks;
using Stilts.Tokenization;
using Stilts.Training;
using TorchSharp;
using AdamW = Stilts.Training.AdamWOptimizer;
using static TorchSharp.torch;

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

/// <summary>What every part of a run shares: config, tokenizer, model family, device, cache and log.</summary>
internal sealed record RunContext(RunConfig Config, string RunDir, TextTokenizer Tokenizer, string Fingerprint, ModelFamily Family,
    Device Device, Precision Precision, FeatureCache Cache, TrainingLog Log)
{
    /// <summary>Encoder-decoders (T5) learn every task as text; encoders get a head per task.</summary>
    public bool IsTextToText => Family == ModelFamily.T5;

    /// <summary>A task's rows of one split and language from the tokenize-once cache (featurized on first use).</summary>
    public CachedRows Rows(PipelineTask task, IReadOnlyList<string> files, Split split, string language, FeaturizeOptions options, bool training)
    {
        // Open label sets (learned from training data) change the label ids, so they are part of the key.
        string labels = task.Definition.Labels.Count == 0 && task.Labels.Count > 0
            ? "-labels" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", task.Labels))))[..12]
            : "";
        var key = new CacheKey(task.Name, split.ToString(), language, string.Join("|", files), Fingerprint, options.MaxLength, options.CacheVariant(task.Kind) + labels);
        return Cache.GetOrCreate(key, () => task.Featurize(files, language, Tokenizer, options, training));
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
    const string OptimizerFile = "optimizer.safetensors", StateFile = "trainer_state.json", HeadLabelsFile = "head_labels.json";

    public static RunResult Run(RunConfig config, RunOptions options)
    {
        // ---- Setup: run folder, resolved config, tokenizer, encoder config, device, cache, logs.
        string runDir = Path.GetFullPath(options.RunDir);
        Directory.CreateDirectory(runDir);
        // Re-running resumes; a different config in the same folder would silently mix two experiments.
        string resolved = Path.Combine(runDir, "run.yaml");
        // The saved file is re-read with today's defaults, so a folder started before a new setting existed still resumes.
        if (File.Exists(resolved) && RunConfig.FromFile(resolved).ToYaml() != config.ToYaml())
            throw new InvalidInputException(resolved, "this run folder was started with a different config; use a new --run-dir (or delete the folder) to start over");
        config.Save(resolved);
        string modelDir = Path.GetFullPath(config.Model);
        var tokenizer = options.LoadTokenizer(modelDir);
        var family = Pretrained.FamilyOf(modelDir);
        var device = Placement.Resolve(config.Device);
        var precision = config.Bf16 && device.type == DeviceType.CUDA ? Precision.BFloat16 : Precision.Float32;
        var cache = new FeatureCache(options.ResolvedCacheDir);
        using var log = new TrainingLog(runDir, options.Observer, options.TensorBoard);
        if (config.Bf16 && precision == Precision.Float32) log.Message("bf16 ignored on the CPU (it is slower there than float32)");
        var ctx = new RunContext(config, runDir, tokenizer, FeatureCache.Fingerprint(tokenizer), family, device, precision, cache, log);

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

    // ---- One stage.

    static void RunStage(RunContext ctx, int stageIndex, StageConfig stage, string previousModel, string stageDir)
    {
        var config = ctx.Config;
        long seed = config.Seed;
        string where = $"stages[{stageIndex}]";
        var featurize = new FeaturizeOptions
        {
            MaxLength = stage.MaxSeqLen, DocStride = stage.DocStride, MaxQueryLength = stage.MaxQueryLength,
            TextToText = ctx.IsTextToText, MaxTargetLength = stage.MaxTargetLen,
        };

        // ---- Data: tokenize once (cached), validation subsets in memory.
        var tasks = stage.Tasks.Select((spec, t) =>
        {
            var task = PipelineTasks.Get(spec.Task, $"{where}.tasks[{t}].task");
            if (!ctx.IsTextToText) _ = task.HeadKind; // fails early for task kinds an encoder cannot train
            string folder = Path.GetFullPath(spec.Data ?? Path.Combine(config.DataDir, spec.Task));
            var trainFiles = task.Files(folder, Split.Train, spec.Language);
            var devFiles = task.Files(folder, Split.Dev, spec.Language);
            task = task.WithLabelsFrom(trainFiles, spec.Language);
            var train = ctx.Rows(task, trainFiles, Split.Train, spec.Language, featurize, training: true);
            var val = ctx.Rows(task, devFiles, Split.Dev, spec.Language, featurize, training: false);
            // The subset counts examples: every row (window, sentence piece) of the first val_subset examples.
            var examples = task.Read(devFiles, spec.Language).Take(stage.ValSubset).ToList();
            var all = Enumerable.Range(0, val.Count).Select(i => val[i]);
            var rows = ctx.IsTextToText ? []
                : task.Kind == TaskKind.SpanQa ? all.Where(r => r[2][2] < examples.Count).ToList()
                : task.Kind == TaskKind.Tagging ? all.Where(r => r[3][0] < examples.Count).ToList()
                : all.Take(examples.Count).ToList();
            val.Dispose();
            return new StageTask(spec.Task, spec.Head ?? task.Name, task, train, rows, examples, spec.Language);
        }).ToList();
        // Encoders train BERT-style masked LM on it, T5 models span corruption (the same cached rows).
        if (stage.Mlm != null)
            tasks.Add(new StageTask("mlm", "mlm", PipelineTask.MaskedLm, CorpusRows(ctx, stage.Mlm.Corpus, stage.MaxSeqLen), [], [], "en"));
        var supervised = tasks.Where(t => t.Task.Kind != TaskKind.MaskedLm).ToList();

        // ---- Model: the previous stage's weights, with fresh heads per head name (encoders) unless carried over.
        manual_seed((long)Xoshiro256.DeriveSeed(seed, Xoshiro256.Key("init"), stageIndex));
        bool fromScratch = config.FromScratch && stageIndex == 0;
        using IStageModel model = ctx.IsTextToText
            ? TextToTextStageModel.ForStage(ctx, stage, previousModel, fromScratch, where)
            : EncoderStageModel.ForStage(ctx, stage, tasks, previousModel, fromScratch, where);
        var labels = tasks.GroupBy(t => t.Head).ToDictionary(g => g.Key, g => g.First().Task.Labels);

        // ---- Optimizer and schedule: AdamW without decay on biases/LayerNorm, linear warmup then linear decay.
        var optimizer = AdamW.Create(model.Module, new AdamWOptions { LearningRate = stage.Lr, Eps = stage.AdamEpsilon, WeightDecay = stage.WeightDecay });
        int stepBatch = stage.BatchSize * stage.GradAccumulation;
        long perEpoch = supervised.Count == 0
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
            model.LoadWeights(resumeFrom);
            using (var tensors = new OwnedTensors(SafeTensors.Read(Path.Combine(resumeFrom, OptimizerFile))))
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
        var parameters = model.Module.parameters().ToList();
        var clock = Stopwatch.StartNew();
        long loggedSince = state.Step, examplesSince = 0;
        double lossSince = 0;
        while (state.Step < totalSteps && !state.StoppedEarly)
        {
            long step = state.Step;
            // One task per optimizer step; every micro-batch of the step comes from it (jiant).
            StageTask task = sampler == null ? tasks[0]
                : stage.Mlm != null && tasks[^1].Task.Kind == TaskKind.MaskedLm && mix.NextDouble() < stage.Mlm.Ratio ? tasks[^1]
                : supervised[sampler.Next(step)];
            model.Module.train();
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
                var loss = model.Loss(task, rows, new Random((int)(microSeed & 0x7FFFFFFF))) / stage.GradAccumulation;
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
                    model.Module.eval();
                    var perTask = supervised.ToDictionary(t => t.Name, t => model.Validate(t, stage.BatchSize * 4));
                    double metric = perTask.Values.Average();
                    bool improved = state.BestMetric == null || metric > state.BestMetric;
                    if (improved) AtomicFolder.Write(bestDir, d => SaveWeights(model, labels, d));
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
                    SaveWeights(model, labels, d);
                    SafeTensors.Write(Path.Combine(d, OptimizerFile), optimizer.StateTensors());
                    snapshot.Save(Path.Combine(d, StateFile));
                });
            }
        }

        // ---- Reload the best weights and save the stage's model (an HF folder, plus heads for encoders) as one atomic folder.
        if (AtomicFolder.Resolve(bestDir) is string best) model.LoadWeights(best);
        var result = new StageResult(stage.Name, state.Step, state.BestMetric, state.BestStep, state.StoppedEarly);
        AtomicFolder.Write(Path.Combine(stageDir, "final"), d =>
        {
            model.SaveModel(d);
            AtomicFile.WriteAllText(Path.Combine(d, HeadLabelsFile), JsonSerializer.Serialize(HeadLabels(previousModel, labels)));
            foreach (var f in TokenizerFiles(previousModel)) File.Copy(f, Path.Combine(d, Path.GetFileName(f)));
            AtomicFile.WriteAllText(Path.Combine(d, "stage_result.json"), JsonSerializer.Serialize(result));
        });
        foreach (var t in tasks) t.Train.Dispose();
        GC.Collect();
    }

    static long Ceil(long n, long d) => (n + d - 1) / d;

    static void SaveWeights(IStageModel model, IReadOnlyDictionary<string, IReadOnlyList<string>> labels, string dir)
    {
        model.SaveWeights(dir);
        AtomicFile.WriteAllText(Path.Combine(dir, HeadLabelsFile), JsonSerializer.Serialize(labels));
    }

    /// <summary>
    /// The label list of every head trained so far ({head: labels}, earlier stages' heads kept): evaluation of a task
    /// whose labels are not fixed by the registry (CCG, a user task) reads them from here.
    /// </summary>
    static Dictionary<string, IReadOnlyList<string>> HeadLabels(string modelFolder, IReadOnlyDictionary<string, IReadOnlyList<string>>? add = null)
    {
        string path = Path.Combine(modelFolder, HeadLabelsFile);
        var labels = File.Exists(path) ? JsonSerializer.Deserialize<Dictionary<string, IReadOnlyList<string>>>(File.ReadAllText(path)) ?? [] : [];
        if (add != null) foreach (var (head, l) in add) labels[head] = l;
        return labels;
    }

    // ---- Data helpers.

    static CachedRows CorpusRows(RunContext ctx, string corpus, int maxLength)
    {
        string full = Path.GetFullPath(corpus);
        var files = Directory.Exists(full) ? Directory.GetFiles(full, "*.txt").Order(StringComparer.Ordinal).ToArray()
            : File.Exists(full) ? [full] : throw new InvalidInputException(corpus, "the MLM corpus (a .txt file or a folder of them) was not found");
        if (files.Length == 0) throw new InvalidInputException(corpus, "the MLM corpus folder holds no .txt file");
        var key = new CacheKey("mlm", "train", string.Join("+", files.Select(Path.GetFileNameWithoutExtension)), full, ctx.Fingerprint, maxLength);
        return ctx.Cache.GetOrCreate(key, () => files.SelectMany(f => PipelineTask.MaskedLm.Featurize([f], "en", ctx.Tokenizer, new FeaturizeOptions { MaxLength = maxLength })));
    }

    // ---- Zero-shot evaluation.

    static EvaluationResult Evaluate(RunContext ctx, EvaluationConfig eval, string modelFolder)
    {
        if (RetrievalEvaluation.Handles(eval.Task))
            return RetrievalEvaluation.Run(eval, ctx.Config.DataDir, modelFolder, ctx.RunDir, ctx.Tokenizer, ctx.Config.Device, ctx.Precision, ctx.Log.Message);
        var task = PipelineTasks.Get(eval.Task, "evaluate.task");
        string folder = Path.GetFullPath(eval.Data ?? Path.Combine(ctx.Config.DataDir, eval.Task));
        var split = eval.Split;
        IReadOnlyList<string> languages = eval.Languages ?? [.. task.Languages(folder, split)];
        if (languages.Count == 0)
            throw new InvalidInputException(folder, $"no {split.ToString().ToLowerInvariant()} files to evaluate {task.Name} on ({split.ToString().ToLowerInvariant()}-<lang>.{task.Extension}, or the task's own layout)");
        var missing = task.Definition.XtremeLanguages.Union(task.Definition.XtremeRLanguages).Except(languages).ToList();
        if (eval.Languages == null && missing.Count > 0)
            ctx.Log.Message($"[evaluate] {task.Name}: {languages.Count} language(s) found in {folder}; none for {string.Join(" ", missing)}");
        string head = eval.Head ?? ctx.Config.Stages.SelectMany(s => s.Tasks).LastOrDefault(t => t.Task == eval.Task)?.Head ?? task.Name;
        if (task.Labels.Count == 0 && task.Kind != TaskKind.SpanQa)
        {
            if (!HeadLabels(modelFolder).TryGetValue(head, out var learned))
                throw new InvalidInputException($"{modelFolder}: {HeadLabelsFile}", $"no label list for head '{head}' (task {task.Name} has no fixed label set)");
            task = task with { Labels = learned };
        }

        using IStageModel model = ctx.IsTextToText
            ? TextToTextStageModel.ForEvaluation(ctx, modelFolder, eval)
            : EncoderStageModel.ForEvaluation(ctx, modelFolder, task, head);
        model.Module.eval();
        var results = new List<LanguageResult>();
        string predDir = Path.Combine(ctx.RunDir, "predictions", task.Definition.XtremeFolder ?? task.Name);
        foreach (var lang in languages)
        {
            var files = task.Files(folder, split, lang);
            var examples = task.Read(files, lang).ToList();
            var predictions = model.Predict(task, head, files, examples, lang, eval);
            string predPath = Path.Combine(predDir, task.PredictionFileName(split, lang));
            TaskScoring.WritePredictions(predPath, predictions);
            var score = TaskScoring.Score(task, examples, predictions, lang);
            int count = task.Kind == TaskKind.Tagging ? predictions.Tags!.Count : examples.Count;
            results.Add(new LanguageResult(lang, score?.Value, count, predPath) { ExactMatch = score?.ExactMatch, F1 = score?.F1 });
        }
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

    static IEnumerable<string> TokenizerFiles(string modelDir) =>
        new[] { "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "sentencepiece.bpe.model", "spiece.model", "vocab.json", "merges.txt" }
            .Select(f => Path.Combine(modelDir, f)).Where(File.Exists);

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
