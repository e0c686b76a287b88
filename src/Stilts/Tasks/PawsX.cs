namespace Stilts.Tasks;

/// <summary>PAWS-X: paraphrase identification in 7 languages, labels "0"/"1".</summary>
public static class PawsX
{
    public static IReadOnlyList<string> Labels { get; } = ["0", "1"];

    public static TaskDefinition Definition { get; } = new()
    {
        Name = "pawsx", Kind = TaskKind.PairClassification, Role = TaskRole.Target, Labels = Labels,
        XtremeLanguages = Languages.PawsX,
        Layout = new("train-en.tsv", "dev-{lang}.tsv", "test-{lang}.tsv"),
        Reader = TaskDefinition.Examples((p, r) => ReadXtreme(p, r)),
        Metric = MetricName.Accuracy, XtremeFolder = "pawsx", PredictionExtension = "tsv", DefaultMaxLength = 256,
    };

    /// <summary>x-final/{lang}/{train,dev_2k,test_2k}.tsv: header id, sentence1, sentence2, label.</summary>
    public static IEnumerable<PairClassificationExample> ReadRaw(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        int id = -1, s1 = -1, s2 = -1, label = -1, width = 0;
        foreach (var (line, text) in TaskFiles.Lines(path))
        {
            if (line == 1)
            {
                string[] header = text.Split('\t');
                width = header.Length;
                id = TaskFiles.Column(header, "id", path);
                s1 = TaskFiles.Column(header, "sentence1", path);
                s2 = TaskFiles.Column(header, "sentence2", path);
                label = TaskFiles.Column(header, "label", path);
                continue;
            }
            if (string.IsNullOrWhiteSpace(text)) continue;
            string[] f = TaskFiles.Fields(path, line, text, "id, sentence1, sentence2, label", width);
            report.Read++;
            yield return new PairClassificationExample(f[id], f[s1], f[s2], TaskFiles.CheckLabel(f[label], Labels, $"{path}:{line}"));
        }
    }

    /// <summary>xtreme's pawsx/{split}-{lang}.tsv: s1, s2, label (test: no label).</summary>
    public static IEnumerable<PairClassificationExample> ReadXtreme(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        string stem = TaskFiles.Stem(path);
        foreach (var (line, text) in TaskFiles.Lines(path))
        {
            if (string.IsNullOrWhiteSpace(text)) continue;
            string[] f = TaskFiles.Fields(path, line, text, "sentence1, sentence2[, label]", 2, 3);
            report.Read++;
            yield return new PairClassificationExample($"{stem}-{line}", f[0], f[1],
                f.Length == 3 ? TaskFiles.CheckLabel(f[2], Labels, $"{path}:{line}") : null);
        }
    }
}
