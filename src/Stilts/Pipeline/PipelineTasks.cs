using Stilts.Models;
using Stilts.Metrics;
using Stilts.Tasks;
using Stilts.Tasks.Featurization;
using Stilts.Tasks.TextToText;
using Stilts.Tokenization;
using FeatureLabels = Stilts.Tasks.Featurization.Labels;

namespace Stilts.Pipeline;

/// <summary>How a task's examples become cache rows: the model family's input form and the settings that change the rows.</summary>
public sealed record FeaturizeOptions
{
    public required int MaxLength { get; init; }
    /// <summary>Span QA windows (run_squad's doc_stride and max_query_length).</summary>
    public int DocStride { get; init; } = 128;
    public int MaxQueryLength { get; init; } = 64;
    /// <summary>Text-to-text rows for encoder-decoder models (T5): [input ids, target ids].</summary>
    public bool TextToText { get; init; }
    public int MaxTargetLength { get; init; } = 128;

    /// <summary>The part of the cache key beyond task, split, language, file, tokenizer and max length.</summary>
    public string CacheVariant(TaskKind kind) =>
        TextToText ? $"t2t-{MaxTargetLength}"
        : kind == TaskKind.SpanQa ? $"stride{DocStride}-q{MaxQueryLength}" : "";
}

/// <summary>
/// A registry task as the runner sees it: where a split's files are, how its rows are featurized into the int
/// arrays the cache stores, and its gold. Files are found in xtreme's flat layout first
/// (<c>&lt;folder&gt;/{train,dev,test}-&lt;lang&gt;.&lt;ext&gt;</c>, also how translated copies are named), then in the
/// task's own download layout (MNLI/train.tsv, MLQA_V1/test/test-context-de-question-de.json ...).
/// Rows: classification [ids, type ids, [label]]; tagging [ids, type ids, labels, [sentence, first word], word
/// starts]; multiple choice [ids_0, types_0, ..., [label]]; masked LM [ids, special-token mask]; span QA (one row per
/// context window) [ids, type ids, [start, end, example, cls], context offsets as flat (start, end) pairs,
/// max-context flags]; text-to-text (T5) [input ids, target ids].
/// </summary>
public sealed record PipelineTask
{
    public TaskDefinition Definition { get; }
    /// <summary>Label strings in head order: the task's own, the choice indices of multiple choice, or those a training file uses (open sets like CCG).</summary>
    public IReadOnlyList<string> Labels { get; init; }

    PipelineTask(TaskDefinition definition)
    {
        Definition = definition;
        Labels = definition.Kind == TaskKind.MultipleChoice
            ? [.. Enumerable.Range(0, definition.ChoiceCount).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))]
            : definition.Labels;
    }

    public static PipelineTask For(TaskDefinition definition) => new(definition);

    public string Name => Definition.Name;
    public TaskKind Kind => Definition.Kind;

    public HeadKind HeadKind => Kind switch
    {
        TaskKind.SentenceClassification or TaskKind.PairClassification => HeadKind.SequenceClassification,
        TaskKind.Tagging => HeadKind.TokenClassification,
        TaskKind.MaskedLm => HeadKind.MaskedLM,
        TaskKind.MultipleChoice => HeadKind.MultipleChoice,
        TaskKind.SpanQa => HeadKind.QuestionAnswering,
        _ => throw new InvalidInputException(Name, $"{Kind} tasks are not trained by the runner (retrieval targets are evaluated straight from a checkpoint)"),
    };

    /// <summary>Span QA: the answer normalizer of a language's EM/F1 (SQuAD's, or evaluate_mlqa.py's for MLQA).</summary>
    public AnswerNormalizer QaNormalizer(string language) =>
        // evaluate_mlqa.py normalizes per language and knows only its seven; other languages fall back to SQuAD's rules.
        Definition.Metric == MetricName.MlqaEmF1 && AnswerNormalizer.MlqaLanguages.Contains(language) ? AnswerNormalizer.Mlqa(language) : AnswerNormalizer.Squad;

    /// <summary>The file extension of the flat layout: that of the task's own files (xnli: tsv, xcopa: jsonl, squad: json).</summary>
    public string Extension =>
        (Path.GetExtension(Definition.Layout.Test ?? Definition.Layout.Dev ?? Definition.Layout.Train ?? ".tsv") is { Length: > 1 } e ? e[1..] : "tsv");

    /// <summary>Flat-layout split names: dev is also found as "val" (XCOPA).</summary>
    static string[] SplitNames(Split split) => split switch { Split.Train => ["train"], Split.Dev => ["dev", "val"], _ => ["test"] };

    /// <summary>
    /// The file(s) of a split and language. The task's own layout is used for the train split only when it names the
    /// language, or the language is the task's training language: a missing train-de file must not silently become
    /// English training data.
    /// </summary>
    public IReadOnlyList<string> Files(string folder, Split split, string language)
    {
        if (TryFiles(folder, split, language) is { } found) return found;
        string flat = Path.Combine(folder, $"{SplitNames(split)[0]}-{language}.{Extension}");
        string? own = Definition.Layout.Pattern(split);
        throw new InvalidInputException(flat, $"the {split.ToString().ToLowerInvariant()} file of task {Name} ({language}) was not found"
            + (own == null ? "" : $" (nor {Path.Combine(folder, own.Replace("{lang}", language))})"));
    }

    IReadOnlyList<string>? TryFiles(string folder, Split split, string language)
    {
        foreach (var name in SplitNames(split))
        {
            string path = Path.Combine(folder, $"{name}-{language}.{Extension}");
            if (File.Exists(path)) return [path];
        }
        string? pattern = Definition.Layout.Pattern(split);
        if (pattern == null || (split == Split.Train && !pattern.Contains("{lang}") && language != Definition.TrainLanguage)) return null;
        var paths = Definition.Layout.Resolve(folder, split, language);
        return paths.Count > 0 && paths.All(p => File.Exists(p) || Directory.Exists(p)) ? paths : null;
    }

    /// <summary>
    /// The languages a folder holds a split for: flat <c>&lt;split&gt;-&lt;lang&gt;</c> files (any code, e.g. a
    /// translated test set or a toy language) and the task's own languages whose layout files exist.
    /// </summary>
    public IReadOnlyList<string> Languages(string folder, Split split)
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        if (Directory.Exists(folder))
            foreach (var name in SplitNames(split))
                foreach (var f in Directory.GetFiles(folder, $"{name}-*.{Extension}"))
                    found.Add(Path.GetFileName(f)[(name.Length + 1)..^(Extension.Length + 1)]);
        foreach (var lang in Definition.AllLanguages)
            if (TryFiles(folder, split, lang) != null) found.Add(lang);
        return [.. found];
    }

    /// <summary>
    /// The prediction file name of xtreme's contract (&lt;split&gt;-&lt;lang&gt;.&lt;ext&gt;, ext as `stilts score` reads
    /// it); tasks outside the benchmarks write tsv lines, or json answers for span QA.
    /// </summary>
    public string PredictionFileName(Split split, string language) =>
        $"{SplitNames(split)[0]}-{language}.{Definition.PredictionExtension ?? (Kind == TaskKind.SpanQa ? "json" : "tsv")}";

    /// <summary>Examples of the files in order (the task's reader; the language is passed for readers that filter by it).</summary>
    public IEnumerable<TaskExample> Read(IReadOnlyList<string> files, string language)
    {
        if (Definition.Reader is not ExampleReader reader)
            throw new InvalidInputException(Name, $"{Kind} data is a retrieval set, not per-example files");
        var report = new ReadReport();
        return files.SelectMany(p => reader.Read(p, language, report));
    }

    /// <summary>The label set of an open-label task (CCG supertags), from its training examples in first-seen order, sorted.</summary>
    public PipelineTask WithLabelsFrom(IReadOnlyList<string> trainFiles, string language)
    {
        if (Labels.Count > 0 || Kind is not (TaskKind.Tagging or TaskKind.SentenceClassification or TaskKind.PairClassification)) return this;
        var labels = Gold(trainFiles, language).Where(g => g != null).SelectMany(g => g!).Distinct().Order(StringComparer.Ordinal).ToList();
        if (labels.Count == 0) throw new InvalidInputException(trainFiles[0], $"task {Name} has no label set and its training file holds no labels");
        return this with { Labels = labels };
    }

    /// <summary>Featurizes every example of the files into cache rows (a tagging sentence or a QA context may give several rows).</summary>
    /// <param name="training">Span QA: label windows with the first gold answer (evaluation rows carry no answer).</param>
    public IEnumerable<int[][]> Featurize(IReadOnlyList<string> files, string language, TextTokenizer tokenizer, FeaturizeOptions options, bool training = false)
    {
        if (options.TextToText)
        {
            foreach (var row in TextToTextRows(files, language, tokenizer, options)) yield return row;
            yield break;
        }
        int maxLength = options.MaxLength;
        var labelIndex = Labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i);
        int sentence = 0, question = 0;
        string where = files.Count == 1 ? files[0] : string.Join(", ", files);
        foreach (var example in Read(files, language))
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
                    if (Labels.Count > 0 && cf.NumChoices != Labels.Count)
                        throw new InvalidInputException($"{where}: {c.Id}", $"{cf.NumChoices} choices, but {Name} has {Labels.Count}");
                    yield return [.. Enumerable.Range(0, cf.NumChoices).SelectMany(k => new[] { cf.InputIds[k], cf.TokenTypeIds[k] }), [cf.Label]];
                    break;
                case SpanQaExample q:
                    foreach (var row in SpanQaRows(tokenizer, question++, q, SpanOptions(options), training)) yield return row;
                    break;
                case MaskedLmExample m:
                    var mf = MaskedLanguageModeling.Featurize(tokenizer, m.Text, maxLength);
                    yield return [mf.InputIds, mf.SpecialTokensMask.Select(b => b ? 1 : 0).ToArray()];
                    break;
                default:
                    throw new InvalidInputException(where, $"{example.GetType().Name} is not supported by the runner");
            }
        }

        int LabelOf(string? label) => label == null ? FeatureLabels.Ignore
            : labelIndex.TryGetValue(label, out int i) ? i : throw new InvalidInputException(where, $"unknown label '{label}' (task {Name} has: {string.Join(", ", Labels.Take(20))})");
    }

    /// <summary>The task's text-to-text form (mT5): the default verbalizer over this task's labels.</summary>
    public Verbalizer Verbalizer => Verbalizer.For(Definition with { Labels = Kind == TaskKind.MultipleChoice ? Definition.Labels : Labels });

    IEnumerable<int[][]> TextToTextRows(IReadOnlyList<string> files, string language, TextTokenizer tokenizer, FeaturizeOptions options)
    {
        var verbalizer = Verbalizer;
        foreach (var example in Read(files, language))
        {
            var formatted = TextToTextFormatter.Format(verbalizer, example);
            var f = TextToTextFeaturizer.Featurize(tokenizer, formatted, options.MaxLength, options.MaxTargetLength);
            yield return [f.InputIds, f.LabelIds];
        }
    }

    /// <summary>Gold labels of the files in example order (per word for tagging, answers for QA); null where there are none.</summary>
    public List<string[]?> Gold(IReadOnlyList<string> files, string language) => [.. Read(files, language).Select(GoldOf)];

    /// <summary>An example's gold: [label], tags per word, the choice index as text, or the answer texts; null when unlabelled.</summary>
    public static string[]? GoldOf(TaskExample example) => example switch
    {
        PairClassificationExample p => p.Label == null ? null : [p.Label],
        SentenceClassificationExample s => s.Label == null ? null : [s.Label],
        TaggingExample t => t.Tags?.ToArray(),
        MultipleChoiceExample c => c.Label is int l ? [l.ToString(System.Globalization.CultureInfo.InvariantCulture)] : null,
        SpanQaExample q => q.Answers.Count == 0 ? null : [.. q.Answers.Select(a => a.Text)],
        _ => null,
    };

    /// <summary>run_squad's window settings from the featurize options.</summary>
    public static SpanQaOptions SpanOptions(FeaturizeOptions o) => new() { MaxLength = o.MaxLength, DocStride = o.DocStride, MaxQueryLength = o.MaxQueryLength };

    static IEnumerable<int[][]> SpanQaRows(TextTokenizer tokenizer, int index, SpanQaExample q, SpanQaOptions options, bool training)
    {
        // Training uses the first gold answer; one whose answer_start does not point at its text is skipped (HF run_squad
        // skips answers it cannot find). Evaluation rows need no answer: decoding reads the logits only.
        SpanAnswer? answer = training && q.Answers.Count > 0 ? q.Answers[0] : null;
        if (answer is SpanAnswer a && (a.AnswerStart < 0 || a.AnswerStart + a.Text.Length > q.Context.Length
            || string.CompareOrdinal(q.Context, a.AnswerStart, a.Text, 0, a.Text.Length) != 0))
            yield break;
        var features = SpanQaFeaturizer.Featurize(tokenizer, index, q.Question, q.Context, answer?.AnswerStart, answer?.Text, options, training);
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
    public List<IReadOnlyList<string>> Words(IReadOnlyList<string> files, string language) => Read(files, language).OfType<TaggingExample>().Select(t => t.Words).ToList();

    public static PipelineTask MaskedLm { get; } = new(Stilts.Tasks.MaskedLm.Definition);
}

/// <summary>
/// The tasks the runner trains and evaluates: every per-example task of <see cref="TaskRegistry"/> by name, or a user
/// task from its YAML/JSON config file (<see cref="UserTask"/>) by path.
/// </summary>
public static class PipelineTasks
{
    public static PipelineTask Get(string name, string where)
    {
        if (TaskRegistry.All.TryGetValue(name, out var definition)) return PipelineTask.For(definition);
        if (name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            if (!File.Exists(name)) throw new InvalidInputException(where, $"the user task config '{name}' was not found");
            return PipelineTask.For(UserTask.Load(name));
        }
        throw new InvalidInputException(where, $"unknown task '{name}' (a registry name: {string.Join(", ", TaskRegistry.All.Keys.Order(StringComparer.Ordinal))}; or a user task .yaml)");
    }
}
