using System.Text.Json;
using System.Text.Json.Nodes;
using Stilts.Pipeline;
using Stilts.Tokenization;

namespace Stilts.Studies;

/// <summary>
/// Turns a planned study run into the pipeline's run definition and executes it with <see cref="ExperimentRunner"/>.
/// An intermediate run trains the regime's stages; a target run fine-tunes on the target (starting from the
/// intermediate run's model, or the pretrained one for the baseline) and evaluates zero-shot on its languages.
/// Metrics come back as "score" rows in percent (task-level under language "") plus the task's official metric.
/// </summary>
public static class PipelineExecutor
{
    // Keys of a target entry that configure evaluation rather than the fine-tuning stage: eval_X is evaluate.X
    // (X also a stage key), and the keys only evaluation has (text-to-text decoding, retrieval pooling) go as they are.
    static readonly string[] EvalPrefixed = ["data", "max_seq_len", "batch_size", "head", "split", "doc_stride", "max_query_length"];
    static readonly string[] EvaluationOnly = ["languages", "max_new_tokens", "constrain_to_labels", "layer", "pooling"];
    static readonly string[] EvaluationKeys = ["task", "train", .. EvalPrefixed.Select(k => "eval_" + k), .. EvaluationOnly];

    public static RunExecutor Create(string? cacheDir = null, ITrainingObserver? observer = null) => (study, run, startFrom, folder) =>
    {
        var config = BuildConfig(study, run, startFrom);
        var result = ExperimentRunner.Run(config, new RunOptions
        {
            RunDir = folder, CacheDir = cacheDir, LoadTokenizer = AutoTokenizer.FromFolder, Observer = observer, TensorBoard = false,
        });
        var metrics = new List<MetricRow>();
        if (result.Evaluation is { } eval)
        {
            foreach (var lang in eval.Languages.Where(l => l.Score.HasValue))
            {
                metrics.Add(new MetricRow(run.Key, eval.Task, lang.Language, "score", lang.Score!.Value * 100));
                metrics.Add(new MetricRow(run.Key, eval.Task, lang.Language, eval.Metric, lang.Score!.Value * 100));
            }
            if (eval.Average is double avg) metrics.Add(new MetricRow(run.Key, eval.Task, "", "score", avg * 100));
        }
        var timings = result.Stages.ToDictionary(s => $"steps:{s.Name}", s => (double)s.Steps);
        return new RunOutcome(metrics, result.ModelDir, timings);
    };

    /// <summary>The pipeline run definition of one planned run (validated by the pipeline's own parser).</summary>
    public static RunConfig BuildConfig(StudyFile study, PlannedRun run, string? startFrom)
    {
        var root = Parse(study.OverridesJson);
        root["model"] = startFrom ?? run.Model.Path;
        root["seed"] = run.Seed;
        if (root["data_dir"] is null) root["data_dir"] = study.Folder;
        var defaults = Parse(study.StageDefaultsJson);
        var stages = new JsonArray();
        if (run.Kind == PlannedRunKind.Intermediate)
        {
            for (int i = 0; i < run.Regime.StageJson.Count; i++)
                stages.Add(Stage(defaults, Parse(run.Regime.StageJson[i]), $"{run.Regime.Name}-{i + 1}"));
        }
        else
        {
            var target = Parse(study.TargetJson[run.Target!]);
            bool train = target["train"]?.GetValue<string>() is not ("false" or "no");
            if (train)
            {
                var stage = new JsonObject();
                foreach (var (k, v) in target) if (!EvaluationKeys.Contains(k) && k != "data") stage[k] = v?.DeepClone();
                var task = new JsonObject { ["task"] = run.Target };
                if (target["data"] is { } data) task["data"] = data.DeepClone();
                stage["tasks"] = new JsonArray(task);
                stages.Add(Stage(defaults, stage, "target"));
            }
            var evaluate = new JsonObject { ["task"] = run.Target };
            if (target["data"] is { } trainData) evaluate["data"] = trainData.DeepClone();
            foreach (var key in EvalPrefixed)
                if (target["eval_" + key] is { } value) evaluate[key] = value.DeepClone();
            foreach (var key in EvaluationOnly)
                if (target[key] is { } value) evaluate[key] = value.DeepClone();
            root["evaluate"] = evaluate;
        }
        root["stages"] = stages;
        Absolutize(root, study.Folder);
        // Study files store every scalar as a string; YAML parsing gives the pipeline's types back.
        return RunConfig.FromYaml(root.ToJsonString(), $"{study.SourcePath} [{run.Key}]");
    }

    static JsonObject Stage(JsonObject defaults, JsonObject stage, string defaultName)
    {
        var merged = (JsonObject)defaults.DeepClone();
        foreach (var (k, v) in stage) merged[k] = v?.DeepClone();
        if (merged["task"] is { } single) // shorthand: {task: X, data: D, language: L, head: H} for a one-task stage
        {
            var spec = new JsonObject { ["task"] = single.DeepClone() };
            foreach (var key in new[] { "data", "language", "head" })
                if (merged[key] is { } value) { spec[key] = value.DeepClone(); merged.Remove(key); }
            merged.Remove("task");
            merged["tasks"] = new JsonArray(spec);
        }
        if (merged["tasks"] is JsonArray tasks) // tasks: [a, b] shorthand for [{task: a}, {task: b}]
            for (int i = 0; i < tasks.Count; i++)
                if (tasks[i] is JsonValue v) tasks[i] = new JsonObject { ["task"] = v.GetValue<string>() };
        merged["name"] ??= defaultName;
        return merged;
    }

    // Paths in a study file are relative to the study file's folder.
    static void Absolutize(JsonNode? node, string folder)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(kv => kv.Key).ToList())
                {
                    if (key is "data" or "corpus" or "data_dir" or "eval_data" && o[key] is JsonValue v && v.TryGetValue<string>(out var p) && !Path.IsPathRooted(p))
                        o[key] = Path.GetFullPath(Path.Combine(folder, p));
                    else Absolutize(o[key], folder);
                }
                break;
            case JsonArray a:
                foreach (var item in a) Absolutize(item, folder);
                break;
        }
    }

    static JsonObject Parse(string json) => JsonNode.Parse(json) as JsonObject ?? new JsonObject();
}
