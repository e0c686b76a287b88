using System.CommandLine;
using Stilts.Inference;
using Stilts.Models;
using Stilts.Studies;
using Stilts.Tasks;

namespace Stilts.Cli.Commands;

/// <summary>
/// stilts bench inference --model DIR --task T [--batch-sizes 1,8,32] [--seq-lens 64,128,256] [--device cpu|cuda]
/// [--generation-length N] [--output FILE] [--results DB --study NAME]: latency/throughput table of a checkpoint.
/// With --data FOLDER [--language L] [--split test|dev] [--max-seq-len N] [--max-new-tokens N] [--constrain-to-labels]
/// [--examples N]: the task's real examples instead (see <see cref="BenchTaskData"/>).
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint folder (t5/mt5 or bert/roberta/xlm-roberta config.json + model.safetensors)", Required = true };
        var task = new Option<string>("--task") { Description = "Task the model was fine-tuned on (recorded with the rows)", Required = true };
        var batchSizes = new Option<string>("--batch-sizes") { Description = "Comma-separated batch sizes", DefaultValueFactory = _ => "1,8,32" };
        var seqLens = new Option<string>("--seq-lens") { Description = "Comma-separated input lengths in tokens", DefaultValueFactory = _ => "64,128,256" };
        var device = new Option<DeviceChoice>("--device") { Description = "cpu, cuda or auto", DefaultValueFactory = _ => DeviceChoice.Cpu };
        var genLen = new Option<int>("--generation-length") { Description = "Tokens generated per example (encoder-decoders; eos suppressed)", DefaultValueFactory = _ => 16 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed calls per setting", DefaultValueFactory = _ => 3 };
        var iterations = new Option<int>("--iterations") { Description = "Timed calls per setting", DefaultValueFactory = _ => 20 };
        var output = new Option<string?>("--output") { Description = "Write the table here: .csv for CSV, else JSON (default: JSON on stdout)" };
        var results = new Option<string?>("--results") { Description = "Results database of a study (SQLite) to add the rows to" };
        var study = new Option<string?>("--study") { Description = "Study name the rows are stored under (with --results)" };
        var runKey = new Option<string?>("--run-key") { Description = "Run of the study that produced the checkpoint (with --results)" };
        var name = new Option<string?>("--name") { Description = "Model name in the rows (default: the folder name)" };
        var threads = new Option<int?>("--threads") { Description = "CPU threads for libtorch (default: libtorch's choice)" };
        // Task-data mode (--data): the task's real examples instead of random fixed-length inputs.
        var data = new Option<string?>("--data") { Description = "Task data folder: time the task's real examples (generation to eos for mT5) instead of random inputs" };
        var language = new Option<string?>("--language") { Description = "With --data: comma-separated languages (default: every language with a file of the split)" };
        var split = new Option<Split>("--split") { Description = "With --data: test or dev", DefaultValueFactory = _ => Split.Test };
        var maxSeqLen = new Option<int>("--max-seq-len") { Description = "With --data: input truncation in tokens", DefaultValueFactory = _ => 256 };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "With --data: most tokens mT5 generates per example", DefaultValueFactory = _ => 64 };
        var constrain = new Option<bool>("--constrain-to-labels") { Description = "With --data: mT5 decoding restricted to the label words / choices" };
        var examples = new Option<int?>("--examples") { Description = "With --data: at most this many examples per language (the first ones)" };

        var inference = new Command("inference", "Warmup, then p50/p95/p99 latency, examples/s, tokens/s and peak memory per batch size and length")
        {
            model, task, batchSizes, seqLens, device, genLen, warmup, iterations, output, results, study, runKey, name, threads,
            data, language, split, maxSeqLen, maxNewTokens, constrain, examples,
        };
        inference.SetAction(parse => parse.GetValue(data) is string folder
            // --iterations counts timed passes over the data here; one unless given.
            ? BenchTaskData.Run(new BenchTaskData.Args(parse.GetValue(model)!, parse.GetValue(task)!, folder, parse.GetValue(language), parse.GetValue(split),
                parse.GetValue(batchSizes)!, parse.GetValue(maxSeqLen), parse.GetValue(maxNewTokens), parse.GetValue(constrain), parse.GetValue(examples),
                parse.GetValue(device), parse.GetValue(warmup), parse.GetResult(iterations) is { Implicit: false } ? parse.GetValue(iterations) : 1,
                parse.GetValue(output), parse.GetValue(results), parse.GetValue(study), parse.GetValue(runKey), parse.GetValue(name), parse.GetValue(threads)))
            : RunInference(new InferenceArgs(
            parse.GetValue(model)!, parse.GetValue(task)!, parse.GetValue(batchSizes)!, parse.GetValue(seqLens)!, parse.GetValue(device),
            parse.GetValue(genLen), parse.GetValue(warmup), parse.GetValue(iterations), parse.GetValue(output), parse.GetValue(results),
            parse.GetValue(study), parse.GetValue(runKey), parse.GetValue(name), parse.GetValue(threads))));
        return new Command("bench", "Benchmarks") { inference };
    }

    public sealed record InferenceArgs(
        string Model, string Task, string BatchSizes, string SeqLens, DeviceChoice Device, int GenerationLength,
        int Warmup, int Iterations, string? Output, string? Results, string? Study, string? RunKey, string? Name, int? Threads = null);

    public static int RunInference(InferenceArgs a)
    {
        return CliCommon.Guard(() =>
        {
            if ((a.Results is null) != (a.Study is null)) throw new InvalidInputException("--results/--study", "give both or neither");
            if (a.GenerationLength < 1) throw new InvalidInputException("--generation-length", $"expected a positive number, got {a.GenerationLength}");
            var options = new InferenceBenchOptions
            {
                BatchSizes = CliCommon.PositiveInts("--batch-sizes", a.BatchSizes), SeqLens = CliCommon.PositiveInts("--seq-lens", a.SeqLens), Device = a.Device,
                GenerationLength = a.GenerationLength, Warmup = a.Warmup, Iterations = a.Iterations, Threads = a.Threads,
            };
            var family = Pretrained.FamilyOf(a.Model);
            var rows = InferenceBenchmark.Run(a.Model, options, line => Console.Error.WriteLine(line));
            string modelName = a.Name ?? Path.GetFileName(Path.GetFullPath(a.Model).TrimEnd(Path.DirectorySeparatorChar));
            string device = a.Device.ToString().ToLowerInvariant();
            string table = a.Output?.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) == true
                ? InferenceBenchmark.ToCsv(rows)
                : InferenceBenchmark.ToJson(modelName, a.Task, family.ToString(), device, rows);
            if (a.Output is null) Console.Out.Write(table);
            else AtomicFile.WriteAllText(a.Output, table);
            if (a.Results is not null)
            {
                using var store = ResultsStore.Open(a.Results);
                foreach (var r in rows)
                    store.AddInference(new InferenceRow(a.Study!, a.RunKey, modelName, a.Task, device, r.BatchSize, r.SeqLen, r.GenerationLength,
                        r.P50Ms, r.P95Ms, r.P99Ms, r.ExamplesPerSecond, r.TokensPerSecond, r.PeakMemoryMb));
            }
            return 0;
        });
    }
}
