using System.CommandLine;
using Stilts.Pipeline;
using Stilts.Tokenization;

namespace Stilts.Cli.Commands;

/// <summary>
/// stilts train RUN.yaml --run-dir DIR [--cache-dir DIR] [--seed N] [--device cpu|cuda|auto]
/// Runs (or resumes: same command, same folder) an experiment: stages, then zero-shot evaluation.
/// </summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var config = new Argument<FileInfo>("config") { Description = "Run definition (YAML)" };
        var runDir = new Option<DirectoryInfo>("--run-dir") { Description = "Run folder; re-running with the same folder resumes", Required = true };
        var cacheDir = new Option<DirectoryInfo?>("--cache-dir") { Description = "Tokenize-once cache (default $STILTS_CACHE or ~/.cache/stilts/features)" };
        var seed = new Option<int?>("--seed") { Description = "Override the config's seed" };
        var device = new Option<string?>("--device") { Description = "Override the config's device: cpu, cuda or auto" };
        device.AcceptOnlyFromAmong("cpu", "cuda", "auto");
        var noTensorBoard = new Option<bool>("--no-tensorboard") { Description = "Do not write TensorBoard event files" };

        var command = new Command("train", "Train and evaluate a run definition (intermediate stages, target, zero-shot evaluation)");
        command.Arguments.Add(config);
        command.Options.Add(runDir);
        command.Options.Add(cacheDir);
        command.Options.Add(seed);
        command.Options.Add(device);
        command.Options.Add(noTensorBoard);
        command.SetAction(parse => CliCommon.Guard(() =>
        {
            var run = RunConfig.FromFile(parse.GetValue(config)!.FullName);
            if (parse.GetValue(seed) is int s) run = run with { Seed = s };
            if (parse.GetValue(device) is string d) run = run with { Device = Enum.Parse<Models.DeviceChoice>(d, ignoreCase: true) };
            var result = TrainingProgress.Run(observer => ExperimentRunner.Run(run, new RunOptions
            {
                RunDir = parse.GetValue(runDir)!.FullName,
                CacheDir = parse.GetValue(cacheDir)?.FullName,
                LoadTokenizer = AutoTokenizer.FromFolder,
                Observer = observer,
                TensorBoard = !parse.GetValue(noTensorBoard),
            }));
            foreach (var stage in result.Stages)
                Console.Out.WriteLine($"stage {stage.Name}: {stage.Steps} steps, best val {stage.BestMetric?.ToString("F4") ?? "-"} at step {stage.BestStep}{(stage.StoppedEarly ? " (early stop)" : "")}");
            if (result.Evaluation is EvaluationResult eval)
            {
                Console.Out.WriteLine($"zero-shot {eval.Task} {eval.Metric}:");
                foreach (var lang in eval.Languages) Console.Out.WriteLine($"  {lang.Language,-6} {(lang.Score is double a ? (a * 100).ToString("F2") : "-"),7}");
                if (eval.Average is double avg) Console.Out.WriteLine($"  {"avg",-6} {avg * 100,7:F2}");
            }
            Console.Out.WriteLine($"model: {result.ModelDir}");
            return 0;
        }));
        return command;
    }
}
