namespace Stilts.Tasks;

/// <summary>Social IQa (SIQa v1.4): 3-way multiple choice; XTREME-R's intermediate task for XCOPA.</summary>
public static class SocialIqa
{
    /// <summary>Labels are read from {split}-labels.lst beside {split}.jsonl when it exists.</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "socialiqa", Kind = TaskKind.MultipleChoice, Role = TaskRole.Intermediate, ChoiceCount = ChoiceCount,
        Layout = new("train.jsonl", "dev.jsonl", "test.jsonl"),
        Reader = TaskDefinition.Examples((p, r) => Read(p, LabelsBeside(p), r)),
        Metric = MetricName.Accuracy, DefaultMaxLength = 128,
    };

    static string? LabelsBeside(string path)
    {
        string labels = Path.Combine(Path.GetDirectoryName(path)!, $"{Path.GetFileNameWithoutExtension(path)}-labels.lst");
        return File.Exists(labels) ? labels : null;
    }

    public const int ChoiceCount = 3;

    /// <summary>
    /// {train,dev}.jsonl (context, question, answerA, answerB, answerC) with the separate {train,dev}-labels.lst:
    /// line i holds the 1-based answer ("1"|"2"|"3") of jsonl record i. No labels file = unlabelled.
    /// </summary>
    public static IEnumerable<MultipleChoiceExample> Read(string path, string? labelsPath = null, ReadReport? report = null)
    {
        report ??= new ReadReport();
        using var labels = labelsPath is null ? null : TaskFiles.NonBlankLines(labelsPath).GetEnumerator();
        int n = 0;
        foreach (var (line, obj) in TaskFiles.JsonLines(path))
        {
            string where = $"{path}:{line}";
            int? label = null;
            if (labels != null)
            {
                if (!labels.MoveNext())
                    throw new InvalidInputException(labelsPath!, $"has fewer labels than {path} has records (ran out at record {n + 1})");
                var (ll, lt) = labels.Current;
                label = int.TryParse(lt.Trim(), out int v) && v is >= 1 and <= ChoiceCount ? v - 1
                    : throw InvalidInputException.AtLine(labelsPath!, ll, $"expected 1, 2 or 3, found \"{lt}\"");
            }
            n++;
            report.Read++;
            yield return new MultipleChoiceExample($"{TaskFiles.Stem(path)}-{line}", TaskFiles.Str(obj, "context", where),
                TaskFiles.Str(obj, "question", where),
                [TaskFiles.Str(obj, "answerA", where), TaskFiles.Str(obj, "answerB", where), TaskFiles.Str(obj, "answerC", where)],
                label);
        }
        if (labels != null && labels.MoveNext())
            throw InvalidInputException.AtLine(labelsPath!, labels.Current.Line, $"more labels than {path} has records ({n})");
    }
}
