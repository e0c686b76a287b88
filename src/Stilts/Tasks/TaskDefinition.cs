namespace Stilts.Tasks;

/// <summary>The metric a task is scored with (google-research/xtreme evaluate.py METRIC_FUNCTION names in comments).</summary>
public enum MetricName
{
    Accuracy,      // accuracy: XNLI, PAWS-X, XCOPA and the classification / multiple-choice intermediates
    SeqevalF1,     // f1: UD-POS, PAN-X (seqeval entity F1), CCG
    SquadEmF1,     // squad_em_f1: XQuAD, TyDiQA, SQuAD
    MlqaEmF1,      // mlqa_em_f1: MLQA (language-aware normalisation)
    BuccF1,        // bucc_f1
    Top1Accuracy,  // Tatoeba (accuracy over retrieved indices)
    MapAt20,       // mewslix_map20 / LAReQA mAP@20
    Perplexity,    // masked LM: no benchmark metric
}

/// <summary>Whether a task is scored on XTREME(-R) or only used for intermediate training.</summary>
public enum TaskRole { Target, Intermediate }

/// <summary>
/// Where each split lives under the task's data folder. "{lang}" is replaced by the language; a '*' path segment
/// matches every sub-folder (sorted), e.g. ANLI's rounds "anli_v1.0/*/train.jsonl"; null = the task has no such split.
/// </summary>
public sealed record FileLayout(string? Train, string? Dev, string? Test)
{
    public string? Pattern(Split split) => split switch { Split.Train => Train, Split.Dev => Dev, _ => Test };

    /// <summary>The files (or folder, for readers that take one) of a split, in order.</summary>
    public IReadOnlyList<string> Resolve(string folder, Split split, string language)
    {
        string pattern = Pattern(split) ?? throw new InvalidInputException(folder, $"this task has no {split} split");
        // Rooted patterns (user task configs resolve their files to absolute paths) ignore the folder.
        var paths = new List<string> { Path.IsPathRooted(pattern) ? Path.GetPathRoot(pattern)! : folder };
        foreach (string segment in pattern.Replace("{lang}", language).Split('/', StringSplitOptions.RemoveEmptyEntries))
            paths = segment == "*"
                ? [.. paths.SelectMany(p => Directory.Exists(p) ? Directory.GetDirectories(p).Order(StringComparer.Ordinal) : Enumerable.Empty<string>())]
                : [.. paths.Select(p => Path.Combine(p, segment))];
        if (paths.Count == 0) throw new InvalidInputException(Path.Combine(folder, pattern), "no folder matches '*'");
        return paths;
    }
}

/// <summary>How a task's data is read: per-example files, or a whole retrieval set.</summary>
public abstract record TaskReader;

/// <summary>Reads one file (path, language, report) into examples; lazily where the format allows.</summary>
public sealed record ExampleReader(Func<string, string, ReadReport, IEnumerable<TaskExample>> Read) : TaskReader;

/// <summary>Reads a retrieval set (task folder, language, split) whole.</summary>
public sealed record RetrievalReader(Func<string, string, Split, RetrievalData> Read) : TaskReader;

/// <summary>
/// Everything Stilts needs to know about a task: its kind, labels, languages, file layout, reader, metric and
/// xtreme's prediction file contract (&lt;XtremeFolder&gt;/test-{lang}.&lt;PredictionExtension&gt;).
/// </summary>
public sealed record TaskDefinition
{
    public required string Name { get; init; }
    public required TaskKind Kind { get; init; }
    public required TaskRole Role { get; init; }
    /// <summary>Closed label set (classification, tagging); empty where labels are open (CCG) or not strings.</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];
    /// <summary>Number of choices of a multiple-choice task, else 0.</summary>
    public int ChoiceCount { get; init; }
    /// <summary>Evaluation languages in XTREME and in XTREME-R (empty when the task is not part of that benchmark).</summary>
    public IReadOnlyList<string> XtremeLanguages { get; init; } = [];
    public IReadOnlyList<string> XtremeRLanguages { get; init; } = [];
    /// <summary>Evaluation languages of a task outside the benchmarks (user tasks).</summary>
    public IReadOnlyList<string> OtherLanguages { get; init; } = [];
    /// <summary>The language of the training split (target tasks train on English).</summary>
    public string TrainLanguage { get; init; } = "en";
    public required FileLayout Layout { get; init; }
    public required TaskReader Reader { get; init; }
    public required MetricName Metric { get; init; }
    /// <summary>xtreme's task folder name for predictions/labels (evaluate.py), null for intermediate tasks.</summary>
    public string? XtremeFolder { get; init; }
    public string? PredictionExtension { get; init; }
    public required int DefaultMaxLength { get; init; }

    /// <summary>All languages this task is evaluated on, XTREME and XTREME-R together (or just the train language).</summary>
    public IReadOnlyList<string> AllLanguages =>
        XtremeLanguages.Count + XtremeRLanguages.Count + OtherLanguages.Count == 0 ? [TrainLanguage]
            : [.. XtremeLanguages.Union(XtremeRLanguages).Union(OtherLanguages)];

    /// <summary>Reads a split of a per-example task from its data folder; unknown languages are errors listing the valid ones.</summary>
    public IEnumerable<TaskExample> ReadExamples(string folder, Split split, string? language = null, ReadReport? report = null)
    {
        if (Reader is not ExampleReader reader)
            throw new InvalidInputException(Name, $"{Kind} data is a retrieval set; use ReadRetrieval");
        string lang = split == Split.Train ? language ?? TrainLanguage
            : Languages.Check(language ?? TrainLanguage, AllLanguages, $"task {Name}");
        report ??= new ReadReport();
        return Layout.Resolve(folder, split, lang).SelectMany(p => reader.Read(p, lang, report));
    }

    /// <summary>Reads the retrieval set of one language and split.</summary>
    public RetrievalData ReadRetrieval(string folder, Split split, string language)
    {
        if (Reader is not RetrievalReader reader)
            throw new InvalidInputException(Name, $"{Kind} data is per-example; use ReadExamples");
        Languages.Check(language, AllLanguages, $"task {Name}");
        if (Layout.Pattern(split) is null) throw new InvalidInputException(folder, $"task {Name} has no {split} split");
        return reader.Read(folder, language, split);
    }

    /// <summary>Helper for the task files: a reader from a (path, report) function that ignores the language.</summary>
    internal static ExampleReader Examples(Func<string, ReadReport, IEnumerable<TaskExample>> read) => new((p, _, r) => read(p, r));
}
