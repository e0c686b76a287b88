using System.CommandLine;
using Stilts.Studies;

namespace Stilts.Cli.Commands;

/// <summary>
/// stilts validate STUDY.yaml: type-checks the study and every run definition it expands to, lists the runs with
/// what they depend on and whether they are already done, and estimates their cost, without training.
/// </summary>
public static class ValidateCommand
{
    public static Command Create()
    {
        var study = new Argument<FileInfo>("study") { Description = "Study file (YAML)" };
        var command = new Command("validate", "Check a study file, list its runs and estimate their cost") { study };
        command.SetAction(parse => CliCommon.Guard(() =>
        {
            var file = StudyFile.Load(parse.GetValue(study)!.FullName);
            var plan = StudyPlan.Expand(file);
            var done = File.Exists(file.ResultsPath)
                ? OpenDone(file) : new HashSet<string>();
            var estimates = plan.Select(r => (Run: r, Cost: StudyCost.Estimate(file, r))).ToList();
            Console.WriteLine($"study {file.Name}: {file.Models.Count} model(s) x {file.Regimes.Count} regime(s) x {file.Targets.Count} target(s) x {file.Seeds.Count} seed(s)");
            Console.WriteLine($"{plan.Count(r => r.Kind == PlannedRunKind.Intermediate)} intermediate run(s), trained once and reused by every target; {plan.Count(r => r.Kind == PlannedRunKind.Target)} target run(s)");
            Console.WriteLine();
            Console.WriteLine($"{"run",-48} {"after",-36} {"steps",10} {"est. PFLOP",11}  status");
            foreach (var (run, cost) in estimates)
                Console.WriteLine($"{run.Key,-48} {run.DependsOn ?? "-",-36} {cost.Steps?.ToString("N0") ?? "?",10} {(cost.Flops is double f ? (f / 1e15).ToString("0.000") : "?"),11}  {(done.Contains(run.Key) ? "done" : "to run")}");
            double total = estimates.Where(e => !done.Contains(e.Run.Key)).Sum(e => e.Cost.Flops ?? 0);
            Console.WriteLine();
            Console.WriteLine($"still to run: {plan.Count(r => !done.Contains(r.Key))} run(s), about {total / 1e15:0.000} PFLOP of training " +
                              $"(~{StudyCost.Hours(total, 2e12):0.0} h at 2 TFLOP/s sustained, ~{StudyCost.Hours(total, 200e12):0.00} h at 200 TFLOP/s)");
            foreach (var warning in estimates.SelectMany(e => e.Cost.Notes).Distinct()) Console.WriteLine($"note: {warning}");
            return 0;
        }));
        return command;
    }

    static HashSet<string> OpenDone(StudyFile file)
    {
        using var store = ResultsStore.Open(file.ResultsPath);
        return store.Runs(file.Name).Where(r => r.Status == RunStatus.Done).Select(r => r.Key).ToHashSet();
    }
}
