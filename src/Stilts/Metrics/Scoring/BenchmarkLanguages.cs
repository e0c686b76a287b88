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
/// Task → languages of XTREME and XTREME-R, copied as data from xtreme evaluate.py (XTREME_TASK2LANGS /
/// XTREME_R_TASK2LANGS), in that file's order, which is also the order the per-language averages are summed in.
/// LAReQA's list is empty there; we use the 11 XQuAD-R languages so the XTREME-R overall can include it.
/// </summary>
public static class BenchmarkLanguages
{
    static string[] L(string csv) => csv.Split(',');

    static readonly string[] Xnli = L("ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh");
    static readonly string[] Mlqa = L("en,es,de,ar,hi,vi,zh");
    static readonly string[] Tydiqa = L("en,ar,bn,fi,id,ko,ru,sw,te");
    static readonly string[] PanxXtreme = L("ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,yo,my,zh,kk,tr,et,fi,hu");
    static readonly string[] UdposXtreme = L("af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,zh");
    static readonly string[] TatoebaXtreme = L("ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,zh,kk,tr,et,fi,hu");
    static readonly string[] XquadXtreme = L("en,es,de,el,ru,tr,ar,vi,th,zh,hi");

    public static IReadOnlyList<BenchmarkTask> Xtreme { get; } =
    [
        new("pawsx", TaskFormat.Classification, L("de,en,es,fr,ja,ko,zh")),
        new("xnli", TaskFormat.Classification, Xnli),
        new("panx", TaskFormat.Tagging, PanxXtreme),
        new("udpos", TaskFormat.Tagging, UdposXtreme),
        new("bucc2018", TaskFormat.BitextPairs, L("de,fr,ru,zh")),
        new("tatoeba", TaskFormat.Tatoeba, TatoebaXtreme),
        new("xquad", TaskFormat.SquadQa, XquadXtreme),
        new("mlqa", TaskFormat.MlqaQa, Mlqa),
        new("tydiqa", TaskFormat.SquadQa, Tydiqa),
    ];

    public static IReadOnlyList<BenchmarkTask> XtremeR { get; } =
    [
        new("xnli", TaskFormat.Classification, Xnli),
        new("panx", TaskFormat.Tagging, [.. PanxXtreme, .. L("qu,pl,uk,az,lt,pa,gu,ro")]),
        new("udpos", TaskFormat.Tagging, [.. UdposXtreme, .. L("lt,pl,uk,wo,ro")]),
        new("tatoeba", TaskFormat.Tatoeba, [.. TatoebaXtreme, .. L("az,lt,pl,uk,ro")]),
        new("xcopa", TaskFormat.Xcopa, L("et,ht,id,it,qu,sw,ta,th,tr,vi,zh")),
        new("lareqa", TaskFormat.Lareqa, XquadXtreme),
        new("mewslix", TaskFormat.MewsliX, L("ar,de,en,es,fa,ja,pl,ro,ta,tr,uk")),
        new("xquad", TaskFormat.SquadQa, [.. XquadXtreme, "ro"]),
        new("mlqa", TaskFormat.MlqaQa, Mlqa),
        new("tydiqa", TaskFormat.SquadQa, Tydiqa),
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
