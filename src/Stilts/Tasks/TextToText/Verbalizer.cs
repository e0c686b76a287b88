namespace Stilts.Tasks.TextToText;

/// <summary>How a task's prediction is written as target text.</summary>
public enum TargetForm
{
    /// <summary>The label as a word ("entailment").</summary>
    LabelWord,
    /// <summary>The answer text of span QA.</summary>
    AnswerText,
    /// <summary>Entities of IOB2 tags as "PER: John Smith $$ LOC: Paris" (the mT5 paper's NER format).</summary>
    EntityList,
    /// <summary>One tag per word, space-separated (POS, CCG).</summary>
    TagSequence,
    /// <summary>The text of the right choice.</summary>
    ChoiceText,
}

/// <summary>How a multiple-choice prediction is made: the likeliest choice as target, or generating it.</summary>
public enum ChoiceMode { Score, Generate }

/// <summary>
/// How one task reads as text-to-text: the prefix and field names of the input, the word written for each label,
/// and the target form. <see cref="For"/> gives the default for any task definition; tweak with <c>with</c>.
/// </summary>
public sealed record Verbalizer
{
    /// <summary>Task prefix of the input ("xnli"); empty for none.</summary>
    public required string Prefix { get; init; }
    public required TargetForm Target { get; init; }
    /// <summary>Names written before the input texts: one for a single text, two for a pair ("premise", "hypothesis").</summary>
    public IReadOnlyList<string> FieldNames { get; init; } = ["sentence"];
    /// <summary>The task's own label strings (classification labels or IOB2/POS tags).</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];
    /// <summary>The target word of each label, same order as <see cref="Labels"/> (classification only).</summary>
    public IReadOnlyList<string> LabelWords { get; init; } = [];
    public ChoiceMode ChoiceMode { get; init; } = ChoiceMode.Score;
    public string EntitySeparator { get; init; } = " $$ ";
    /// <summary>The target of a sentence without entities.</summary>
    public string NoEntities { get; init; } = "none";

    /// <summary>The target word of a label; an unknown label is an input error naming it.</summary>
    public string WordOf(string label)
    {
        int i = IndexOf(Labels, label);
        if (i < 0) throw new InvalidInputException($"label \"{label}\"", $"not a label of task \"{Prefix}\"; expected one of {string.Join(", ", Labels)}");
        return LabelWords[i];
    }

    /// <summary>The label whose word the text is (trimmed, case-insensitive), or null when it is none of them.</summary>
    public string? LabelOf(string text)
    {
        text = text.Trim();
        for (int i = 0; i < LabelWords.Count; i++)
            if (string.Equals(LabelWords[i], text, StringComparison.OrdinalIgnoreCase)) return Labels[i];
        return null;
    }

    /// <summary>
    /// The default verbalizer of a task: prefix = task name; NLI fields premise/hypothesis, other pairs
    /// sentence1/sentence2; 0/1 paraphrase labels become words; tag sets with B-/I- tags are entity lists,
    /// other tag sets tag sequences.
    /// </summary>
    public static Verbalizer For(TaskDefinition task) => task.Kind switch
    {
        TaskKind.SentenceClassification => new Verbalizer
        {
            Prefix = task.Name, Target = TargetForm.LabelWord, Labels = task.Labels, LabelWords = DefaultWords(task),
        },
        TaskKind.PairClassification => new Verbalizer
        {
            Prefix = task.Name, Target = TargetForm.LabelWord, Labels = task.Labels, LabelWords = DefaultWords(task),
            FieldNames = task.Labels.SequenceEqual(Xnli.Labels) ? ["premise", "hypothesis"] : ["sentence1", "sentence2"],
        },
        TaskKind.Tagging => new Verbalizer
        {
            Prefix = task.Name, Labels = task.Labels,
            Target = task.Labels.Count > 0 && task.Labels.All(l => l == "O" || l.StartsWith("B-", StringComparison.Ordinal) || l.StartsWith("I-", StringComparison.Ordinal))
                ? TargetForm.EntityList : TargetForm.TagSequence,
        },
        TaskKind.SpanQa => new Verbalizer { Prefix = "", Target = TargetForm.AnswerText },
        TaskKind.MultipleChoice => new Verbalizer { Prefix = task.Name, Target = TargetForm.ChoiceText },
        _ => throw new InvalidInputException($"task \"{task.Name}\"", $"a {task.Kind} task has no text-to-text form (retrieval tasks use encoder vectors)"),
    };

    // Label strings that are already words stay; bare 0/1 of paraphrase-style tasks get words a model can learn.
    static IReadOnlyList<string> DefaultWords(TaskDefinition task) =>
        task.Labels.SequenceEqual(["0", "1"])
            ? task.Name == "qqp" ? ["not_duplicate", "duplicate"] : ["different", "paraphrase"]
            : task.Labels;

    static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == value) return i;
        return -1;
    }
}
