namespace Stilts.Tasks;

/// <summary>
/// CCGbank supertagging (jiant's "ccg"): an open label set of about 1,363 supertags, so the label set is built from
/// the training file rather than listed here.
/// </summary>
public static class Ccg
{
    /// <summary>Files ending in .tsv use the token\ttag form, anything else the word|tag form.</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "ccg", Kind = TaskKind.Tagging, Role = TaskRole.Intermediate,
        Layout = new("ccg.train", "ccg.dev", "ccg.test"),
        Reader = TaskDefinition.Examples((p, r) => p.EndsWith(".tsv", StringComparison.Ordinal) ? ReadTsv(p, r) : ReadPiped(p, r)),
        Metric = MetricName.SeqevalF1, DefaultMaxLength = 256,
    };

    /// <summary>
    /// One sentence per line of space-separated "word|tag" pairs. Words may contain '|' themselves, and supertags
    /// never do, so each pair splits on its LAST '|'.
    /// </summary>
    public static IEnumerable<TaggingExample> ReadPiped(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        string stem = TaskFiles.Stem(path);
        foreach (var (line, text) in TaskFiles.NonBlankLines(path))
        {
            string[] pairs = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var words = new string[pairs.Length];
            var tags = new string[pairs.Length];
            for (int i = 0; i < pairs.Length; i++)
            {
                int bar = pairs[i].LastIndexOf('|');
                if (bar <= 0 || bar == pairs[i].Length - 1)
                    throw InvalidInputException.AtLine(path, line, $"expected word|tag, found \"{pairs[i]}\" (pair {i + 1})");
                words[i] = pairs[i][..bar];
                tags[i] = pairs[i][(bar + 1)..];
            }
            report.Read++;
            yield return new TaggingExample($"{stem}-{line}", words, tags);
        }
    }

    /// <summary>The documented alternative: token\ttag lines with blank lines between sentences (any tag accepted).</summary>
    public static IEnumerable<TaggingExample> ReadTsv(string path, ReadReport? report = null) =>
        TokenTagTsv.Read(path, [], report);

    /// <summary>The sorted set of tags seen in a file (the head's label set is fixed from the training split).</summary>
    public static IReadOnlyList<string> CollectLabels(IEnumerable<TaggingExample> examples) =>
        [.. examples.SelectMany(e => e.Tags ?? []).Distinct().Order(StringComparer.Ordinal)];
}
