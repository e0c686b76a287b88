namespace Stilts.Tasks;

/// <summary>Continued masked-language-model training: plain text, one example per non-blank line.</summary>
public static class MaskedLm
{
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
