namespace Stilts.Tasks;

/// <summary>MultiNLI (GLUE tsv): the English training set for XNLI and part of ANLI+.</summary>
public static class Mnli
{
    public static IReadOnlyList<string> Labels => Xnli.Labels;

    /// <summary>
    /// GLUE MNLI/{train,dev_matched,dev_mismatched,test_matched,...}.tsv. Columns are found by header name
    /// (sentence1, sentence2, gold_label, pairID) because they differ between train/dev and test; test files
    /// have no gold_label, giving null labels. Streams (train has 392,702 rows).
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
            if (text.Length == 0) continue;
            string[] f = TaskFiles.Fields(path, line, text, "an MNLI row as wide as the header", width);
            report.Read++;
            yield return new PairClassificationExample(pair >= 0 ? f[pair] : $"mnli-{line}", f[s1], f[s2],
                gold >= 0 ? TaskFiles.CheckLabel(f[gold], Labels, $"{path}:{line}") : null);
        }
    }
}
