using System.CommandLine;
using Stilts.Studies;

namespace Stilts.Cli.Commands;

/// <summary>stilts report --study STUDY.yaml --output DIR: Markdown, CSV, PNG/SVG plots and one self-contained HTML page.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var study = new Option<FileInfo>("--study") { Description = "Study file (YAML)", Required = true };
        var output = new Option<DirectoryInfo>("--output") { Description = "Folder for report.md, report.html, CSV tables and plots", Required = true };
        var command = new Command("report", "Write the study report: the paper's table, deltas, per-language and resource-level views, comparisons") { study, output };
        command.SetAction(parse => CliCommon.Guard(() =>
        {
            var file = StudyFile.Load(parse.GetValue(study)!.FullName);
            if (!File.Exists(file.ResultsPath)) throw new InvalidInputException(file.ResultsPath, "no results database yet: run `stilts run` first");
            using var store = ResultsStore.Open(file.ResultsPath);
            var files = StudyReport.Write(file, store, parse.GetValue(output)!.FullName);
            Console.WriteLine($"wrote {files.Markdown}, {files.Html}, {files.Csv.Count} CSV table(s), {files.Plots.Count} plot file(s)");
            return 0;
        }));
        return command;
    }
}
