namespace Stilts.Tasks;

/// <summary>MLQA: {dev,test}-context-{c}-question-{q}.json; XTREME uses c = q only.</summary>
public static class Mlqa
{
    /// <summary>Trains on English SQuAD v1.1; dev/test are the c = q files.</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "mlqa", Kind = TaskKind.SpanQa, Role = TaskRole.Target,
        XtremeLanguages = Languages.Mlqa, XtremeRLanguages = Languages.Mlqa,
        Layout = new("../squad/train-v1.1.json", "MLQA_V1/dev/dev-context-{lang}-question-{lang}.json",
            "MLQA_V1/test/test-context-{lang}-question-{lang}.json"),
        Reader = new ExampleReader((p, l, r) => SquadJson.Read(p, r, l)),
        Metric = MetricName.MlqaEmF1, XtremeFolder = "mlqa", PredictionExtension = "json", DefaultMaxLength = 384,
    };

    /// <summary>Both languages from an MLQA file name.</summary>
    public static (string Context, string Question) ParseFileName(string path)
    {
        string[] p = Path.GetFileNameWithoutExtension(path).Split('-');
        if (p.Length != 5 || p[1] != "context" || p[3] != "question" || p[0] is not ("dev" or "test"))
            throw new InvalidInputException(path, "expected a file named {dev|test}-context-{lang}-question-{lang}.json");
        return (Languages.Check(p[2], Languages.Mlqa, path), Languages.Check(p[4], Languages.Mlqa, path));
    }

    /// <summary>Examples carry the context language.</summary>
    public static IEnumerable<SpanQaExample> Read(string path, ReadReport? report = null) =>
        SquadJson.Read(path, report, ParseFileName(path).Context);
}
