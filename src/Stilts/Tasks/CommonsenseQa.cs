namespace Stilts.Tasks;

/// <summary>CommonsenseQA: a question with 5 answers labelled A-E, no passage.</summary>
public static class CommonsenseQa
{
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "commonsenseqa", Kind = TaskKind.MultipleChoice, Role = TaskRole.Intermediate, ChoiceCount = ChoiceCount,
        Layout = new("train_rand_split.jsonl", "dev_rand_split.jsonl", "test_rand_split_no_answers.jsonl"),
        Reader = TaskDefinition.Examples((p, r) => Read(p, r)), Metric = MetricName.Accuracy, DefaultMaxLength = 256,
    };

    public const int ChoiceCount = 5;

    /// <summary>
    /// The original {train,dev,test}_rand_split.jsonl: id, question{stem, choices[{label, text}]}, answerKey (absent in
    /// test). Choices are ordered by their label letter; the label is the answer key's index.
    /// </summary>
    public static IEnumerable<MultipleChoiceExample> Read(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        foreach (var (line, obj) in TaskFiles.JsonLines(path))
        {
            string where = $"{path}:{line}";
            var question = TaskFiles.Obj(obj, "question", where);
            var choices = TaskFiles.Arr(question, "choices", where).EnumerateArray()
                .Select(c => (Label: TaskFiles.Str(c, "label", where), Text: TaskFiles.Str(c, "text", where)))
                .OrderBy(c => c.Label, StringComparer.Ordinal).ToArray();
            if (choices.Length != ChoiceCount)
                throw new InvalidInputException(where, $"expected {ChoiceCount} choices, found {choices.Length}");
            string? key = TaskFiles.OptStr(obj, "answerKey", where);
            int? label = null;
            if (key != null)
            {
                label = Array.FindIndex(choices, c => c.Label == key);
                if (label < 0)
                    throw new InvalidInputException(where, $"answerKey \"{key}\" is not one of {{{string.Join(", ", choices.Select(c => c.Label))}}}");
            }
            report.Read++;
            yield return new MultipleChoiceExample(TaskFiles.Str(obj, "id", where), "",
                TaskFiles.Str(question, "stem", where), [.. choices.Select(c => c.Text)], label);
        }
    }
}
