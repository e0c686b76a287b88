using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Stilts.Models;
using Stilts.Pipeline;
using Stilts.Tasks;
using Stilts.Tasks.Featurization;
using Stilts.Tasks.TextToText;
using Stilts.Tokenization;
using TorchSharp;
using static TorchSharp.torch;
using StringBuilder = System.Text.StringBuilder;

namespace Stilts.Inference;

/// <summary>What one timed call of the task mode does.</summary>
public enum TaskBenchCall
{
    /// <summary>Encoder forward pass (classification: one row per example; multiple choice: one per choice).</summary>
    Forward,
    /// <summary>mT5 greedy generation that stops at eos (or after MaxNewTokens).</summary>
    Generate,
    /// <summary>mT5 greedy generation restricted to the label words or the example's choices.</summary>
    ConstrainedGenerate,
    /// <summary>mT5 multiple choice by likelihood: every choice scored teacher-forced, nothing generated.</summary>
    ScoreChoices,
}

/// <summary>What the task mode measures: the task's own examples per language, batched in file order.</summary>
public sealed record TaskBenchOptions
{
    public IReadOnlyList<int> BatchSizes { get; init; } = [1, 8, 32];
    public Split Split { get; init; } = Split.Test;
    /// <summary>Languages to measure; null: every language the folder holds the split for.</summary>
    public IReadOnlyList<string>? Languages { get; init; }
    /// <summary>Input truncation, as evaluate.max_seq_len (default 256).</summary>
    public int MaxSeqLen { get; init; } = 256;
    /// <summary>Most generated tokens of free decoding, as evaluate.max_new_tokens (constrained decoding needs at most the longest label).</summary>
    public int MaxNewTokens { get; init; } = 64;
    public bool ConstrainToLabels { get; init; }
    /// <summary>At most this many examples per language (the first ones of the file); null: all.</summary>
    public int? MaxExamples { get; init; }
    /// <summary>Untimed batches (the first ones, cycling) before each (language, batch size) measurement.</summary>
    public int Warmup { get; init; } = 3;
    /// <summary>Timed passes over each language's examples.</summary>
    public int Passes { get; init; } = 1;
    public DeviceChoice Device { get; init; } = DeviceChoice.Cpu;
    public int? Threads { get; init; }
}

/// <summary>
/// One (language, batch size) measurement on real task inputs. Every call of every pass is timed: TotalSeconds is the
/// sum of the per-batch latencies, and the throughputs are the counted work over it (examples/s = TimedExamples /
/// TotalSeconds; input tokens are the non-pad ids fed to the model, generated tokens those produced up to and
/// including eos). Percentiles are over the per-batch latencies; the last batch of a pass may be smaller.
/// </summary>
public sealed record TaskLatencyResult(
    string Language, Split Split, int BatchSize, TaskBenchCall Call, int MaxSeqLen, int MaxNewTokens,
    int Examples, int Passes, int TimedBatches, int TimedExamples, double TotalSeconds,
    double P50Ms, double P95Ms, double P99Ms, double MeanMs,
    long InputTokens, long GeneratedTokens, int MaxGeneratedLength,
    double ExamplesPerSecond, double InputTokensPerSecond, double GeneratedTokensPerSecond,
    double MeanInputLength, double MeanGeneratedLength, double PeakMemoryMb)
{
    /// <summary>Checks the figures against each other: ordered percentiles, counts that add up, throughput = work / time.</summary>
    public bool IsConsistent(double relTol = 1e-9) =>
        P50Ms > 0 && P50Ms <= P95Ms && P95Ms <= P99Ms
        && TimedExamples == Examples * Passes && TimedBatches == (Examples + BatchSize - 1) / BatchSize * Passes
        && Close(MeanMs, TotalSeconds * 1000 / TimedBatches, relTol)
        && Close(ExamplesPerSecond, TimedExamples / TotalSeconds, relTol)
        && Close(InputTokensPerSecond, InputTokens / TotalSeconds, relTol)
        && Close(GeneratedTokensPerSecond, GeneratedTokens / TotalSeconds, relTol)
        && Close(MeanInputLength, (double)InputTokens / TimedExamples, relTol)
        && Close(MeanGeneratedLength, (double)GeneratedTokens / TimedExamples, relTol)
        && (long)MaxGeneratedLength * TimedExamples >= GeneratedTokens
        && (Call != TaskBenchCall.Generate || MaxGeneratedLength <= MaxNewTokens)
        && (Call is TaskBenchCall.Generate or TaskBenchCall.ConstrainedGenerate || GeneratedTokens == 0);

    static bool Close(double a, double b, double relTol) => Math.Abs(a - b) <= relTol * Math.Max(Math.Abs(a), Math.Abs(b));
}

/// <summary>
/// Inference latency and throughput on a task's real examples, the way the runner predicts them: mT5 formats each
/// example with the task's verbalizer and generates greedily until eos (optionally constrained to the labels, as
/// evaluate.constrain_to_labels does); encoders run one forward pass of the runner's classification or
/// multiple-choice features. Unlike <see cref="InferenceBenchmark"/>'s fixed work, the work here depends on the
/// weights (how long the model talks before eos), so fine-tuning regimes can differ.
/// </summary>
public static class TaskInferenceBenchmark
{
    /// <summary>The examples of each language to measure, in file order, capped at MaxExamples.</summary>
    public static List<(string Language, IReadOnlyList<TaskExample> Examples)> ReadExamples(PipelineTask task, string dataFolder, TaskBenchOptions options)
    {
        if (!Directory.Exists(dataFolder)) throw new InvalidInputException(dataFolder, "the data folder was not found");
        if (options.MaxExamples is < 1) throw new InvalidInputException("--examples", $"expected a positive number, got {options.MaxExamples}");
        string split = options.Split.ToString().ToLowerInvariant();
        var available = task.Languages(dataFolder, options.Split);
        var languages = options.Languages ?? available;
        if (languages.Count == 0) throw new InvalidInputException(dataFolder, $"no {split} file of task {task.Name} (expected {split}-<lang>.{task.Extension})");
        var result = new List<(string, IReadOnlyList<TaskExample>)>();
        foreach (var language in languages)
        {
            if (!available.Contains(language))
                throw new InvalidInputException("--language", $"'{language}': {dataFolder} has no {split} file of task {task.Name} for it (has: {string.Join(", ", available)})");
            var files = task.Files(dataFolder, options.Split, language);
            var examples = task.Read(files, language);
            List<TaskExample> list = [.. options.MaxExamples is int cap ? examples.Take(cap) : examples];
            if (list.Count == 0) throw new InvalidInputException(files[0], $"no examples of task {task.Name}");
            result.Add((language, list));
        }
        return result;
    }

    /// <summary>Loads the checkpoint and tokenizer of <paramref name="modelDir"/>, reads the task's data and measures every setting.</summary>
    public static IReadOnlyList<TaskLatencyResult> Run(string modelDir, PipelineTask task, string dataFolder, TaskBenchOptions options, Action<string>? log = null)
    {
        var data = ReadExamples(task, dataFolder, options);
        var tokenizer = AutoTokenizer.FromFolder(modelDir);
        if (Pretrained.FamilyOf(modelDir) == ModelFamily.T5)
        {
            using var model = T5ForConditionalGeneration.FromPretrained(modelDir).Place(options.Device);
            return Run(model, tokenizer, task, data, options, log);
        }
        using var encoder = Pretrained.LoadEncoder(modelDir, options.Device).Encoder;
        return Run(encoder, tokenizer, task, data, options, log);
    }

    /// <summary>mT5: each batch's generation (or choice scoring), exactly as <see cref="TextToTextPredictor"/> makes its predictions.</summary>
    public static IReadOnlyList<TaskLatencyResult> Run(T5ForConditionalGeneration model, TextTokenizer tokenizer, PipelineTask task,
        IReadOnlyList<(string Language, IReadOnlyList<TaskExample> Examples)> data, TaskBenchOptions options, Action<string>? log = null)
    {
        model.eval();
        var v = task.Verbalizer;
        // The same tries and hooks as TextToTextPredictor.Predict, so the timed work is the evaluation's work.
        var labelTrie = v.Target == TargetForm.LabelWord && options.ConstrainToLabels
            ? SequenceTrie.Create(v.LabelWords.Select(w => TextToTextFeaturizer.Target(tokenizer, w, options.MaxNewTokens + 1)))
            : null;
        bool score = v.Target == TargetForm.ChoiceText && v.ChoiceMode == ChoiceMode.Score;
        bool constrainChoices = v.Target == TargetForm.ChoiceText && options.ConstrainToLabels;
        var call = score ? TaskBenchCall.ScoreChoices : labelTrie is not null || constrainChoices ? TaskBenchCall.ConstrainedGenerate : TaskBenchCall.Generate;
        var withinVocabulary = ConstrainedDecoding.WithinVocabulary(tokenizer.VocabSize);

        return Sweep(data, options, log, call, (examples, device) =>
        {
            var formatted = examples.Select(e => TextToTextFormatter.Format(v, e)).ToList();
            var inputs = formatted.Select(f => tokenizer.Encode(f.Input, options: new EncodeOptions { MaxLength = options.MaxSeqLen }).Ids).ToList();
            var choiceIds = formatted.Select(f => (IReadOnlyList<int[]>)[.. f.Choices.Select(c => TextToTextFeaturizer.Target(tokenizer, c, options.MaxNewTokens + 1))]).ToList();
            var batch = TextToTextFeaturizer.Collate([.. inputs.Select(ids => new TextToTextFeature(ids, [], []))], tokenizer.Special.PadId, device);
            Func<Tensor?> run = call switch
            {
                TaskBenchCall.ScoreChoices => () => { SequenceScoring.Choose(model, batch.InputIds, batch.AttentionMask, choiceIds); return null; },
                TaskBenchCall.ConstrainedGenerate when labelTrie is not null => () => ConstrainedDecoding.Generate(model, batch.InputIds, batch.AttentionMask, labelTrie),
                TaskBenchCall.ConstrainedGenerate => () => ConstrainedDecoding.Generate(model, batch.InputIds, batch.AttentionMask, [.. choiceIds.Select(c => SequenceTrie.Create(c))]),
                _ => () => model.Generate(batch.InputIds, batch.AttentionMask, options.MaxNewTokens, withinVocabulary),
            };
            return new PreparedBatch(examples.Count, inputs.Sum(i => (long)i.Length), run, batch);
        }, generated => [.. ConstrainedDecoding.Rows(generated, model.Config).Select(r => r.Length)]);
    }

    /// <summary>Encoders: one forward pass per batch of the runner's classification or multiple-choice features (no head: its cost is negligible).</summary>
    public static IReadOnlyList<TaskLatencyResult> Run(Encoder encoder, TextTokenizer tokenizer, PipelineTask task,
        IReadOnlyList<(string Language, IReadOnlyList<TaskExample> Examples)> data, TaskBenchOptions options, Action<string>? log = null)
    {
        if (task.Kind is not (TaskKind.SentenceClassification or TaskKind.PairClassification or TaskKind.MultipleChoice))
            throw new InvalidInputException("--task", $"the task mode times encoders on classification and multiple-choice tasks; {task.Name} is {task.Kind}");
        encoder.eval();
        var c = encoder.Config;
        // RoBERTa positions start after the padding index, so two positions are unusable.
        int positions = c.Family == EncoderFamily.Roberta ? c.MaxPositionEmbeddings - c.PadTokenId - 1 : c.MaxPositionEmbeddings;
        return Sweep(data, options, log, TaskBenchCall.Forward, (examples, device) =>
        {
            var rows = new List<(int[] Ids, int[] Types)>();
            foreach (var example in examples)
                switch (example)
                {
                    case SentenceClassificationExample s:
                        var sf = ClassificationFeaturizer.Featurize(tokenizer, s.Text, null, Labels.Ignore, options.MaxSeqLen);
                        rows.Add((sf.InputIds, sf.TokenTypeIds));
                        break;
                    case PairClassificationExample p:
                        var pf = ClassificationFeaturizer.Featurize(tokenizer, p.Text, p.TextPair, Labels.Ignore, options.MaxSeqLen);
                        rows.Add((pf.InputIds, pf.TokenTypeIds));
                        break;
                    case MultipleChoiceExample c:
                        // As the runner's multiple-choice head: (B, C, T) runs through the encoder as (B*C, T).
                        var cf = MultipleChoiceFeaturizer.Featurize(tokenizer, c.Context, c.Question, c.Choices, Labels.Ignore, options.MaxSeqLen);
                        for (int k = 0; k < cf.NumChoices; k++) rows.Add((cf.InputIds[k], cf.TokenTypeIds[k]));
                        break;
                    default:
                        throw new InvalidInputException($"example \"{example.Id}\"", $"a {example.GetType().Name} is not timed by the task mode");
                }
            int width = rows.Max(r => r.Ids.Length);
            if (width > positions)
                throw new InvalidInputException("--max-seq-len", $"{options.MaxSeqLen} lets inputs of {width} tokens through; the model has {positions} positions");
            var ids = tensor(Collator.Pad([.. rows.Select(r => r.Ids)], width, tokenizer.Special.PadId), [rows.Count, width], device: device);
            var mask = tensor(Collator.Pad([.. rows.Select(r => ClassificationFeaturizer.Ones(r.Ids.Length))], width, 0), [rows.Count, width], device: device);
            var types = tensor(Collator.Pad([.. rows.Select(r => r.Types)], width, 0), [rows.Count, width], device: device);
            return new PreparedBatch(examples.Count, rows.Sum(r => (long)r.Ids.Length),
                () => { using var output = encoder.call(new EncoderInput(ids, mask, types)); return null; }, ids, mask, types);
        }, null);
    }

    /// <summary>A batch ready on the device: its example and input-token counts and the call to time.</summary>
    sealed class PreparedBatch(int examples, long inputTokens, Func<Tensor?> call, params IDisposable[] owned) : IDisposable
    {
        public int Examples { get; } = examples;
        public long InputTokens { get; } = inputTokens;
        public Func<Tensor?> Call { get; } = call;
        public void Dispose() { foreach (var d in owned) d.Dispose(); }
    }

    static List<TaskLatencyResult> Sweep(IReadOnlyList<(string Language, IReadOnlyList<TaskExample> Examples)> data, TaskBenchOptions options, Action<string>? log,
        TaskBenchCall call, Func<IReadOnlyList<TaskExample>, Device, PreparedBatch> prepare, Func<Tensor, int[]>? generatedLengths)
    {
        if (options.BatchSizes.Count == 0 || options.BatchSizes.Any(b => b < 1)) throw new InvalidInputException("--batch-sizes", "expected positive batch sizes");
        if (options.Passes < 1 || options.Warmup < 0) throw new InvalidInputException("--iterations/--warmup", "need at least one timed pass and a non-negative warmup");
        if (options.MaxSeqLen < 2) throw new InvalidInputException("--max-seq-len", $"expected at least 2, got {options.MaxSeqLen}");
        if (options.MaxNewTokens < 1) throw new InvalidInputException("--max-new-tokens", $"expected a positive number, got {options.MaxNewTokens}");
        if (options.Threads is int threads)
        {
            if (threads < 1) throw new InvalidInputException("--threads", $"expected a positive number, got {threads}");
            set_num_threads(threads);
        }
        var device = Placement.Resolve(options.Device);
        var results = new List<TaskLatencyResult>();
        using var noGrad = no_grad();
        foreach (var (language, examples) in data)
            foreach (int batchSize in options.BatchSizes)
            {
                var batches = new List<PreparedBatch>();
                try
                {
                    for (int start = 0; start < examples.Count; start += batchSize)
                        batches.Add(prepare([.. examples.Skip(start).Take(batchSize)], device));
                    var r = Measure(language, batchSize, call, batches, examples.Count, options, device, generatedLengths);
                    log?.Invoke($"{language} batch {batchSize}: {r.Examples} examples, p50 {r.P50Ms:F2} ms, p95 {r.P95Ms:F2}, p99 {r.P99Ms:F2}, {r.ExamplesPerSecond:F1} ex/s, "
                        + $"{r.InputTokensPerSecond:F0} in tok/s, {r.GeneratedTokensPerSecond:F0} gen tok/s, mean in {r.MeanInputLength:F1}, mean gen {r.MeanGeneratedLength:F2}, peak {r.PeakMemoryMb:F0} MB");
                    results.Add(r);
                }
                finally { foreach (var b in batches) b.Dispose(); }
            }
        return results;
    }

    static TaskLatencyResult Measure(string language, int batchSize, TaskBenchCall call, List<PreparedBatch> batches, int exampleCount,
        TaskBenchOptions options, Device device, Func<Tensor, int[]>? generatedLengths)
    {
        for (int i = 0; i < options.Warmup; i++) Time(batches[i % batches.Count], device, generatedLengths);
        LatencyBenchmark.ResetPeakRss();
        var ms = new List<double>();
        long inputTokens = 0, generatedTokens = 0;
        int timedExamples = 0, maxGenerated = 0;
        for (int pass = 0; pass < options.Passes; pass++)
            foreach (var batch in batches)
            {
                var (elapsed, lengths) = Time(batch, device, generatedLengths);
                ms.Add(elapsed);
                timedExamples += batch.Examples;
                inputTokens += batch.InputTokens;
                generatedTokens += lengths.Sum(l => (long)l);
                maxGenerated = Math.Max(maxGenerated, lengths.Length == 0 ? 0 : lengths.Max());
            }
        double totalMs = ms.Sum(), seconds = totalMs / 1000;
        var sorted = ms.Order().ToArray();
        return new TaskLatencyResult(language, options.Split, batchSize, call, options.MaxSeqLen, options.MaxNewTokens,
            exampleCount, options.Passes, ms.Count, timedExamples, seconds,
            LatencyBenchmark.Percentile(sorted, 50), LatencyBenchmark.Percentile(sorted, 95), LatencyBenchmark.Percentile(sorted, 99), totalMs / ms.Count,
            inputTokens, generatedTokens, maxGenerated,
            timedExamples / seconds, inputTokens / seconds, generatedTokens / seconds,
            (double)inputTokens / timedExamples, (double)generatedTokens / timedExamples, LatencyBenchmark.PeakRssMb());
    }

    /// <summary>One call timed (kernels included on CUDA), then its generated lengths counted outside the clock.</summary>
    static (double Ms, int[] Lengths) Time(PreparedBatch batch, Device device, Func<Tensor, int[]>? generatedLengths)
    {
        using var scope = NewDisposeScope();
        long start = Stopwatch.GetTimestamp();
        var output = batch.Call();
        if (device.type == DeviceType.CUDA) cuda.synchronize();
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        int[] lengths = output is not null && generatedLengths is not null ? generatedLengths(output) : [];
        return (ms, lengths);
    }

    static readonly string[] CsvColumns =
    [
        "language", "split", "batch_size", "call", "max_seq_len", "max_new_tokens", "examples", "passes", "timed_batches", "timed_examples",
        "total_seconds", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "input_tokens", "generated_tokens", "max_generated_length",
        "examples_per_second", "input_tokens_per_second", "generated_tokens_per_second", "mean_input_length", "mean_generated_length", "peak_memory_mb",
    ];

    /// <summary>The table as CSV (one row per language and batch size; invariant culture; enums in lower case).</summary>
    public static string ToCsv(IEnumerable<TaskLatencyResult> rows)
    {
        var sb = new StringBuilder(string.Join(',', CsvColumns)).Append('\n');
        foreach (var r in rows)
            sb.Append(string.Join(',', new object[]
            {
                r.Language, r.Split.ToString().ToLowerInvariant(), r.BatchSize, r.Call.ToString().ToLowerInvariant(), r.MaxSeqLen, r.MaxNewTokens,
                r.Examples, r.Passes, r.TimedBatches, r.TimedExamples, r.TotalSeconds, r.P50Ms, r.P95Ms, r.P99Ms, r.MeanMs,
                r.InputTokens, r.GeneratedTokens, r.MaxGeneratedLength, r.ExamplesPerSecond, r.InputTokensPerSecond, r.GeneratedTokensPerSecond,
                r.MeanInputLength, r.MeanGeneratedLength, r.PeakMemoryMb,
            }.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)))).Append('\n');
        return sb.ToString();
    }

    /// <summary>The table as a JSON document (snake_case names as the CSV columns) with what was measured alongside the rows.</summary>
    public static string ToJson(string model, string task, string family, string device, string data, IEnumerable<TaskLatencyResult> rows) =>
        JsonSerializer.Serialize(new { model, task, family, device, data, mode = "task", results = rows }, new JsonSerializerOptions
        {
            WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        });
}
