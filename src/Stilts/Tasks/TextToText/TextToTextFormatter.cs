using System.Text;

namespace Stilts.Tasks.TextToText;

/// <summary>
/// One example as text-to-text. Target is null for unlabelled data. Choices holds the candidate targets of a
/// multiple-choice example (scored one by one, or generated), and is empty otherwise.
/// </summary>
public sealed record TextToTextExample(string Input, string? Target, IReadOnlyList<string> Choices);

/// <summary>
/// Writes task examples as input text -> target text, as the mT5 paper does:
/// "xnli premise: ... hypothesis: ..." -> "entailment"; "question: ... context: ..." -> answer;
/// "panx sentence: ..." -> "PER: John Smith $$ LOC: Paris"; "udpos sentence: ..." -> "PROPN VERB ...";
/// "xcopa premise: ... question: cause" -> the right choice's text.
/// </summary>
public static class TextToTextFormatter
{
    public static TextToTextExample Format(Verbalizer v, TaskExample example) => example switch
    {
        SentenceClassificationExample e => new(Join(v.Prefix, (v.FieldNames[0], e.Text)), e.Label is null ? null : v.WordOf(e.Label), []),
        PairClassificationExample e => new(Join(v.Prefix, (v.FieldNames[0], e.Text), (v.FieldNames.Count > 1 ? v.FieldNames[1] : "sentence2", e.TextPair)),
            e.Label is null ? null : v.WordOf(e.Label), []),
        TaggingExample e => new(Join(v.Prefix, ("sentence", string.Join(' ', e.Words))), e.Tags is null ? null : TagTarget(v, e), []),
        SpanQaExample e => new(Join(v.Prefix, ("question", e.Question), ("context", e.Context)),
            e.Answers.Count > 0 ? e.Answers[0].Text : e.IsImpossible ? "" : null, []),
        MultipleChoiceExample e => FormatChoice(v, e),
        _ => throw new InvalidInputException($"example \"{example.Id}\"", $"a {example.GetType().Name} has no text-to-text form"),
    };

    /// <summary>IOB2 tags to "TYPE: words $$ TYPE: words" in sentence order; a stray I- tag opens an entity, as seqeval reads it.</summary>
    public static string EntityList(IReadOnlyList<string> words, IReadOnlyList<string> tags, string separator = " $$ ", string none = "none")
    {
        var parts = Entities(tags).Select(e => $"{e.Type}: {string.Join(' ', words.Skip(e.Start).Take(e.End - e.Start))}").ToList();
        return parts.Count == 0 ? none : string.Join(separator, parts);
    }

    /// <summary>The [Start, End) word spans of the entities of IOB2 tags.</summary>
    public static List<(string Type, int Start, int End)> Entities(IReadOnlyList<string> tags)
    {
        var spans = new List<(string, int, int)>();
        string? type = null;
        int start = 0;
        for (int i = 0; i <= tags.Count; i++)
        {
            string tag = i < tags.Count ? tags[i] : "O";
            bool inside = tag.StartsWith("I-", StringComparison.Ordinal) && type == tag[2..];
            if (inside) continue;
            if (type != null) spans.Add((type, start, i));
            type = tag.Length > 2 && (tag.StartsWith("B-", StringComparison.Ordinal) || tag.StartsWith("I-", StringComparison.Ordinal)) ? tag[2..] : null;
            start = i;
        }
        return spans;
    }

    static string TagTarget(Verbalizer v, TaggingExample e) => v.Target == TargetForm.EntityList
        ? EntityList(e.Words, e.Tags!, v.EntitySeparator, v.NoEntities)
        : string.Join(' ', e.Tags!);

    static TextToTextExample FormatChoice(Verbalizer v, MultipleChoiceExample e)
    {
        var fields = new List<(string, string)>();
        if (e.Context.Length > 0) fields.Add(("context", e.Context));
        if (!string.IsNullOrEmpty(e.Question)) fields.Add(("question", e.Question));
        // Generating needs the options in view; scoring puts each option in the target instead.
        if (v.ChoiceMode == ChoiceMode.Generate)
            for (int i = 0; i < e.Choices.Count; i++) fields.Add(($"choice{i + 1}", e.Choices[i]));
        return new(Join(v.Prefix, [.. fields]), e.Label is int l ? e.Choices[l] : null, e.Choices);
    }

    static string Join(string prefix, params (string Name, string Text)[] fields)
    {
        var sb = new StringBuilder(prefix);
        foreach (var (name, text) in fields)
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(name).Append(": ").Append(text);
        }
        return sb.ToString();
    }
}
