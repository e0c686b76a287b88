namespace Stilts.Tasks;

/// <summary>SNLI 1.0 jsonl: part of ANLI+. Pairs whose annotators did not agree (gold_label "-") are dropped and counted.</summary>
public static class Snli
{
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "snli", Kind = TaskKind.PairClassification, Role = TaskRole.Intermediate, Labels = Labels,
        Layout = new("snli_1.0/snli_1.0_train.jsonl", "snli_1.0/snli_1.0_dev.jsonl", "snli_1.0/snli_1.0_test.jsonl"),
        Reader = TaskDefinition.Examples((p, r) => Read(p, r)), Metric = MetricName.Accuracy, DefaultMaxLength = 256,
    };

    public static IReadOnlyList<string> Labels => Xnli.Labels;

    public static IEnumerable<PairClassificationExample> Read(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        foreach (var (line, obj) in TaskFiles.JsonLines(path))
        {
            string where = $"{path}:{line}";
            string gold = TaskFiles.Str(obj, "gold_label", where);
            if (gold == "-") { report.Skip($"{where}: gold_label \"-\" (no annotator majority)"); continue; }
            report.Read++;
            yield return new PairClassificationExample(
                TaskFiles.OptStr(obj, "pairID", where) ?? $"snli-{line}",
                TaskFiles.Str(obj, "sentence1", where), TaskFiles.Str(obj, "sentence2", where),
                TaskFiles.CheckLabel(gold, Labels, where));
        }
    }
}
