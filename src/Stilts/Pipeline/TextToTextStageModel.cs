using System.Globalization;
using Stilts.Checkpoints;
using Stilts.Models;
using Stilts.Tasks;
using Stilts.Tasks.Featurization;
using Stilts.Tasks.TextToText;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Pipeline;

/// <summary>
/// mT5 / T5 in the runner: one encoder-decoder for every task, each task written as input text -> target text
/// (<see cref="TextToTextFormatter"/>), trained teacher-forced with the LM head's cross-entropy and evaluated by greedy
/// generation (optionally constrained to the label words) decoded back to the task's labels, tags or answers, so the
/// metrics are the encoder models' own. Stage folders are plain HF T5 checkpoints (config.json + model.safetensors).
/// </summary>
internal sealed class TextToTextStageModel : IStageModel
{
    readonly RunContext _ctx;
    readonly T5ForConditionalGeneration _model;
    readonly int _maxInputLength, _maxTargetLength;
    readonly SpanCorruptionOptions _spanCorruption;

    TextToTextStageModel(RunContext ctx, T5ForConditionalGeneration model, int maxInputLength, int maxTargetLength, double noiseDensity = 0.15)
    {
        _ctx = ctx;
        _model = model;
        _maxInputLength = maxInputLength;
        _maxTargetLength = maxTargetLength;
        _spanCorruption = new SpanCorruptionOptions { NoiseDensity = noiseDensity };
        if (ctx.Device.type != DeviceType.CPU) _model.to(ctx.Device);
        if (ctx.Precision != Precision.Float32) _model.to(ctx.Precision.ToScalarType());
    }

    public nn.Module Module => _model;

    public static TextToTextStageModel ForStage(RunContext ctx, StageConfig stage, string previousModel, bool fromScratch, string where)
    {
        // A stage's mlm block is T5's own pretraining objective here: span corruption at mask_probability noise density.
        if (stage.Mlm != null && ctx.Tokenizer.TokenToId("<extra_id_0>") == null)
            throw new InvalidInputException($"{where}.mlm", $"span corruption needs <extra_id_k> sentinel tokens, which the {ctx.Tokenizer.Kind} tokenizer lacks (a T5 tokenizer with extra_ids > 0 is needed)");
        return new TextToTextStageModel(ctx, Load(previousModel, fromScratch), stage.MaxSeqLen, stage.MaxTargetLen, stage.Mlm?.MaskProbability ?? 0.15);
    }

    public static TextToTextStageModel ForEvaluation(RunContext ctx, string modelFolder, EvaluationConfig eval) =>
        new(ctx, Load(modelFolder, allowRandom: false), eval.MaxSeqLen, eval.MaxNewTokens);

    static T5ForConditionalGeneration Load(string folder, bool allowRandom)
    {
        bool hasWeights = CheckpointFolder.HasWeights(folder);
        if (hasWeights) return T5ForConditionalGeneration.FromPretrained(folder);
        if (!allowRandom) throw new InvalidInputException(folder, "the model folder holds no weights (set from_scratch: true to train from random weights)");
        return T5ForConditionalGeneration.Create(T5Config.FromFile(Path.Combine(folder, "config.json")));
    }

    // ---- Training: rows are [input ids, target ids] (masked-LM corpus rows are corrupted into that form first);
    // the loss is the LM head's token cross-entropy.

    public Tensor Loss(StageTask task, IReadOnlyList<int[][]> rows, Random maskRng)
    {
        IEnumerable<TextToTextFeature> features;
        if (task.Task.Kind == TaskKind.MaskedLm)
            features = rows.Select(r => SpanCorrupted(r, maskRng)).ToList(); // in row order: the draws are a function of the seed
        else if (rows.Any(r => r[1].Length == 0))
            throw new InvalidInputException(task.Name, "a training example has no target (an unlabelled row in the train split)");
        else
            features = rows.Select(r => new TextToTextFeature(r[0], r[1], []));
        using var batch = TextToTextFeaturizer.Collate([.. features], _ctx.Tokenizer.Special.PadId, _ctx.Device);
        var output = _model.Forward(batch.InputIds, batch.AttentionMask, labels: batch.Labels);
        return output.Loss!;
    }

    /// <summary>A corpus row [ids ending in &lt;/s&gt;, special-token mask] re-noised with this micro-batch's generator.</summary>
    TextToTextFeature SpanCorrupted(int[][] row, Random rng)
    {
        int eos = _ctx.Tokenizer.Special.EosId!.Value;
        // The text's pieces: everything but the appended end token (an <unk> inside the text is text, and stays).
        var ids = row[0];
        int n = ids.Length > 0 && ids[^1] == eos && row[1][^1] != 0 ? ids.Length - 1 : ids.Length;
        var (input, target) = SpanCorruption.Corrupt(new ArraySegment<int>(ids, 0, n), _ctx.Tokenizer, _spanCorruption, rng);
        return new TextToTextFeature(input, target, []);
    }

    // ---- Validation and prediction: generate, decode to the task's own prediction type.

    public double Validate(StageTask task, int batchSize)
    {
        var predictions = Generate(task.Task, task.ValExamples, _maxInputLength, _maxTargetLength, constrain: false, batchSize);
        return TaskScoring.Score(task.Task, task.ValExamples, predictions, task.Language)?.Value ?? 0;
    }

    public TaskPredictions Predict(PipelineTask task, string head, IReadOnlyList<string> files, IReadOnlyList<TaskExample> examples, string language, EvaluationConfig eval) =>
        Generate(task, examples, eval.MaxSeqLen, eval.MaxNewTokens, eval.ConstrainToLabels, eval.BatchSize);

    TaskPredictions Generate(PipelineTask task, IReadOnlyList<TaskExample> examples, int maxInput, int maxNew, bool constrain, int batchSize)
    {
        var predictions = TextToTextPredictor.Predict(_model, _ctx.Tokenizer, task.Verbalizer, examples, new TextToTextPredictOptions
        {
            MaxInputLength = maxInput, MaxNewTokens = maxNew, ConstrainToLabels = constrain, BatchSize = batchSize, Device = _ctx.Device,
        });
        return task.Kind switch
        {
            TaskKind.SpanQa => new TaskPredictions(Answers: examples.Zip(predictions).ToDictionary(p => p.First.Id, p => p.Second.Answer ?? "", StringComparer.Ordinal)),
            TaskKind.Tagging => new TaskPredictions(Tags: [.. predictions.Select(p => (IReadOnlyList<string>)p.Tags!)]),
            TaskKind.MultipleChoice => new TaskPredictions(Labels: [.. predictions.Select(p => (p.Choice ?? -1).ToString(CultureInfo.InvariantCulture))]),
            // Text that names no label is kept (one line, as generated) so the prediction file shows it and it counts as wrong.
            _ => new TaskPredictions(Labels: [.. predictions.Select(p => p.Label ?? OneLine(p.Generated))]),
        };
    }

    static string OneLine(string text)
    {
        string s = string.Join(' ', text.Split((char[])['\n', '\r', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
        return s.Length == 0 ? "<empty>" : s;
    }

    // ---- Weights: the whole model is one HF checkpoint.

    public void SaveWeights(string dir) => _model.SavePretrained(dir);

    public void LoadWeights(string dir)
    {
        string path = Path.Combine(dir, "model.safetensors");
        using var tensors = new OwnedTensors(SafeTensors.Read(path));
        _model.LoadWeights(tensors.Items, path);
    }

    public void SaveModel(string dir) => _model.SavePretrained(dir);

    public void Dispose() => _model.Dispose();
}
