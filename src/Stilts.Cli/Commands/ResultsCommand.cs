using System.CommandLine;
using Stilts.Studies;

namespace Stilts.Cli.Commands;

/// <summary>stilts results export --study STUDY.yaml --format csv|json [--output FILE]: every metric row of a study.</summary>
public static class ResultsCommand
{
    public static Command Create()
    {
        var study = new Option<FileInfo>("--study") { Description = "Study file (YAML)", Required = true };
        var format = new Option<ExportFormat>("--format") { Description = "csv or json", DefaultValueFactory = _ => ExportFormat.Csv };
        var output = new Option<FileInfo?>("--output") { Description = "Write here (atomically) instead of stdout" };
        var export = new Command("export", "Export a study's metrics joined with their runs") { study, format, output };
        export.SetAction(parse => CliCommon.Guard(() =>
        {
            var file = StudyFile.Load(parse.GetValue(study)!.FullName);
            if (!File.Exists(file.ResultsPath)) throw new InvalidInputException(file.ResultsPath, "no results database yet: run `stilts run` first");
            using var store = ResultsStore.Open(file.ResultsPath);
            string text = store.Export(file.Name, parse.GetValue(format));
            if (parse.GetValue(output) is FileInfo o) AtomicFile.WriteAllText(o.FullName, text);
            else Console.Out.Write(text);
            return 0;
        }));
        return new Command("results", "Work with a study's results database") { export };
    }
}
