namespace Stilts.Tasks;

/// <summary>Cosmos QA: reading comprehension needing commonsense, 4 answers.</summary>
public static class CosmosQa
{
    /// <summary>The release ships train/valid as csv and test as jsonl; the reader goes by extension.</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "cosmosqa", Kind = TaskKind.MultipleChoice, Role = TaskRole.Intermediate, ChoiceCount = ChoiceCount,
        Layout = new("train.csv", "valid.csv", "test.jsonl"),
        Reader = TaskDefinition.Examples((p, r) => p.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? ReadCsv(p, r) : ReadJsonl(p, r)),
        Metric = MetricName.Accuracy, DefaultMaxLength = 256,
    };

    public const int ChoiceCount = 4;
    static readonly string[] Columns = ["id", "context", "question", "answer0", "answer1", "answer2", "answer3"];

    /// <summary>{train,valid,test}.csv: header id, context, question, answer0..answer3, label (test: no label). Real CSV: quoted fields may hold commas and newlines.</summary>
    public static IEnumerable<MultipleChoiceExample> ReadCsv(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        int[] at = [];
        int label = -1, width = 0;
        foreach (var (line, f) in Csv.Read(path))
        {
            if (at.Length == 0)
            {
                at = [.. Columns.Select(c => TaskFiles.Column(f, c, path))];
                label = Array.IndexOf(f, "label");
                width = f.Length;
                continue;
            }
            if (f.Length != width)
                throw InvalidInputException.AtLine(path, line, $"expected {width} comma-separated fields like the header, found {f.Length}");
            report.Read++;
            yield return new MultipleChoiceExample(f[at[0]], f[at[1]], f[at[2]], [f[at[3]], f[at[4]], f[at[5]], f[at[6]]],
                label >= 0 ? ParseLabel(f[label], $"{path}:{line}") : null);
        }
    }

    /// <summary>The jsonl release: the same fields as the csv, one object per line.</summary>
    public static IEnumerable<MultipleChoiceExample> ReadJsonl(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        foreach (var (line, obj) in TaskFiles.JsonLines(path))
        {
            string where = $"{path}:{line}";
            var s = Columns.Select(c => TaskFiles.Str(obj, c, where)).ToArray();
            string? label = TaskFiles.OptStr(obj, "label", where);
            report.Read++;
            yield return new MultipleChoiceExample(s[0], s[1], s[2], [s[3], s[4], s[5], s[6]],
                label is null ? null : ParseLabel(label, where));
        }
    }

    static int ParseLabel(string s, string where) =>
        int.TryParse(s, out int v) && v is >= 0 and < ChoiceCount ? v
            : throw new InvalidInputException(where, $"label \"{s}\" is not in 0..{ChoiceCount - 1}");
}
