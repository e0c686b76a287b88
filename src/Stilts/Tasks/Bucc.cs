namespace Stilts.Tasks;

/// <summary>BUCC 2018 bitext mining (de, fr, ru, zh → en). No training: the encoder's sentence embeddings are mined.</summary>
public static class Bucc
{
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "bucc2018", Kind = TaskKind.BitextMining, Role = TaskRole.Target, XtremeLanguages = Languages.Bucc,
        Layout = new(null, "{lang}-en.dev", "{lang}-en.test"),
        Reader = new RetrievalReader((folder, lang, split) => ReadSplit(folder, lang, split)),
        Metric = MetricName.BuccF1, XtremeFolder = "bucc2018", PredictionExtension = "tsv", DefaultMaxLength = 512,
    };

    /// <summary>
    /// Files {prefix}.{lg} and {prefix}.en ("id\tsentence" lines) and, when present, {prefix}.gold ("src_id\ten_id"),
    /// e.g. prefix "bucc2018/de-en.dev" (xtreme) or "de-en.sample" (raw release). Test gold is deleted by xtreme,
    /// giving null Gold. Gold ids that name no sentence are errors.
    /// </summary>
    public static BitextMiningData Read(string prefix, string language)
    {
        Languages.Check(language, Languages.Bucc, prefix);
        var source = ReadSentences($"{prefix}.{language}");
        var target = ReadSentences($"{prefix}.en");
        string goldPath = $"{prefix}.gold";
        List<(string, string)>? gold = null;
        if (File.Exists(goldPath))
        {
            var src = source.Select(s => s.Id).ToHashSet();
            var tgt = target.Select(s => s.Id).ToHashSet();
            gold = [];
            foreach (var (line, text) in TaskFiles.Lines(goldPath))
            {
                if (string.IsNullOrWhiteSpace(text)) continue;
                string[] f = TaskFiles.Fields(goldPath, line, text, "src_id\\ten_id", 2);
                if (!src.Contains(f[0])) throw InvalidInputException.AtLine(goldPath, line, $"source id \"{f[0]}\" is not in {prefix}.{language}");
                if (!tgt.Contains(f[1])) throw InvalidInputException.AtLine(goldPath, line, $"English id \"{f[1]}\" is not in {prefix}.en");
                gold.Add((f[0], f[1]));
            }
        }
        return new BitextMiningData(language, source, target, gold);
    }

    /// <summary>xtreme's layout: {folder}/{lg}-en.{dev|test}.*; Dev is BUCC's "sample" and Test its "training" data.</summary>
    public static BitextMiningData ReadSplit(string folder, string language, Split split) =>
        split == Split.Train ? throw new InvalidInputException(folder, "BUCC has no training split (dev and test only)")
            : Read(Path.Combine(folder, $"{language}-en.{(split == Split.Dev ? "dev" : "test")}"), language);

    static List<IdSentence> ReadSentences(string path)
    {
        var list = new List<IdSentence>();
        var seen = new HashSet<string>();
        foreach (var (line, text) in TaskFiles.Lines(path))
        {
            if (string.IsNullOrWhiteSpace(text)) continue;
            string[] f = TaskFiles.Fields(path, line, text, "id\\tsentence", 2);
            if (!seen.Add(f[0])) throw InvalidInputException.AtLine(path, line, $"duplicate sentence id \"{f[0]}\"");
            list.Add(new IdSentence(f[0], f[1]));
        }
        return list;
    }
}
