namespace Stilts.Tasks;

/// <summary>Quora Question Pairs (GLUE tsv): 2-way paraphrase classification, labels "0"/"1".</summary>
public static class Qqp
{
    public static IReadOnlyList<string> Labels { get; } = ["0", "1"];

    public static TaskDefinition Definition { get; } = new()
    {
        Name = "qqp", Kind = TaskKind.PairClassification, Role = TaskRole.Intermediate, Labels = Labels,
        Layout = new("QQP/train.tsv", "QQP/dev.tsv", "QQP/test.tsv"),
        Reader = TaskDefinition.Examples((p, r) => Read(p, r)), Metric = MetricName.Accuracy, DefaultMaxLength = 256,
    };

    /// <summary>
    /// GLUE QQP/{train,dev,test}.tsv: header id, qid1, qid2, question1, question2, is_duplicate (test: id, question1,
    /// question2). A row with the wrong column count is an error naming its line, not silently skipped.
    /// </summary>
    public static IEnumerable<PairClassificationExample> Read(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        int id = -1, q1 = -1, q2 = -1, dup = -1, width = 0;
        foreach (var (line, text) in TaskFiles.Lines(path))
        {
            if (line == 1)
            {
                string[] header = text.Split('\t');
                width = header.Length;
                q1 = TaskFiles.Column(header, "question1", path);
                q2 = TaskFiles.Column(header, "question2", path);
                dup = Array.IndexOf(header, "is_duplicate");
                id = Array.IndexOf(header, "id");
                continue;
            }
            if (string.IsNullOrWhiteSpace(text)) continue;
            string[] f = TaskFiles.Fields(path, line, text, "a QQP row as wide as the header", width);
            report.Read++;
            yield return new PairClassificationExample(id >= 0 ? f[id] : $"qqp-{line}", f[q1], f[q2],
                dup >= 0 ? TaskFiles.CheckLabel(f[dup], Labels, $"{path}:{line}") : null);
        }
    }
}
