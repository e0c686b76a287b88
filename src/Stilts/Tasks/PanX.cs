namespace Stilts.Tasks;

/// <summary>PAN-X (WikiANN) named-entity recognition, IOB2 tags over PER/ORG/LOC.</summary>
public static class PanX
{
    public static IReadOnlyList<string> Labels { get; } = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"];

    public static TaskDefinition Definition { get; } = new()
    {
        Name = "panx", Kind = TaskKind.Tagging, Role = TaskRole.Target, Labels = Labels,
        XtremeLanguages = Languages.PanX, XtremeRLanguages = Languages.PanXR,
        Layout = new("train-en.tsv", "dev-{lang}.tsv", "test-{lang}.tsv"),
        Reader = TaskDefinition.Examples((p, r) => ReadXtreme(p, r)),
        Metric = MetricName.SeqevalF1, XtremeFolder = "panx", PredictionExtension = "tsv", DefaultMaxLength = 256,
    };

    /// <summary>The raw {lang}.tar.gz members: "lang:token\tTAG" lines; only the first "xx:" is stripped ("en:a:b" → "a:b").</summary>
    public static IEnumerable<TaggingExample> ReadRaw(string path, ReadReport? report = null) =>
        TokenTagTsv.Read(path, Labels, report, stripPrefix: true);

    /// <summary>xtreme's panx/{split}-{lang}.tsv (token\ttag; test holds tokens only).</summary>
    public static IEnumerable<TaggingExample> ReadXtreme(string path, ReadReport? report = null) =>
        TokenTagTsv.Read(path, Labels, report);
}
