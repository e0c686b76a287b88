namespace Stilts.Tasks;

/// <summary>XQuAD: SQuAD v1.1 dev translated into 11 (XTREME-R: 12) languages; xquad.{lang}.json.</summary>
public static class XQuad
{
    /// <summary>Trains on English SQuAD v1.1 (xtreme's squad/ folder beside xquad/); test = xquad.{lang}.json.</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "xquad", Kind = TaskKind.SpanQa, Role = TaskRole.Target,
        XtremeLanguages = Languages.XQuad, XtremeRLanguages = Languages.XQuadR,
        Layout = new("../squad/train-v1.1.json", null, "xquad.{lang}.json"),
        Reader = new ExampleReader((p, l, r) => SquadJson.Read(p, r, l)),
        Metric = MetricName.SquadEmF1, XtremeFolder = "xquad", PredictionExtension = "json", DefaultMaxLength = 384,
    };

    public static IEnumerable<SpanQaExample> Read(string path, ReadReport? report = null)
    {
        string name = Path.GetFileName(path);
        string[] parts = name.Split('.');
        if (parts.Length != 3 || parts[0] != "xquad" || parts[2] != "json")
            throw new InvalidInputException(path, "expected a file named xquad.{lang}.json");
        return SquadJson.Read(path, report, Languages.Check(parts[1], Languages.XQuadR, path));
    }
}
