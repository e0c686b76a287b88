using Stilts.Checkpoints;
using Stilts.Metrics;
using Stilts.Models;
using Stilts.Tasks;
using Stilts.Tasks.Featurization;
using Stilts.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using FeatureLabels = Stilts.Tasks.Featurization.Labels;

namespace Stilts.Pipeline;

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
/// BERT / XLM-R in the runner: the encoder is saved as an HF base-model safetensors file (loadable by any HF
/// tool), the heads beside it in heads.safetensors keyed "&lt;head&gt;.&lt;param&gt;".
/// </summary>
internal sealed class EncoderStageModel : IStageModel
{
    const string EncoderFile = "model.safetensors", HeadsFile = "heads.safetensors";

    readonly RunContext _ctx;
    readonly EncoderConfig _config;
    readonly MultiTaskModel _model;
    readonly Collator _collator;
    readonly double _maskProbability;

    EncoderStageModel(RunContext ctx, EncoderConfig config, MultiTaskModel model, double maskProbability)
    {
        _ctx = ctx;
        _config = config;
        _model = model;
        _collator = Collator.For(ctx.Tokenizer);
        _maskProbability = maskProbability;
    }

    public nn.Module Module => _model;

    /// <summary>The previous stage's encoder (or the pretrained one), a fresh head per head name, or carried ones when asked.</summary>
    public static EncoderStageModel ForStage(RunContext ctx, StageConfig stage, IReadOnlyList<StageTask> tasks, string previousModel, bool fromScratch, string where)
    {
        var config = EncoderConfig.FromFile(Path.Combine(previousModel, "config.json"));
        var encoder = Encoder.Create(config, addPoolingLayer: true);
        LoadEncoder(encoder, previousModel, fromScratch);
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
        return new EncoderStageModel(ctx, config, model, stage.Mlm?.MaskProbability ?? 0.15);
    }

    /// <summary>The final model of a run with the one head the target was trained with.</summary>
    public static EncoderStageModel ForEvaluation(RunContext ctx, string modelFolder, PipelineTask task, string head)
    {
        var config = EncoderConfig.FromFile(Path.Combine(modelFolder, "config.json"));
        var encoder = Encoder.Create(config, addPoolingLayer: true);
        LoadEncoder(encoder, modelFolder, allowRandom: false);
        var model = new MultiTaskModel(encoder, [(head, TaskHead.Create(task.HeadKind, encoder, Math.Max(task.Labels.Count, 1)))]);
        string headsPath = Path.Combine(modelFolder, HeadsFile);
        if (!File.Exists(headsPath) || !SafeTensors.ReadIndex(headsPath).Entries.Any(e => e.Name.StartsWith(head + ".", StringComparison.Ordinal)))
            throw new InvalidInputException($"{modelFolder}: head '{head}'", $"the model has no trained head for {task.Name}; train it in the last stage or set evaluate.head");
        LoadHeads(model, headsPath, only: head);
        model.Place(ctx.Device, ctx.Precision);
        return new EncoderStageModel(ctx, config, model, 0.15);
    }

    // ---- Training.

    public Tensor Loss(StageTask task, IReadOnlyList<int[][]> rows, Random maskRng)
    {
        using var batch = Collate(task.Task.Kind, rows, maskRng);
        var head = _model.heads[task.Head];
        var logits = head.Apply(_model.encoder, Input(batch));
        return head.Loss(logits, Labels(batch, task.Task.Kind));
    }

    Batch Collate(TaskKind kind, IReadOnlyList<int[][]> rows, Random maskRng)
    {
        switch (kind)
        {
            case TaskKind.MaskedLm:
                var masking = new MaskingOptions { Probability = _maskProbability };
                return _collator.MaskedLm(rows.Select(r => MaskedLanguageModeling.Mask(
                    new MaskedLmFeature(r[0], r[1].Select(v => v != 0).ToArray()), _ctx.Tokenizer, masking, maskRng)).ToList());
            case TaskKind.Tagging:
                return _collator.Tagging(rows.Select(ToTagging).ToList());
            case TaskKind.MultipleChoice:
                return _collator.MultipleChoice(rows.Select(ToChoices).ToList());
            case TaskKind.SpanQa:
                return _collator.SpanQa(rows.Select(PipelineTask.ToSpanQa).ToList());
            default:
                return _collator.Classification(rows.Select(r => new ClassificationFeature(r[0], Ones(r[0].Length), r[1], r[2][0])).ToList());
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

    static int[] Ones(int n) { var a = new int[n]; Array.Fill(a, 1); return a; }

    EncoderInput Input(Batch b) => new(b.InputIds.to(_ctx.Device), b.AttentionMask.to(_ctx.Device), b.TokenTypeIds.to(_ctx.Device));

    Tensor Labels(Batch b, TaskKind kind) =>
        kind == TaskKind.SpanQa ? stack([b.StartPositions!, b.EndPositions!], 1).to(_ctx.Device) : b.Labels!.to(_ctx.Device); // QA head: (B, 2)

    // ---- Validation and prediction.

    /// <summary>The task's evaluation metric on the validation subset: accuracy, seqeval F1 for tagging, (EM + F1) / 2 for span QA.</summary>
    public double Validate(StageTask task, int batchSize) =>
        TaskScoring.Score(task.Task, task.ValExamples, Predictions(task.Task, task.Head, task.Val, task.ValExamples, batchSize), task.Language)?.Value ?? 0;

    public TaskPredictions Predict(PipelineTask task, string head, IReadOnlyList<string> files, IReadOnlyList<TaskExample> examples, string language, EvaluationConfig eval)
    {
        var options = new FeaturizeOptions { MaxLength = eval.MaxSeqLen, DocStride = eval.DocStride, MaxQueryLength = eval.MaxQueryLength };
        using var rows = _ctx.Rows(task, files, eval.Split, language, options, training: false);
        return Predictions(task, head, [.. Enumerable.Range(0, rows.Count).Select(i => rows[i])], examples, eval.BatchSize);
    }

    /// <summary>Rows of whole examples to predictions; span QA decodes answers from the examples' contexts.</summary>
    TaskPredictions Predictions(PipelineTask task, string head, IReadOnlyList<int[][]> rows, IReadOnlyList<TaskExample> examples, int batchSize)
    {
        if (task.Kind == TaskKind.SpanQa)
            return new TaskPredictions(Answers: PredictAnswers(head, rows, [.. examples.Cast<SpanQaExample>()], batchSize));
        var predicted = PredictRows(head, task.Kind, rows, batchSize);
        if (task.Kind != TaskKind.Tagging) return new TaskPredictions(Labels: [.. predicted.Select(p => task.Labels[p[0]])]);
        // Token predictions at each word's first subword, pieces of long sentences merged back in order.
        var features = rows.Select(ToTagging).ToList();
        var words = TaggingFeaturizer.MergePredictions(features, [.. predicted.Select(p => (IReadOnlyList<int>)p)]);
        return new TaskPredictions(Tags: [.. words.Select(s => (IReadOnlyList<string>)[.. s.Select(w => task.Labels[w])])]);
    }

    /// <summary>Predicted label index per row (classification) or per token (tagging), in row order.</summary>
    List<int[]> PredictRows(string head, TaskKind kind, IReadOnlyList<int[][]> rows, int batchSize)
    {
        _model.eval();
        var predictions = new int[rows.Count][];
        // Sorted by length so batches pad little; predictions go back to row order.
        var order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i][0].Length).ToArray();
        using var noGrad = no_grad();
        for (int start = 0; start < order.Length; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var idx = order.Skip(start).Take(batchSize).ToArray();
            using var batch = Collate(kind, idx.Select(i => rows[i]).ToList(), new Random(0));
            var logits = _model.heads[head].Apply(_model.encoder, Input(batch));
            var argmax = logits.argmax(-1).to(ScalarType.Int32).cpu();
            var flat = argmax.data<int>().ToArray();
            int width = kind == TaskKind.Tagging ? (int)argmax.shape[1] : 1;
            for (int k = 0; k < idx.Length; k++) predictions[idx[k]] = flat.AsSpan(k * width, width).ToArray();
        }
        return [.. predictions];
    }

    /// <summary>The answer text of every question, {id: answer} (n-best 20, at most 30 tokens, run_squad's search).</summary>
    Dictionary<string, string> PredictAnswers(string head, IReadOnlyList<int[][]> rows, IReadOnlyList<SpanQaExample> examples, int batchSize)
    {
        _model.eval();
        var starts = new float[rows.Count][];
        var ends = new float[rows.Count][];
        var order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i][0].Length).ToArray();
        using (var noGrad = no_grad())
        {
            for (int first = 0; first < order.Length; first += batchSize)
            {
                using var scope = NewDisposeScope();
                var idx = order.Skip(first).Take(batchSize).ToArray();
                using var batch = _collator.SpanQa(idx.Select(i => PipelineTask.ToSpanQa(rows[i])).ToList());
                var logits = _model.heads[head].Apply(_model.encoder, Input(batch)).to(ScalarType.Float32).cpu();
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
        }
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

    // ---- Weights.

    public void SaveWeights(string dir)
    {
        var encoder = _model.encoder.state_dict().ToDictionary(p => $"{_model.encoder.BaseModelPrefix}.{p.Key}", p => p.Value.cpu());
        SafeTensors.Write(Path.Combine(dir, EncoderFile), encoder);
        var heads = _model.heads.state_dict().ToDictionary(p => p.Key, p => p.Value.cpu());
        SafeTensors.Write(Path.Combine(dir, HeadsFile), heads);
    }

    public void LoadWeights(string dir)
    {
        LoadEncoder(_model.encoder, dir, allowRandom: false);
        LoadHeads(_model, Path.Combine(dir, HeadsFile), only: null);
    }

    public void SaveModel(string dir)
    {
        SaveWeights(dir);
        _config.Save(Path.Combine(dir, "config.json"));
    }

    /// <summary>
    /// Loads an HF checkpoint's encoder weights (safetensors or pytorch_model.bin, sharded or not; keys with or
    /// without the bert./roberta. prefix) through the strict loader; head keys of the checkpoint are ignored.
    /// </summary>
    static void LoadEncoder(Encoder encoder, string dir, bool allowRandom)
    {
        bool hasWeights = CheckpointFolder.HasWeights(dir);
        if (!hasWeights && allowRandom) return;
        if (!hasWeights) throw new InvalidInputException(dir, "the model folder holds no weights (set from_scratch: true to pretrain from random weights)");
        Checkpoint.Load(encoder, dir, new LoadOptions { BaseModelPrefix = encoder.BaseModelPrefix, AllowMissing = ["pooler.*"] });
    }

    /// <summary>All heads of the model from a heads file (keys "&lt;head&gt;.&lt;param&gt;"), or only the named one; missing keys are an error.</summary>
    static void LoadHeads(MultiTaskModel model, string path, string? only) =>
        Checkpoint.LoadFile(only == null ? model.heads : model.heads[only], path, new LoadOptions { KeyPrefix = only });

    /// <summary>carry_heads: heads whose name and shapes match the previous stage's are loaded from it.</summary>
    static void CarryHeads(MultiTaskModel model, string previousModel)
    {
        string path = Path.Combine(previousModel, HeadsFile);
        if (!File.Exists(path)) return;
        var stored = SafeTensors.ReadIndex(path).Entries.ToDictionary(e => e.Name, e => e.Shape);
        var mine = model.heads.state_dict();
        var matching = model.heads.keys().Where(name => mine.Where(p => p.Key.StartsWith(name + ".", StringComparison.Ordinal))
            .All(p => stored.TryGetValue(p.Key, out var shape) && shape.SequenceEqual(p.Value.shape))).ToList();
        if (matching.Count == 0) return;
        using var tensors = new OwnedTensors(SafeTensors.Read(path));
        foreach (var name in matching)
            Checkpoint.LoadInto(model.heads[name], tensors.Items, new LoadOptions { KeyPrefix = name });
    }

    public void Dispose() => _model.Dispose();

}
