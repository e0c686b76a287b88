namespace Stilts.Tasks;

/// <summary>Universal Dependencies part-of-speech tagging (17 UPOS tags), XTREME's UD-POS.</summary>
public static class UdPos
{
    public static IReadOnlyList<string> Labels { get; } =
        ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"];

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

    /// <summary>xtreme's udpos/{split}-{lang}.tsv (token\ttag; test holds tokens only).</summary>
    public static IEnumerable<TaggingExample> ReadXtreme(string path, ReadReport? report = null) =>
        TokenTagTsv.Read(path, Labels, report);
}
