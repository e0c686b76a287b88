using System.CommandLine;

namespace Stilts.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("Stilts: intermediate-task transfer learning for cross-lingual NLP");
        root.Subcommands.Add(Commands.InfoCommand.Create());
        root.Subcommands.Add(Commands.TokenizeCommand.Create());
        root.Subcommands.Add(Commands.EncodeCommand.Create());
        root.Subcommands.Add(Commands.DownloadCommand.Create());
        root.Subcommands.Add(Commands.ScoreCommand.Create());
        root.Subcommands.Add(Commands.GenerateCommand.Create());
        root.Subcommands.Add(Commands.BenchCommand.Create());
        root.Subcommands.Add(Commands.TrainCommand.Create());
        root.Subcommands.Add(Commands.QuickstartCommand.Create());
        root.Subcommands.Add(Commands.ValidateCommand.Create());
        root.Subcommands.Add(Commands.RunCommand.Create());
        root.Subcommands.Add(Commands.ResultsCommand.Create());
        root.Subcommands.Add(Commands.ReportCommand.Create());
        return root.Parse(args).Invoke();
    }
}
