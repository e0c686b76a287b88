namespace Stilts.Tasks;

/// <summary>HellaSwag: pick the right continuation among 4 endings.</summary>
public static class HellaSwag
{
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "hellaswag", Kind = TaskKind.MultipleChoice, Role = TaskRole.Intermediate, ChoiceCount = ChoiceCount,
        Layout = new("hellaswag_train.jsonl", "hellaswag_val.jsonl", "hellaswag_test.jsonl"),
        Reader = TaskDefinition.Examples((p, r) => Read(p, r)), Metric = MetricName.Accuracy, DefaultMaxLength = 256,
    };

    public const int ChoiceCount = 4;

    /// <summary>
    /// hellaswag_{train,val,test}.jsonl: ind, ctx (or ctx_a + ctx_b), endings[4], label (absent in test). The context
    /// is "ctx" when present, else ctx_a and ctx_b joined by a space.
    /// </summary>
    public static IEnumerable<MultipleChoiceExample> Read(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        foreach (var (line, obj) in TaskFiles.JsonLines(path))
        {
            string where = $"{path}:{line}";
            string context = TaskFiles.OptStr(obj, "ctx", where)
                ?? $"{TaskFiles.Str(obj, "ctx_a", where)} {TaskFiles.OptStr(obj, "ctx_b", where) ?? ""}".TrimEnd();
            var endings = TaskFiles.Arr(obj, "endings", where).EnumerateArray().Select(e => e.GetString() ?? "").ToArray();
            if (endings.Length != ChoiceCount)
                throw new InvalidInputException(where, $"expected {ChoiceCount} endings, found {endings.Length}");
            int? label = obj.TryGetProperty("label", out _) ? TaskFiles.Int(obj, "label", where) : null;
            if (label is < 0 or >= ChoiceCount) throw new InvalidInputException(where, $"label {label} is not in 0..{ChoiceCount - 1}");
            report.Read++;
            yield return new MultipleChoiceExample(TaskFiles.OptStr(obj, "ind", where) ?? $"hellaswag-{line}", context, null, endings, label);
        }
    }
}
