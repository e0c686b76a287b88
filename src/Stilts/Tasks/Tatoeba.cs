namespace Stilts.Tasks;

/// <summary>
/// Tatoeba similarity search (LASER v1 test sets, 1,000 pairs per language). English sentences are the queries and
/// the foreign sentences the index, as in xtreme; the metric is top-1 accuracy.
/// </summary>
public static class Tatoeba
{
    /// <summary>Evaluation only: one test set per language; the gold comes from test-{lang}.tsv in the folder when present.</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "tatoeba", Kind = TaskKind.SimilaritySearch, Role = TaskRole.Target,
        XtremeLanguages = Languages.Tatoeba, XtremeRLanguages = Languages.TatoebaR,
        Layout = new(null, null, "{lang}-en.{lang}"),
        Reader = new RetrievalReader((folder, lang, _) => ReadXtreme(folder, lang, LabelsIn(folder, lang))),
        Metric = MetricName.Top1Accuracy, XtremeFolder = "tatoeba", PredictionExtension = "tsv", DefaultMaxLength = 512,
    };

    /// <summary>xtreme's label file test-{lang}.tsv when it sits in the data folder.</summary>
    static string? LabelsIn(string folder, string lang)
    {
        string p = Path.Combine(folder, $"test-{lang}.tsv");
        return File.Exists(p) ? p : null;
    }

    /// <summary>
    /// LASER's tatoeba.{xxx}-eng.{xxx} and tatoeba.{xxx}-eng.eng, line i of one aligned with line i of the other.
    /// <paramref name="iso3"/> is the LASER code (e.g. "pes"), mapped through <see cref="Languages.TatoebaIso3"/>.
    /// </summary>
    public static SimilaritySearchData ReadLaser(string folder, string iso3)
    {
        if (!Languages.TatoebaIso3.TryGetValue(iso3, out var language))
            throw new InvalidInputException(folder,
                $"unknown Tatoeba language code \"{iso3}\"; valid: {string.Join(" ", Languages.TatoebaIso3.Keys.Order(StringComparer.Ordinal))}");
        string foreign = Path.Combine(folder, $"tatoeba.{iso3}-eng.{iso3}");
        string english = Path.Combine(folder, $"tatoeba.{iso3}-eng.eng");
        var source = ReadLines(foreign);
        var target = ReadLines(english);
        if (source.Count != target.Count)
            throw new InvalidInputException(english, $"has {target.Count} lines but {foreign} has {source.Count}; the files must be line-aligned");
        return new SimilaritySearchData(language, source, target, [.. Enumerable.Range(0, source.Count)]);
    }

    /// <summary>
    /// xtreme's tatoeba/{l2}-en.{l2} and {l2}-en.en. Their order may hide the alignment (HEAD sorts the English side),
    /// so the gold comes from an optional labels file: one integer per English line, the index of its translation.
    /// </summary>
    public static SimilaritySearchData ReadXtreme(string folder, string language, string? labelsPath = null)
    {
        Languages.Check(language, Languages.TatoebaR, folder);
        string foreign = Path.Combine(folder, $"{language}-en.{language}");
        var source = ReadLines(foreign);
        var target = ReadLines(Path.Combine(folder, $"{language}-en.en"));
        List<int>? gold = null;
        if (labelsPath != null)
        {
            gold = [];
            foreach (var (line, text) in TaskFiles.Lines(labelsPath))
            {
                if (string.IsNullOrWhiteSpace(text)) continue;
                if (!int.TryParse(text.Trim(), out int i) || i < 0 || i >= source.Count)
                    throw InvalidInputException.AtLine(labelsPath, line, $"expected an index into {foreign} (0..{source.Count - 1}), found \"{text}\"");
                gold.Add(i);
            }
            if (gold.Count != target.Count)
                throw new InvalidInputException(labelsPath, $"has {gold.Count} labels for {target.Count} English sentences");
        }
        return new SimilaritySearchData(language, source, target, gold);
    }

    /// <summary>Every line is a sentence; an empty line in the middle would shift the alignment, so it is kept.</summary>
    static List<string> ReadLines(string path)
    {
        var lines = TaskFiles.Lines(path).Select(l => l.Text).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }
}
