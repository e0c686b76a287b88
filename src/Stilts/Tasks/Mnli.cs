namespace Stilts.Tasks;

/// <summary>MultiNLI (GLUE tsv): the English training set for XNLI and part of ANLI+.</summary>
public static class Mnli
{
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "mnli", Kind = TaskKind.PairClassification, Role = TaskRole.Intermediate, Labels = Labels,
        Layout = new("MNLI/train.tsv", "MNLI/dev_matched.tsv", "MNLI/test_matched.tsv"),
        Reader = TaskDefinition.Examples((p, r) => Read(p, r)), Metric = MetricName.Accuracy, DefaultMaxLength = 256,
    };

    public static IReadOnlyList<string> Labels => Xnli.Labels;

    /// <summary>
    /// GLUE MNLI/{train,dev_matched,dev_mismatched,test_matched,...}.tsv. Columns are found by header name
    /// (sentence1, sentence2, gold_label, pairID) because they differ between train/dev and test; test files
    /// have no gold_label, giving null labels. Streams (train has 392,702 rows). gold_label is the last header column,
    /// so it is taken as each row's last field: rows may omit some of the optional label1..label5 annotator columns.
    /// </summary>
    public static IEnumerable<PairClassificationExample> Read(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        int s1 = -1, s2 = -1, gold = -1, pair = -1, width = 0;
        foreach (var (line, text) in TaskFiles.Lines(path))
        {
            if (line == 1)
            {
                string[] header = text.Split('\t');
                width = header.Length;
                s1 = TaskFiles.Column(header, "sentence1", path);
                s2 = TaskFiles.Column(header, "sentence2", path);
                gold = Array.IndexOf(header, "gold_label");
                pair = Array.IndexOf(header, "pairID");
                continue;
            }
            if (string.IsNullOrWhiteSpace(text)) continue;
            string[] f = text.Split('\t');
            int need = Math.Max(Math.Max(s1, s2), pair) + 1 + (gold >= 0 ? 1 : 0);
            if (f.Length < need || f.Length > width)
                throw InvalidInputException.AtLine(path, line, $"expected an MNLI row of {need}..{width} tab-separated columns, found {f.Length}");
            string? label = gold < 0 ? null : gold == width - 1 ? f[^1] : f[gold];
            report.Read++;
            yield return new PairClassificationExample(pair >= 0 ? f[pair] : $"mnli-{line}", f[s1], f[s2],
                label is null ? null : TaskFiles.CheckLabel(label, Labels, $"{path}:{line}"));
        }
    }
}
