namespace Stilts.Tasks;

/// <summary>
/// Adversarial NLI (rounds R1-R3) and ANLI+ (ANLI + MNLI + SNLI, the paper's largest intermediate task). Labels are
/// mapped from ANLI's e/n/c to the MNLI/XNLI names so one head serves all of them.
/// </summary>
public static class Anli
{
    /// <summary>ANLI R1-R3 together (the '*' matches the round folders).</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "anli", Kind = TaskKind.PairClassification, Role = TaskRole.Intermediate, Labels = Labels,
        Layout = new("anli_v1.0/*/train.jsonl", "anli_v1.0/*/dev.jsonl", "anli_v1.0/*/test.jsonl"),
        Reader = TaskDefinition.Examples((p, r) => Read(p, r)), Metric = MetricName.Accuracy, DefaultMaxLength = 256,
    };

    /// <summary>ANLI+: trains on ANLI + MNLI + SNLI (the data folder itself), validates and tests on ANLI.</summary>
    public static TaskDefinition PlusDefinition { get; } = Definition with
    {
        Name = "anli_plus",
        Layout = new(".", "anli_v1.0/*/dev.jsonl", "anli_v1.0/*/test.jsonl"),
        Reader = TaskDefinition.Examples((p, r) => Directory.Exists(p) ? ReadPlusTrain(p, r) : Read(p, r)),
    };

    public static IReadOnlyList<string> Labels => Xnli.Labels;

    /// <summary>anli_v1.0/R{1,2,3}/{train,dev,test}.jsonl: uid, context (the premise; "premise" also accepted), hypothesis, label e|n|c.</summary>
    public static IEnumerable<PairClassificationExample> Read(string path, ReadReport? report = null)
    {
        report ??= new ReadReport();
        foreach (var (line, obj) in TaskFiles.JsonLines(path))
        {
            string where = $"{path}:{line}";
            string premise = TaskFiles.OptStr(obj, "context", where) ?? TaskFiles.Str(obj, "premise", where);
            string? label = TaskFiles.OptStr(obj, "label", where);
            report.Read++;
            yield return new PairClassificationExample(
                TaskFiles.OptStr(obj, "uid", where) ?? $"anli-{line}", premise, TaskFiles.Str(obj, "hypothesis", where),
                label is null ? null : label switch
                {
                    "e" => "entailment",
                    "n" => "neutral",
                    "c" => "contradiction",
                    _ => throw new InvalidInputException(where, $"label \"{label}\" is not one of {{e, n, c}}"),
                });
        }
    }

    /// <summary>
    /// ANLI+ training data under one folder, as downloaded: anli_v1.0/R1..R3/train.jsonl, MNLI/train.tsv (GLUE) and
    /// snli_1.0/snli_1.0_train.jsonl. Streams the three sources one after another (about 1.1M examples).
    /// </summary>
    public static IEnumerable<PairClassificationExample> ReadPlusTrain(string folder, ReadReport? report = null)
    {
        report ??= new ReadReport();
        string[] parts =
        [
            .. new[] { "R1", "R2", "R3" }.Select(r => Path.Combine(folder, "anli_v1.0", r, "train.jsonl")),
            Path.Combine(folder, "MNLI", "train.tsv"),
            Path.Combine(folder, "snli_1.0", "snli_1.0_train.jsonl"),
        ];
        foreach (string p in parts)
            if (!File.Exists(p)) throw new InvalidInputException(p, "ANLI+ needs this file (ANLI R1-R3, GLUE MNLI and SNLI 1.0 train)");
        foreach (var e in parts[..3].SelectMany(p => Read(p, report))) yield return e;
        foreach (var e in Mnli.Read(parts[3], report)) yield return e;
        foreach (var e in Snli.Read(parts[4], report)) yield return e;
    }
}
