namespace Stilts.Tasks;

/// <summary>Continued masked-language-model training: plain text, one example per non-blank line.</summary>
public static class MaskedLm
{
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "mlm", Kind = TaskKind.MaskedLm, Role = TaskRole.Intermediate,
        Layout = new("train.txt", "dev.txt", null),
        Reader = TaskDefinition.Examples((p, r) => Read(p, r)), Metric = MetricName.Perplexity, DefaultMaxLength = 256,
    };

    public static IEnumerable<MaskedLmExample> Read(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        string stem = TaskFiles.Stem(path);
        foreach (var (line, text) in TaskFiles.NonBlankLines(path))
        {
            report.Read++;
            yield return new MaskedLmExample($"{stem}-{line}", text);
        }
    }
}
