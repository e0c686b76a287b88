namespace Stilts.Tasks;

/// <summary>
/// The quickstart's target task: sentence sentiment in the generated toy world (Pipeline/ToyWorld.cs writes it).
/// Files "sentence \t label", xtreme's flat layout; test files keep their labels so zero-shot scores need no
/// separate gold.
/// </summary>
public static class ToySentiment
{
    public static IReadOnlyList<string> Labels { get; } = ["negative", "positive"];

    public static TaskDefinition Definition { get; } = new()
    {
        Name = "toysent", Kind = TaskKind.SentenceClassification, Role = TaskRole.Intermediate, Labels = Labels,
        Layout = new("train-en.tsv", "dev-{lang}.tsv", "test-{lang}.tsv"),
        Reader = TaskDefinition.Examples((p, _) => Read(p)), Metric = MetricName.Accuracy, DefaultMaxLength = 64,
    };

    /// <summary>"sentence \t label" per line (the label is optional).</summary>
    public static IEnumerable<SentenceClassificationExample> Read(string path)
    {
        foreach (var (line, text) in TaskFiles.Lines(path))
        {
            if (text.Length == 0) continue;
            var f = TaskFiles.Fields(path, line, text, "sentence[, label]", 1, 2);
            yield return new SentenceClassificationExample($"{TaskFiles.Stem(path)}-{line}", f[0],
                f.Length == 2 ? TaskFiles.CheckLabel(f[1], Labels, $"{path}:{line}") : null);
        }
    }
}
