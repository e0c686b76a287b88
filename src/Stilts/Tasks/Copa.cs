namespace Stilts.Tasks;

/// <summary>
/// COPA (SuperGLUE) and XCOPA: a premise, "cause" or "effect", and two alternatives. XCOPA has the same fields in
/// per-language files ({val,test}-{lang}.jsonl in xtreme's layout).
/// </summary>
public static class Copa
{
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "copa", Kind = TaskKind.MultipleChoice, Role = TaskRole.Intermediate, ChoiceCount = ChoiceCount,
        Layout = new("COPA/train.jsonl", "COPA/val.jsonl", "COPA/test.jsonl"),
        Reader = TaskDefinition.Examples((p, r) => Read(p, r)), Metric = MetricName.Accuracy, DefaultMaxLength = 128,
    };

    /// <summary>XCOPA in xtreme's layout: English COPA train, per-language val/test (test labels are zeroed).</summary>
    public static TaskDefinition XCopaDefinition { get; } = Definition with
    {
        Name = "xcopa", Role = TaskRole.Target, XtremeRLanguages = Languages.XCopa,
        Layout = new("train-en.jsonl", "val-{lang}.jsonl", "test-{lang}.jsonl"),
        XtremeFolder = "xcopa", PredictionExtension = "jsonl",
    };

    public const int ChoiceCount = 2;

    /// <summary>jsonl: premise, choice1, choice2, question ("cause"|"effect"), label (0|1), idx.</summary>
    public static IEnumerable<MultipleChoiceExample> Read(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        foreach (var (line, obj) in TaskFiles.JsonLines(path))
        {
            string where = $"{path}:{line}";
            string question = TaskFiles.Str(obj, "question", where);
            if (question is not ("cause" or "effect"))
                throw new InvalidInputException(where, $"question \"{question}\" is not one of {{cause, effect}}");
            int? label = obj.TryGetProperty("label", out _) ? TaskFiles.Int(obj, "label", where) : null;
            if (label is < 0 or >= ChoiceCount) throw new InvalidInputException(where, $"label {label} is not 0 or 1");
            report.Read++;
            yield return new MultipleChoiceExample(TaskFiles.OptStr(obj, "idx", where) ?? $"copa-{line}",
                TaskFiles.Str(obj, "premise", where), question,
                [TaskFiles.Str(obj, "choice1", where), TaskFiles.Str(obj, "choice2", where)], label);
        }
    }
}
