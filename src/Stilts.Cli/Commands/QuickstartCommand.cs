using System.CommandLine;
using Stilts.Pipeline;
using Stilts.Tokenization;

namespace Stilts.Cli.Commands;

/// <summary>
/// stilts quickstart [--model bert|mt5] [--folder DIR] [--seed N]
/// No download: a generated multilingual toy world, a tiny BERT (or mT5) pretrained on it (multilingual and English-only),
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
        var model = new Option<QuickstartModel>("--model")
        {
            Description = "bert: a tiny BERT with masked-LM pretraining; mt5: a tiny mT5 with span-corruption pretraining, every task as text",
            DefaultValueFactory = _ => QuickstartModel.Bert,
        };

        var command = new Command("quickstart", "Toy multilingual world: MLM pretraining, baseline vs intermediate-task transfer, zero-shot table (a few minutes on a CPU)");
        command.Options.Add(folder);
        command.Options.Add(seed);
        command.Options.Add(model);
        command.SetAction(parse => CliCommon.Guard(() =>
        {
            string where = parse.GetValue(folder)!.FullName;
            var options = parse.GetValue(model) == QuickstartModel.Mt5 ? QuickstartOptions.ForMt5(where) : new QuickstartOptions { Folder = where };
            var result = TrainingProgress.Run(observer => Quickstart.Run(options with { Seed = parse.GetValue(seed), Observer = observer }, AutoTokenizer.FromFolder));
            Console.Out.WriteLine();
            Console.Out.Write(result.Table());
            return 0;
        }));
        return command;
    }
}
