using Stilts.Tasks;

namespace Stilts.Metrics.Scoring;

public enum Benchmark { Xtreme, XtremeR }

/// <summary>How a task's files look and which metric scores them (xtreme evaluate.py READER/METRIC_FUNCTION).</summary>
public enum TaskFormat
{
    /// <summary>tsv, one label per line; accuracy (XNLI, PAWS-X).</summary>
    Classification,
    /// <summary>tsv, one tag per line, blank line between sentences; seqeval F1 (UD-POS, PAN-X).</summary>
    Tagging,
    /// <summary>SQuAD-format gold, {qid: answer} predictions; SQuAD v1.1 EM/F1 (XQuAD, TyDiQA-GoldP).</summary>
    SquadQa,
    /// <summary>As <see cref="SquadQa"/> with the language-aware MLQA normaliser.</summary>
    MlqaQa,
    /// <summary>tsv lines "src_id \t en_id"; F1 over pair sets (BUCC 2018).</summary>
    BitextPairs,
    /// <summary>tsv, one foreign-sentence index per English line; accuracy (Tatoeba).</summary>
    Tatoeba,
    /// <summary>jsonl with a "label" field per line; accuracy (XCOPA).</summary>
    Xcopa,
    /// <summary>json {example_id: [entity ids]}; MRR@20 reported as map@20 (Mewsli-X).</summary>
    MewsliX,
    /// <summary>json {question_id: [candidate ids]}, several golds; mAP@20 (LAReQA; not scored by evaluate.py).</summary>
    Lareqa,
}

/// <summary>One task of a benchmark: its folder name, file format and languages in evaluate.py's order.</summary>
public sealed record BenchmarkTask(string Name, TaskFormat Format, IReadOnlyList<string> Languages)
{
    public string Extension => Format switch
    {
        TaskFormat.SquadQa or TaskFormat.MlqaQa or TaskFormat.MewsliX or TaskFormat.Lareqa => "json",
        TaskFormat.Xcopa => "jsonl",
        _ => "tsv",
    };

    public bool IsQa => Format is TaskFormat.SquadQa or TaskFormat.MlqaQa;
}

/// <summary>
/// The tasks of XTREME and XTREME-R as xtreme's evaluate.py scores them (XTREME_TASK2LANGS / XTREME_R_TASK2LANGS),
/// with the language lists of the task library (<see cref="Stilts.Tasks.Languages"/>). LAReQA's list is empty in
/// evaluate.py; we use the 11 XQuAD-R languages so the XTREME-R overall can include it.
/// </summary>
public static class BenchmarkLanguages
{
    public static IReadOnlyList<BenchmarkTask> Xtreme { get; } =
    [
        new("pawsx", TaskFormat.Classification, Languages.PawsX),
        new("xnli", TaskFormat.Classification, Languages.Xnli),
        new("panx", TaskFormat.Tagging, Languages.PanX),
        new("udpos", TaskFormat.Tagging, Languages.UdPos),
        new("bucc2018", TaskFormat.BitextPairs, Languages.Bucc),
        new("tatoeba", TaskFormat.Tatoeba, Languages.Tatoeba),
        new("xquad", TaskFormat.SquadQa, Languages.XQuad),
        new("mlqa", TaskFormat.MlqaQa, Languages.Mlqa),
        new("tydiqa", TaskFormat.SquadQa, Languages.TydiQa),
    ];

    public static IReadOnlyList<BenchmarkTask> XtremeR { get; } =
    [
        new("xnli", TaskFormat.Classification, Languages.Xnli),
        new("panx", TaskFormat.Tagging, Languages.PanXR),
        new("udpos", TaskFormat.Tagging, Languages.UdPosR),
        new("tatoeba", TaskFormat.Tatoeba, Languages.TatoebaR),
        new("xcopa", TaskFormat.Xcopa, Languages.XCopa),
        new("lareqa", TaskFormat.Lareqa, Languages.LaReqa),
        new("mewslix", TaskFormat.MewsliX, Languages.MewsliX),
        new("xquad", TaskFormat.SquadQa, Languages.XQuadR),
        new("mlqa", TaskFormat.MlqaQa, Languages.Mlqa),
        new("tydiqa", TaskFormat.SquadQa, Languages.TydiQa),
    ];

    public static IReadOnlyList<BenchmarkTask> Tasks(Benchmark benchmark) => benchmark switch
    {
        Benchmark.Xtreme => Xtreme,
        Benchmark.XtremeR => XtremeR,
        _ => throw new ArgumentOutOfRangeException(nameof(benchmark)),
    };

    /// <summary>"xtreme" / "xtreme-r", the names evaluate.py's --xtreme_version takes.</summary>
    public static string Name(Benchmark benchmark) => benchmark == Benchmark.Xtreme ? "xtreme" : "xtreme-r";

    public static Benchmark Parse(string name) => name.ToLowerInvariant() switch
    {
        "xtreme" => Benchmark.Xtreme,
        "xtreme-r" or "xtremer" or "xtreme_r" => Benchmark.XtremeR,
        _ => throw new InvalidInputException("--benchmark", $"unknown benchmark '{name}' (expected xtreme or xtreme-r)"),
    };
}
