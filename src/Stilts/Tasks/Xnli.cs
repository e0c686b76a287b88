namespace Stilts.Tasks;

/// <summary>
/// XNLI: 3-way NLI in 15 languages, trained on English MNLI. Reads the raw XNLI-1.0 tsv (all languages in one file,
/// filtered by language) and xtreme's preprocessed 3-column tsv.
/// </summary>
public static class Xnli
{
    public static IReadOnlyList<string> Labels { get; } = ["contradiction", "entailment", "neutral"];

    public static TaskDefinition Definition { get; } = new()
    {
        Name = "xnli", Kind = TaskKind.PairClassification, Role = TaskRole.Target, Labels = Labels,
        XtremeLanguages = Languages.Xnli, XtremeRLanguages = Languages.Xnli,
        Layout = new("train-en.tsv", "dev-{lang}.tsv", "test-{lang}.tsv"),
        Reader = TaskDefinition.Examples((p, r) => ReadXtreme(p, r)),
        Metric = MetricName.Accuracy, XtremeFolder = "xnli", PredictionExtension = "tsv", DefaultMaxLength = 256,
    };

    /// <summary>
    /// XNLI-1.0/xnli.{dev,test}.tsv: header row; columns found by name (language, gold_label, sentence1, sentence2,
    /// pairID), which are cols 0, 1, 6, 7 and 9 in the release. Only rows of <paramref name="language"/> are kept.
    /// </summary>
    public static IEnumerable<PairClassificationExample> ReadRaw(string path, string language, ReadReport? report = null)
    {
        Languages.Check(language, Languages.Xnli, path);
        report ??= new ReadReport();
        int lang = -1, gold = -1, s1 = -1, s2 = -1, pair = -1, width = 0;
        foreach (var (line, text) in TaskFiles.Lines(path))
        {
            if (line == 1)
            {
                string[] header = text.Split('\t');
                width = header.Length;
                lang = TaskFiles.Column(header, "language", path);
                gold = TaskFiles.Column(header, "gold_label", path);
                s1 = TaskFiles.Column(header, "sentence1", path);
                s2 = TaskFiles.Column(header, "sentence2", path);
                pair = Array.IndexOf(header, "pairID");
                continue;
            }
            if (string.IsNullOrWhiteSpace(text)) continue;
            string[] f = TaskFiles.Fields(path, line, text, "an XNLI-1.0 row as wide as the header", width);
            if (f[lang] != language) continue;
            report.Read++;
            yield return new PairClassificationExample(
                pair >= 0 ? f[pair] : $"{language}-{line}", f[s1], f[s2],
                NormalizeLabel(f[gold], $"{path}:{line}"));
        }
    }

    /// <summary>
    /// xtreme's xnli/{train-en,dev-xx,test-xx}.tsv: premise, hypothesis, label (test: no label column). Also reads
    /// XNLI-MT's multinli.train.en.tsv, whose header row ("premise hypo label") is skipped.
    /// </summary>
    public static IEnumerable<PairClassificationExample> ReadXtreme(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        string stem = TaskFiles.Stem(path);
        foreach (var (line, text) in TaskFiles.Lines(path))
        {
            if (string.IsNullOrWhiteSpace(text)) continue;
            string[] f = TaskFiles.Fields(path, line, text, "premise, hypothesis[, label]", 2, 3);
            if (line == 1 && f.Length == 3 && f[2] is "label" or "gold_label") continue;
            report.Read++;
            yield return new PairClassificationExample($"{stem}-{line}", f[0], f[1],
                f.Length == 3 ? NormalizeLabel(f[2], $"{path}:{line}") : null);
        }
    }

    /// <summary>XNLI-MT and xtreme spell contradiction "contradictory"; everything else must be in the label set.</summary>
    internal static string NormalizeLabel(string label, string where) =>
        TaskFiles.CheckLabel(label == "contradictory" ? "contradiction" : label, Labels, where);
}
