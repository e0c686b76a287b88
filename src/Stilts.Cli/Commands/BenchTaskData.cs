using Stilts.Inference;
using Stilts.Models;
using Stilts.Pipeline;
using Stilts.Studies;
using Stilts.Tasks;

namespace Stilts.Cli.Commands;

/// <summary>
/// The task-data mode of <c>stilts bench inference --data FOLDER</c>: the task's real examples per language,
/// generation to eos (mT5) or one forward pass (encoders), counted tokens. See <see cref="TaskInferenceBenchmark"/>.
/// </summary>
public static class BenchTaskData
{
    /// <summary>Passes is --iterations in this mode: timed passes over the examples (default 1).</summary>
    public sealed record Args(
        string Model, string Task, string Data, string? Language, Split Split, string BatchSizes, int MaxSeqLen, int MaxNewTokens,
        bool ConstrainToLabels, int? Examples, DeviceChoice Device, int Warmup, int Passes, string? Output, string? Results,
        string? Study, string? RunKey, string? Name, int? Threads = null);

    public static int Run(Args a) => CliCommon.Guard(() =>
        {
            if ((a.Results is null) != (a.Study is null)) throw new InvalidInputException("--results/--study", "give both or neither");
            var task = PipelineTasks.Get(a.Task, "--task");
            var languages = a.Language?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (languages is { Length: 0 }) throw new InvalidInputException("--language", "expected one or more comma-separated language codes");
            var options = new TaskBenchOptions
            {
                BatchSizes = CliCommon.PositiveInts("--batch-sizes", a.BatchSizes), Split = a.Split, Languages = languages, MaxSeqLen = a.MaxSeqLen,
                MaxNewTokens = a.MaxNewTokens, ConstrainToLabels = a.ConstrainToLabels, MaxExamples = a.Examples, Device = a.Device,
                Warmup = a.Warmup, Passes = a.Passes, Threads = a.Threads,
            };
            var family = Pretrained.FamilyOf(a.Model);
            var rows = TaskInferenceBenchmark.Run(a.Model, task, a.Data, options, line => Console.Error.WriteLine(line));
            string modelName = a.Name ?? Path.GetFileName(Path.GetFullPath(a.Model).TrimEnd(Path.DirectorySeparatorChar));
            string device = a.Device.ToString().ToLowerInvariant();
            string table = a.Output?.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) == true
                ? TaskInferenceBenchmark.ToCsv(rows)
                : TaskInferenceBenchmark.ToJson(modelName, task.Name, family.ToString(), device, a.Data, rows);
            if (a.Output is null) Console.Out.Write(table);
            else AtomicFile.WriteAllText(a.Output, table);
            if (a.Results is not null)
            {
                using var store = ResultsStore.Open(a.Results);
                foreach (var r in rows) store.AddTaskInference(new TaskInferenceRow(a.Study!, a.RunKey, modelName, task.Name, device, r));
            }
            return 0;
        });
}
