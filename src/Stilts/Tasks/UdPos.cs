namespace Stilts.Tasks;

/// <summary>Universal Dependencies part-of-speech tagging (17 UPOS tags), XTREME's UD-POS.</summary>
public static class UdPos
{
    public static IReadOnlyList<string> Labels { get; } =
        ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"];

    public static TaskDefinition Definition { get; } = new()
    {
        Name = "udpos", Kind = TaskKind.Tagging, Role = TaskRole.Target, Labels = Labels,
        XtremeLanguages = Languages.UdPos, XtremeRLanguages = Languages.UdPosR,
        Layout = new("train-en.tsv", "dev-{lang}.tsv", "test-{lang}.tsv"),
        Reader = TaskDefinition.Examples((p, r) => ReadXtreme(p, r)),
        Metric = MetricName.SeqevalF1, XtremeFolder = "udpos", PredictionExtension = "tsv", DefaultMaxLength = 256,
    };

    /// <summary>
    /// Raw CoNLL-U: comment lines (#) skipped; multi-word token ranges ("1-2") skipped in favour of their word lines;
    /// empty nodes ("1.1") skipped; FORM (col 2) and UPOS (col 4) kept. Sentences end at blank lines.
    /// </summary>
    public static IEnumerable<TaggingExample> ReadConllu(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        string stem = TaskFiles.Stem(path);
        var words = new List<string>();
        var tags = new List<string>();
        string? sentId = null;
        int start = 0;
        foreach (var (line, text) in TaskFiles.Lines(path))
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                if (words.Count > 0) { report.Read++; yield return Make(); }
                continue;
            }
            if (text.StartsWith('#'))
            {
                if (text.StartsWith("# sent_id", StringComparison.Ordinal) && text.IndexOf('=') is int eq and > 0)
                    sentId = text[(eq + 1)..].Trim();
                continue;
            }
            string[] f = TaskFiles.Fields(path, line, text, "a CoNLL-U word line (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC)", 10);
            if (f[0].Contains('-') || f[0].Contains('.')) continue;
            if (!int.TryParse(f[0], out _))
                throw InvalidInputException.AtLine(path, line, $"expected an integer word ID in column 1, found \"{f[0]}\"");
            if (words.Count == 0) start = line;
            words.Add(f[1]);
            tags.Add(TaskFiles.CheckLabel(f[3], Labels, $"{path}:{line}"));
        }
        if (words.Count > 0) { report.Read++; yield return Make(); }

        TaggingExample Make()
        {
            var ex = new TaggingExample(sentId ?? $"{stem}-{start}", [.. words], [.. tags]);
            words.Clear();
            tags.Clear();
            sentId = null;
            return ex;
        }
    }

    /// <summary>
    /// Every treebank of a language in an unpacked UD release ({folder}/UD_*/{lang}_*-ud-{split}.conllu), concatenated
    /// as xtreme does, in ordinal path order so runs are reproducible (jiant's glob order was not). A language with
    /// no file for the split is an error.
    /// </summary>
    public static IEnumerable<TaggingExample> ReadRelease(string folder, string language, Split split, ReadReport? report = null)
    {
        if (!Directory.Exists(folder)) throw new InvalidInputException(folder, "UD release folder not found");
        string name = split switch { Split.Train => "train", Split.Dev => "dev", _ => "test" };
        string[] files = [.. Directory.GetFiles(folder, $"{language}_*-ud-{name}.conllu", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)];
        if (files.Length == 0)
            throw new InvalidInputException(folder, $"no {language}_*-ud-{name}.conllu treebank file for language \"{language}\"");
        report ??= new ReadReport();
        return files.SelectMany(f => ReadConllu(f, report));
    }

    /// <summary>xtreme's udpos/{split}-{lang}.tsv (token\ttag; test holds tokens only).</summary>
    public static IEnumerable<TaggingExample> ReadXtreme(string path, ReadReport? report = null) =>
        TokenTagTsv.Read(path, Labels, report);
}
