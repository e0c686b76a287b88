using System.CommandLine;
using Stilts.Metrics.Scoring;

namespace Stilts.Cli.Commands;

/// <summary>
/// stilts score --benchmark xtreme|xtreme-r --predictions DIR --labels DIR [--output FILE] [--partial]
/// Scores a prediction folder against a label folder with the arithmetic of xtreme's evaluate.py and prints JSON.
/// </summary>
public static class ScoreCommand
{
    public static Command Create()
    {
        var benchmark = new Option<string>("--benchmark")
        {
            Description = "Benchmark whose tasks and languages to score: xtreme or xtreme-r",
            Required = true,
        };
        benchmark.AcceptOnlyFromAmong("xtreme", "xtreme-r");
        var predictions = new Option<DirectoryInfo>("--predictions")
        {
            Description = "Folder with <task>/test-<lang>.<tsv|json|jsonl> predictions",
            Required = true,
        };
        var labels = new Option<DirectoryInfo>("--labels")
        {
            Description = "Folder with the gold files in the same layout",
            Required = true,
        };
        var output = new Option<FileInfo?>("--output") { Description = "Also write the JSON report here (atomically)" };
        var partial = new Option<bool>("--partial")
        {
            Description = "Score the files that exist and list the missing ones instead of failing",
        };

        var command = new Command("score", "Score predictions on XTREME / XTREME-R as xtreme's evaluate.py does");
        command.Options.Add(benchmark);
        command.Options.Add(predictions);
        command.Options.Add(labels);
        command.Options.Add(output);
        command.Options.Add(partial);
        command.SetAction(parse => CliCommon.Guard(() =>
        {
            var result = XtremeScorer.Score(
                BenchmarkLanguages.Parse(parse.GetValue(benchmark)!),
                parse.GetValue(predictions)!.FullName,
                parse.GetValue(labels)!.FullName,
                parse.GetValue(partial));
            string json = result.ToJson();
            if (parse.GetValue(output) is FileInfo file) AtomicFile.WriteAllText(file.FullName, json);
            foreach (string missing in result.MissingFiles) Console.Error.WriteLine($"missing: {missing}");
            Console.Out.Write(json);
            return 0;
        }));
        return command;
    }
}
