using Stilts.Tasks;
using static TorchSharp.torch;

namespace Stilts.Pipeline;

/// <summary>A task of a stage with its data: the cached training rows, the validation rows and examples, and their language.</summary>
internal sealed record StageTask(string Name, string Head, PipelineTask Task, CachedRows Train, IReadOnlyList<int[][]> Val,
    IReadOnlyList<TaskExample> ValExamples, string Language);

/// <summary>
/// One language file's predictions in the task's own terms, ready for the metric: a label per example
/// (classification; the choice index for multiple choice), tags per word (tagging), {id: answer} (span QA).
/// </summary>
internal sealed record TaskPredictions(IReadOnlyList<string>? Labels = null, IReadOnlyList<IReadOnlyList<string>>? Tags = null,
    IReadOnlyDictionary<string, string>? Answers = null);

/// <summary>
/// What the runner's recipe needs from a model family: an encoder with a head per head name (<see cref="EncoderStageModel"/>)
/// or an encoder-decoder that writes every task as text (<see cref="TextToTextStageModel"/>). The recipe itself (data,
/// sampling, optimizer, schedule, validation, checkpoints, early stopping) is the same for both.
/// </summary>
internal interface IStageModel : IDisposable
{
    /// <summary>Every trainable parameter (the optimizer's groups and the clip go over it).</summary>
    TorchSharp.torch.nn.Module Module { get; }
    /// <summary>Forward pass and mean loss of one micro-batch of a task's cached rows (training mode is set by the caller).</summary>
    Tensor Loss(StageTask task, IReadOnlyList<int[][]> rows, Random maskRng);
    /// <summary>The task's major metric on its validation subset, a fraction.</summary>
    double Validate(StageTask task, int batchSize);
    /// <summary>
    /// Predictions for one evaluation file set of <paramref name="task"/> (its <paramref name="examples"/>, already read)
    /// with the head trained as <paramref name="head"/>.
    /// </summary>
    TaskPredictions Predict(PipelineTask task, string head, IReadOnlyList<string> files, IReadOnlyList<TaskExample> examples, string language, EvaluationConfig eval);
    /// <summary>Weights only (checkpoints and best weights), and back.</summary>
    void SaveWeights(string dir);
    void LoadWeights(string dir);
    /// <summary>A loadable checkpoint folder: weights, config.json (tokenizer files are copied by the runner).</summary>
    void SaveModel(string dir);
}

/// <summary>Tensors read from a file, disposed together when the caller is done copying them into a model.</summary>
internal sealed class OwnedTensors(Dictionary<string, Tensor> items) : IDisposable
{
    public Dictionary<string, Tensor> Items { get; } = items;
    public void Dispose() { foreach (var t in Items.Values) t.Dispose(); }
}
