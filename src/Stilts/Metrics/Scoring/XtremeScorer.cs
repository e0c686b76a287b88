using System.Text;
using System.Text.Json;

namespace Stilts.Metrics.Scoring;

/// <summary>One language's metrics, in percent, keyed by evaluate.py's names (f1, precision, recall, exact_match,
/// accuracy, map@20) in its order.</summary>
public sealed record LanguageScore(string Language, IReadOnlyList<KeyValuePair<string, double>> Metrics);

/// <summary>A task's score (mean over its scored languages; QA = (mean EM + mean F1) / 2) and what it is made of.</summary>
public sealed record TaskScore(string Task, double Score, IReadOnlyList<LanguageScore> Languages, IReadOnlyList<string> MissingLanguages)
{
    public bool Complete => MissingLanguages.Count == 0;
}

/// <summary>A whole benchmark. <see cref="Overall"/> (plain mean of task scores) is null unless every task and language
/// was scored, as in evaluate.py.</summary>
public sealed record BenchmarkScore(Benchmark Benchmark, double? Overall, IReadOnlyList<TaskScore> Tasks, IReadOnlyList<string> MissingFiles)
{
    /// <summary>{"benchmark", "overall", "tasks": {task: {"score", "languages": {lang: {metric: value}}}}, "missing"}.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("benchmark", BenchmarkLanguages.Name(Benchmark));
            if (Overall is double o) w.WriteNumber("overall", o); else w.WriteNull("overall");
            w.WriteStartObject("tasks");
            foreach (var task in Tasks)
            {
                w.WriteStartObject(task.Task);
                w.WriteNumber("score", task.Score);
                w.WriteBoolean("complete", task.Complete);
                w.WriteStartObject("languages");
                foreach (var lang in task.Languages)
                {
                    w.WriteStartObject(lang.Language);
                    foreach (var (metric, value) in lang.Metrics) w.WriteNumber(metric, value);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartArray("missing");
            foreach (string m in MissingFiles) w.WriteStringValue(m);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}

/// <summary>
/// `stilts score`: the arithmetic of xtreme evaluate.py over the folder contract
/// <c>&lt;dir&gt;/&lt;task&gt;/test-&lt;lang&gt;.&lt;tsv|json|jsonl&gt;</c>, for XTREME and XTREME-R (with LAReQA, which
/// evaluate.py leaves out).
/// </summary>
public static class XtremeScorer
{
    /// <param name="partial">Score what is present and list what is missing; otherwise any missing file is an error.</param>
    public static BenchmarkScore Score(Benchmark benchmark, string predictionsDir, string labelsDir, bool partial = false)
    {
        var tasks = BenchmarkLanguages.Tasks(benchmark);
        var missing = new List<string>();
        foreach (var task in tasks)
            foreach (string lang in task.Languages)
                foreach (string dir in new[] { predictionsDir, labelsDir })
                {
                    string path = FilePath(dir, task, lang);
                    if (!File.Exists(path)) missing.Add(path);
                }
        if (missing.Count > 0 && !partial)
            throw new InvalidInputException(missing[0],
                $"file not found{(missing.Count > 1 ? $" (and {missing.Count - 1} more missing)" : "")}; pass --partial to score what is there");

        var scored = new List<TaskScore>();
        foreach (var task in tasks)
        {
            var languages = new List<LanguageScore>();
            var absent = new List<string>();
            foreach (string lang in task.Languages)
            {
                string pred = FilePath(predictionsDir, task, lang), gold = FilePath(labelsDir, task, lang);
                if (!File.Exists(pred) || !File.Exists(gold)) { absent.Add(lang); continue; }
                languages.Add(new LanguageScore(lang, ScoreLanguage(task, lang, pred, gold)));
            }
            if (languages.Count > 0) scored.Add(new TaskScore(task.Name, TaskMean(task, languages), languages, absent));
        }

        double? overall = null;
        if (missing.Count == 0)
        {
            double sum = 0;
            foreach (var t in scored) sum += t.Score;
            overall = sum / scored.Count;
        }
        return new BenchmarkScore(benchmark, overall, scored, missing);
    }

    public static string FilePath(string dir, BenchmarkTask task, string language) =>
        Path.Combine(dir, task.Name, $"test-{language}.{task.Extension}");

    // evaluate.py: avg_<metric> = sum over languages (list order) / count; QA averages avg EM and avg F1; otherwise
    // the first of f1, accuracy, map@20 present.
    static double TaskMean(BenchmarkTask task, IReadOnlyList<LanguageScore> languages)
    {
        double Avg(string metric)
        {
            double sum = 0;
            foreach (var l in languages) sum += l.Metrics.First(m => m.Key == metric).Value;
            return sum / languages.Count;
        }
        if (task.IsQa) return (Avg("exact_match") + Avg("f1")) / 2;
        string main = languages[0].Metrics.Any(m => m.Key == "f1") ? "f1"
            : languages[0].Metrics.Any(m => m.Key == "accuracy") ? "accuracy" : "map@20";
        return Avg(main);
    }

    static IReadOnlyList<KeyValuePair<string, double>> ScoreLanguage(BenchmarkTask task, string lang, string predPath, string goldPath)
    {
        switch (task.Format)
        {
            case TaskFormat.Classification:
                return AccuracyOf(XtremeFiles.ReadLines(goldPath), XtremeFiles.ReadLines(predPath), goldPath, predPath);
            case TaskFormat.Tatoeba:
                return AccuracyOf(XtremeFiles.ReadIndices(goldPath), XtremeFiles.ReadIndices(predPath), goldPath, predPath);
            case TaskFormat.Xcopa:
                return AccuracyOf(XtremeFiles.ReadXcopaLabels(goldPath), XtremeFiles.ReadXcopaLabels(predPath), goldPath, predPath);
            case TaskFormat.Tagging:
            {
                var gold = XtremeFiles.ReadTags(goldPath);
                var pred = XtremeFiles.ReadTags(predPath);
                if (gold.Count != pred.Count)
                    throw new InvalidInputException(predPath, $"has {pred.Count} sentences but {goldPath} has {gold.Count}");
                var s = Seqeval.Score(gold, pred);
                return [new("f1", s.F1), new("precision", s.Precision), new("recall", s.Recall)];
            }
            case TaskFormat.BitextPairs:
            {
                var s = Bucc.Score(XtremeFiles.ReadPairs(goldPath), XtremeFiles.ReadPairs(predPath));
                return [new("f1", s.F1), new("precision", s.Precision), new("recall", s.Recall)];
            }
            case TaskFormat.SquadQa:
            case TaskFormat.MlqaQa:
            {
                var normalizer = task.Format == TaskFormat.MlqaQa ? AnswerNormalizer.Mlqa(lang) : AnswerNormalizer.Squad;
                QaScore s;
                try { s = QaMetrics.Evaluate(XtremeFiles.ReadSquadGold(goldPath), XtremeFiles.ReadAnswers(predPath), normalizer); }
                catch (InvalidInputException e) when (e.Where.StartsWith("question", StringComparison.Ordinal))
                {
                    throw new InvalidInputException($"{goldPath}: {e.Where}", e.Message[(e.Where.Length + 2)..], e);
                }
                return [new("exact_match", s.ExactMatch), new("f1", s.F1)];
            }
            case TaskFormat.MewsliX:
            {
                var gold = XtremeFiles.ReadIdLists(goldPath);
                var pred = XtremeFiles.ReadIdLists(predPath).ToDictionary(kv => kv.Key, kv => kv.Value);
                var empty = gold.FirstOrDefault(kv => kv.Value.Count == 0);
                if (empty.Key != null) throw new InvalidInputException($"{goldPath}: {empty.Key}", "has no gold entity");
                return [new("map@20", MeanAveragePrecision.ReciprocalRankAtK(gold, pred, 20).Value)];
            }
            case TaskFormat.Lareqa:
            {
                var gold = XtremeFiles.ReadIdLists(goldPath);
                var pred = XtremeFiles.ReadIdLists(predPath).ToDictionary(kv => kv.Key, kv => kv.Value);
                var empty = gold.FirstOrDefault(kv => kv.Value.Count == 0);
                if (empty.Key != null) throw new InvalidInputException($"{goldPath}: {empty.Key}", "has no gold answer");
                if (gold.Count == 0) throw new InvalidInputException(goldPath, "has no questions");
                return [new("map@20", MeanAveragePrecision.MeanAtK(gold, pred, 20).Value)];
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(task));
        }
    }

    static IReadOnlyList<KeyValuePair<string, double>> AccuracyOf(List<string> gold, List<string> pred, string goldPath, string predPath)
    {
        if (gold.Count != pred.Count)
            throw new InvalidInputException(predPath, $"has {pred.Count} lines but {goldPath} has {gold.Count}");
        if (gold.Count == 0) throw new InvalidInputException(goldPath, "is empty");
        return [new("accuracy", Accuracy.Compute(gold, pred).Accuracy)];
    }
}
