using System.CommandLine;
using Stilts.Pipeline;
using Stilts.Tokenization;

namespace Stilts.Cli.Commands;

/// <summary>
/// stilts quickstart [--folder DIR] [--seed N]
/// No download: a generated multilingual toy world, a tiny BERT pretrained on it (multilingual and English-only),
/// baseline vs intermediate-task transfer, zero-shot on the other toy languages, and a results table.
/// </summary>
public static class QuickstartCommand
{
    public static Command Create()
    {
        var folder = new Option<DirectoryInfo>("--folder")
        {
            Description = "Where the toy world, models and runs go (re-running resumes)",
            DefaultValueFactory = _ => new DirectoryInfo("stilts-quickstart"),
        };
        var seed = new Option<int>("--seed") { Description = "Seed of the toy world and of training", DefaultValueFactory = _ => 1 };

        var command = new Command("quickstart", "Toy multilingual world: MLM pretraining, baseline vs intermediate-task transfer, zero-shot table (a few minutes on a CPU)");
        command.Options.Add(folder);
        command.Options.Add(seed);
        command.SetAction(parse => CliCommon.Guard(() =>
        {
            var result = TrainingProgress.Run(observer => Quickstart.Run(
                new QuickstartOptions { Folder = parse.GetValue(folder)!.FullName, Seed = parse.GetValue(seed), Observer = observer },
                AutoTokenizer.FromFolder));
            Console.Out.WriteLine();
            Console.Out.Write(result.Table());
            return 0;
        }));
        return command;
    }
}
