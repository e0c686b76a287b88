using System.Collections.Frozen;
using Stilts.Metrics;
using Stilts.Models;
using Stilts.Tasks;
using Stilts.Tasks.Featurization;
using Stilts.Tokenization;
using FeatureLabels = Stilts.Tasks.Featurization.Labels;

namespace Stilts.Pipeline;

/// <summary>
/// What the runner needs to know about a trainable task: its shape, labels, the reader of one xtreme-layout file
/// (<c>&lt;folder&gt;/{train,dev,test}-&lt;lang&gt;.tsv</c>) and how its rows are featurized into the int arrays the
/// cache stores. Rows: classification [ids, type ids, [label]]; tagging [ids, type ids, labels, [sentence, first
/// word], word starts]; masked LM [ids, special-token mask]; span QA (one row per context window) [ids, type ids,
/// [start, end, example, cls], context offsets as flat (start, end) pairs, max-context flags].
/// </summary>
public sealed record PipelineTask(string Name, TaskKind Kind, IReadOnlyList<string> Labels, Func<string, IEnumerable<TaskExample>> Read)
{
    /// <summary>File extension of the task's files and predictions (xtreme: tsv, XCOPA: jsonl).</summary>
    public string Extension { get; init; } = "tsv";
    /// <summary>What the task's layout calls the dev split (XCOPA: "val").</summary>
    public string DevName { get; init; } = "dev";
    /// <summary>Span QA: the answer normalizer of a language's EM/F1 (SQuAD's, or evaluate_mlqa.py's for MLQA).</summary>
    public Func<string, AnswerNormalizer> QaNormalizer { get; init; } = _ => AnswerNormalizer.Squad;

    public HeadKind HeadKind => Kind switch
    {
        TaskKind.SentenceClassification or TaskKind.PairClassification => HeadKind.SequenceClassification,
        TaskKind.Tagging => HeadKind.TokenClassification,
        TaskKind.MaskedLm => HeadKind.MaskedLM,
        TaskKind.MultipleChoice => HeadKind.MultipleChoice,
        TaskKind.SpanQa => HeadKind.QuestionAnswering,
        _ => throw new InvalidInputException(Name, $"{Kind} tasks are not trainable by the runner yet"),
    };

    public string SplitName(Split split) => split == Split.Dev ? DevName : split.ToString().ToLowerInvariant();

    public string FileName(Split split, string language) => $"{SplitName(split)}-{language}.{Extension}";

    /// <summary>Featurizes every example of a file into cache rows (a tagging sentence or a QA context may give several rows).</summary>
    /// <param name="training">Span QA: label windows with the first gold answer (evaluation rows carry no answer).</param>
    public IEnumerable<int[][]> Featurize(string path, TextTokenizer tokenizer, int maxLength, bool training = false)
    {
        var labelIndex = Labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i);
        int sentence = 0, question = 0;
        foreach (var example in Read(path))
        {
            switch (example)
            {
                case PairClassificationExample p:
                    var pf = ClassificationFeaturizer.Featurize(tokenizer, p.Text, p.TextPair, LabelOf(p.Label), maxLength);
                    yield return [pf.InputIds, pf.TokenTypeIds, [pf.Label]];
                    break;
                case SentenceClassificationExample s:
                    var sf = ClassificationFeaturizer.Featurize(tokenizer, s.Text, null, LabelOf(s.Label), maxLength);
                    yield return [sf.InputIds, sf.TokenTypeIds, [sf.Label]];
                    break;
                case TaggingExample t:
                    var tags = t.Tags?.Select(LabelOf).ToArray();
                    foreach (var f in TaggingFeaturizer.FeaturizeSentence(tokenizer, sentence, t.Words, tags, maxLength))
                        yield return [f.InputIds, f.TokenTypeIds, f.Labels, [f.SentenceIndex, f.FirstWord], f.WordStarts];
                    sentence++;
                    break;
                case MultipleChoiceExample c:
                    var cf = MultipleChoiceFeaturizer.Featurize(tokenizer, c.Context, c.Question, c.Choices, c.Label ?? FeatureLabels.Ignore, maxLength);
                    if (cf.NumChoices != Labels.Count)
                        throw new InvalidInputException($"{path}: {c.Id}", $"{cf.NumChoices} choices, but {Name} has {Labels.Count}");
                    yield return [.. Enumerable.Range(0, cf.NumChoices).SelectMany(k => new[] { cf.InputIds[k], cf.TokenTypeIds[k] }), [cf.Label]];
                    break;
                case SpanQaExample q:
                    foreach (var row in SpanQaRows(tokenizer, question++, q, maxLength, training)) yield return row;
                    break;
                case MaskedLmExample m:
                    var mf = MaskedLanguageModeling.Featurize(tokenizer, m.Text, maxLength);
                    yield return [mf.InputIds, mf.SpecialTokensMask.Select(b => b ? 1 : 0).ToArray()];
                    break;
                default:
                    throw new InvalidInputException(path, $"{example.GetType().Name} is not supported by the runner");
            }
        }

        int LabelOf(string? label) => label == null ? FeatureLabels.Ignore
            : labelIndex.TryGetValue(label, out int i) ? i : throw new InvalidInputException(path, $"unknown label '{label}'");
    }

    /// <summary>Gold labels of a file in file order (per word for tagging); null entries where the file has none.</summary>
    public List<string[]?> Gold(string path) => Read(path).Select(e => e switch
    {
        PairClassificationExample p => p.Label == null ? null : new[] { p.Label },
        SentenceClassificationExample s => s.Label == null ? null : new[] { s.Label },
        TaggingExample t => t.Tags?.ToArray(),
        MultipleChoiceExample c => c.Label is int l ? new[] { l.ToString(System.Globalization.CultureInfo.InvariantCulture) } : null,
        SpanQaExample q => q.Answers.Count == 0 ? null : q.Answers.Select(a => a.Text).ToArray(),
        _ => null,
    }).ToList();

    /// <summary>xtreme/run_squad window settings; max_seq_len comes from the config, the rest are run_squad's defaults.</summary>
    public static SpanQaOptions SpanOptions(int maxLength) => new() { MaxLength = maxLength, DocStride = 128, MaxQueryLength = 64 };

    static IEnumerable<int[][]> SpanQaRows(TextTokenizer tokenizer, int index, SpanQaExample q, int maxLength, bool training)
    {
        // Training uses the first gold answer; one whose answer_start does not point at its text is skipped (HF run_squad
        // skips answers it cannot find). Evaluation rows need no answer: decoding reads the logits only.
        SpanAnswer? answer = training && q.Answers.Count > 0 ? q.Answers[0] : null;
        if (answer is SpanAnswer a && (a.AnswerStart < 0 || a.AnswerStart + a.Text.Length > q.Context.Length
            || string.CompareOrdinal(q.Context, a.AnswerStart, a.Text, 0, a.Text.Length) != 0))
            yield break;
        var features = SpanQaFeaturizer.Featurize(tokenizer, index, q.Question, q.Context, answer?.AnswerStart, answer?.Text,
            SpanOptions(maxLength), training);
        foreach (var f in features)
            yield return [f.InputIds, f.TokenTypeIds, [f.StartPosition, f.EndPosition, f.ExampleIndex, f.ClsIndex],
                f.ContextOffsets.SelectMany(o => new[] { o.Start, o.End }).ToArray(), f.TokenIsMaxContext.Select(b => b ? 1 : 0).ToArray()];
    }

    /// <summary>A cached span-QA row back to its feature (the inverse of the row layout above).</summary>
    public static SpanQaFeature ToSpanQa(int[][] r)
    {
        var offsets = new (int, int)[r[0].Length];
        for (int i = 0; i < offsets.Length; i++) offsets[i] = (r[3][2 * i], r[3][2 * i + 1]);
        var ones = new int[r[0].Length];
        Array.Fill(ones, 1);
        return new SpanQaFeature(r[0], ones, r[1], r[2][2], r[2][0], r[2][1], r[2][3], offsets, r[4].Select(v => v != 0).ToArray());
    }

    /// <summary>The words of each tagging example (prediction files repeat them).</summary>
    public List<IReadOnlyList<string>> Words(string path) => Read(path).OfType<TaggingExample>().Select(t => t.Words).ToList();

    public static PipelineTask MaskedLm { get; } = new("mlm", TaskKind.MaskedLm, [], path => Stilts.Tasks.MaskedLm.Read(path));
}

/// <summary>The tasks the runner can train and evaluate, by registry name (a literal table, as STYLE.md asks).</summary>
public static class PipelineTasks
{
    static readonly FrozenDictionary<string, PipelineTask> All = new PipelineTask[]
    {
        new("xnli", TaskKind.PairClassification, Xnli.Labels, p => Xnli.ReadXtreme(p)),
        new("pawsx", TaskKind.PairClassification, PawsX.Labels, p => PawsX.ReadXtreme(p)),
        new("udpos", TaskKind.Tagging, UdPos.Labels, p => UdPos.ReadXtreme(p)),
        new("panx", TaskKind.Tagging, PanX.Labels, p => PanX.ReadXtreme(p)),
        new("xcopa", TaskKind.MultipleChoice, ["0", "1"], p => Copa.Read(p)) { Extension = "jsonl", DevName = "val" },
        new("toysent", TaskKind.SentenceClassification, ToyWorld.SentimentLabels, ReadToySentiment),
        new("copa", TaskKind.MultipleChoice, ["0", "1"], p => Copa.Read(p)) { Extension = "jsonl", DevName = "val" },
        // Span QA in SQuAD json: train on squad_v1 (train-en.json, dev-en.json), evaluate zero-shot on test-<lang>.json.
        new("squad_v1", TaskKind.SpanQa, [], p => SquadJson.Read(p)) { Extension = "json" },
        new("xquad", TaskKind.SpanQa, [], p => SquadJson.Read(p)) { Extension = "json" },
        new("mlqa", TaskKind.SpanQa, [], p => SquadJson.Read(p)) { Extension = "json", QaNormalizer = MlqaNormalizer },
        new("tydiqa", TaskKind.SpanQa, [], p => SquadJson.Read(p)) { Extension = "json" },
    }.ToFrozenDictionary(t => t.Name);

    public static IEnumerable<string> Names => All.Keys.Order();

    /// <summary>The quickstart's sentence-classification files: "sentence \t label" (label optional in test files).</summary>
    static IEnumerable<TaskExample> ReadToySentiment(string path)
    {
        foreach (var (line, text) in TaskFiles.Lines(path))
        {
            if (text.Length == 0) continue;
            var f = TaskFiles.Fields(path, line, text, "sentence[, label]", 1, 2);
            yield return new SentenceClassificationExample($"{TaskFiles.Stem(path)}-{line}", f[0],
                f.Length == 2 ? TaskFiles.CheckLabel(f[1], ToyWorld.SentimentLabels, $"{path}:{line}") : null);
        }
    }

    // evaluate_mlqa.py normalizes per language and knows only its seven; other languages fall back to SQuAD's rules.
    static AnswerNormalizer MlqaNormalizer(string language) =>
        AnswerNormalizer.MlqaLanguages.Contains(language) ? AnswerNormalizer.Mlqa(language) : AnswerNormalizer.Squad;

    public static PipelineTask Get(string name, string where) => All.TryGetValue(name, out var t) ? t
        : throw new InvalidInputException(where, $"unknown task '{name}' (the runner trains: {string.Join(", ", Names)})");
}
