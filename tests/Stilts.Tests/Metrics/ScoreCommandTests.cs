using System.Text.Json;
using System.Diagnostics;
using Stilts.Metrics.Scoring;

namespace Stilts.Tests.Metrics;

/// <summary>
/// End to end over a mock folder tree the test writes. Every language gets small files whose score is known by
/// construction: even-indexed languages are predicted perfectly, odd ones get the "half wrong" variant below, so the
/// task means depend on how many odd languages a task has.
/// </summary>
public sealed class ScoreCommandTests
{
    // Expected per-language scores of the odd ("imperfect") variant of each format; even languages score 100.
    // Classification / Tatoeba / XCOPA: 2 of 4 right → 50. Tagging: PER(0,1) predicted as PER(0,0), LOC right → F1 50.
    // BUCC: 1 of 2 pairs right → F1 50. QA: q1 right, q2 "fox" for "red fox" → EM 50, F1 (1 + 2/3) / 2.
    // Mewsli-X: ranks 1 and 2 → (1 + 1/2) / 2. LAReQA: golds at ranks 1 and 3 → (1 + 2/3) / 2.
    static double OddScore(TaskFormat format) => format switch
    {
        TaskFormat.SquadQa or TaskFormat.MlqaQa => (50.0 + 100.0 * (1 + 2.0 / 3.0) / 2) / 2,
        TaskFormat.MewsliX => 75.0,
        TaskFormat.Lareqa => 100.0 * (1 + 2.0 / 3.0) / 2,
        _ => 50.0,
    };

    static double ExpectedTaskScore(BenchmarkTask task)
    {
        int n = task.Languages.Count, odd = n / 2;
        if (task.IsQa)
        {
            double em = ((n - odd) * 100.0 + odd * 50.0) / n;
            double f1 = ((n - odd) * 100.0 + odd * 100.0 * (1 + 2.0 / 3.0) / 2) / n;
            return (em + f1) / 2;
        }
        return ((n - odd) * 100.0 + odd * OddScore(task.Format)) / n;
    }

    static void WriteTree(string labels, string predictions, Benchmark benchmark)
    {
        foreach (var task in BenchmarkLanguages.Tasks(benchmark))
            for (int i = 0; i < task.Languages.Count; i++)
            {
                var (gold, pred) = Files(task.Format, odd: i % 2 == 1);
                Write(XtremeScorer.FilePath(labels, task, task.Languages[i]), gold);
                Write(XtremeScorer.FilePath(predictions, task, task.Languages[i]), pred);
            }
    }

    static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    static (string Gold, string Pred) Files(TaskFormat format, bool odd) => format switch
    {
        TaskFormat.Classification => ("entailment\nneutral\ncontradiction\nneutral\n",
            odd ? "entailment\nneutral\nneutral\nentailment\n" : "entailment\nneutral\ncontradiction\nneutral\n"),
        TaskFormat.Tatoeba => ("3\n0\n2\n1\n", odd ? "3\n0\n0\n0\n" : "3\n0\n2\n1\n"),
        TaskFormat.Xcopa => ("{\"label\": 0}\n{\"label\": 1}\n{\"label\": 1}\n{\"label\": 0}\n",
            odd ? "{\"label\": 0}\n{\"label\": 1}\n{\"label\": 0}\n{\"label\": 1}\n" : "{\"label\": 0}\n{\"label\": 1.0}\n{\"label\": 1}\n{\"label\": 0}\n"),
        TaskFormat.Tagging => ("B-PER\nI-PER\nO\n\nB-LOC\n", odd ? "B-PER\nO\nO\n\nB-LOC\n" : "B-PER\nI-PER\nO\n\nB-LOC\n"),
        TaskFormat.BitextPairs => ("xx-001\ten-007\nxx-002\ten-003\n", odd ? "xx-001\ten-007\nxx-002\ten-009\n" : "xx-002\ten-003\nxx-001\ten-007\n"),
        TaskFormat.SquadQa or TaskFormat.MlqaQa => (
            """{"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "The Big Apple has a red fox.", "qas": [{"id": "q1", "question": "?", "answers": [{"answer_start": 4, "text": "Big Apple"}]}, {"id": "q2", "question": "?", "answers": [{"answer_start": 22, "text": "red fox"}]}]}]}]}""",
            odd ? """{"q1": "Big Apple!", "q2": "fox"}""" : """{"q1": "big apple", "q2": "Red fox."}"""),
        TaskFormat.MewsliX => ("""{"m1": ["Q1"], "m2": ["Q2"]}""", odd ? """{"m1": ["Q1", "Q5"], "m2": ["Q5", "Q2"]}""" : """{"m1": ["Q1"], "m2": ["Q2", "Q1"]}"""),
        TaskFormat.Lareqa => ("""{"q1": ["c1", "c2"]}""", odd ? """{"q1": ["c1", "c9", "c2"]}""" : """{"q1": ["c2", "c1"]}"""),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    // The CLI runs as its own process, so stdout, stderr and the exit code are the real ones.
    static (int Exit, string Stdout, string Stderr) RunCli(params string[] args)
    {
        var bin = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)); // bin/<config>/<tfm>
        string config = bin.Parent!.Name, tfm = bin.Name;
        string dll = Path.Combine(TestPaths.RepoRoot, "src", "Stilts.Cli", "bin", config, tfm, "Stilts.Cli.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (string a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.Result);
    }

    [Theory]
    [InlineData(Benchmark.Xtreme, 9)]
    [InlineData(Benchmark.XtremeR, 10)]
    public void OverallIsThePlainMeanOfTaskMeans(Benchmark benchmark, int taskCount)
    {
        string root = TestPaths.NewTempDir("stilts-score");
        string labels = Path.Combine(root, "labels"), predictions = Path.Combine(root, "predictions");
        WriteTree(labels, predictions, benchmark);

        var result = XtremeScorer.Score(benchmark, predictions, labels);

        var tasks = BenchmarkLanguages.Tasks(benchmark);
        Assert.Equal(taskCount, result.Tasks.Count);
        foreach (var task in tasks)
        {
            var scored = result.Tasks.Single(t => t.Task == task.Name);
            Assert.Equal(task.Languages, scored.Languages.Select(l => l.Language));
            Assert.Equal(ExpectedTaskScore(task), scored.Score, 9);
        }
        Assert.Equal(tasks.Average(ExpectedTaskScore), result.Overall!.Value, 9);
        Assert.Empty(result.MissingFiles);
    }

    [Fact]
    public void MatchesFrozenNumbersOfTheOfficialScript()
    {
        // Produced by google-research/xtreme evaluate.py (--xtreme_version xtreme, seqeval 0.0.12) on this mock tree.
        string root = TestPaths.NewTempDir("stilts-score");
        WriteTree(Path.Combine(root, "l"), Path.Combine(root, "p"), Benchmark.Xtreme);
        var result = XtremeScorer.Score(Benchmark.Xtreme, Path.Combine(root, "p"), Path.Combine(root, "l"));
        var official = new Dictionary<string, double>
        {
            ["pawsx"] = 78.57142857142857, ["xnli"] = 76.66666666666667, ["panx"] = 75.0, ["udpos"] = 75.75757575757575,
            ["bucc2018"] = 75.0, ["tatoeba"] = 75.0, ["xquad"] = 84.84848484848484, ["mlqa"] = 85.71428571428572,
            ["tydiqa"] = 85.18518518518519,
        };
        foreach (var t in result.Tasks) Assert.Equal(official[t.Task], t.Score, 12);
        Assert.Equal(79.0826251937363, result.Overall!.Value, 12);
    }

    [Fact]
    public void ReportsOfficialMetricNamesPerLanguage()
    {
        string root = TestPaths.NewTempDir("stilts-score");
        WriteTree(Path.Combine(root, "l"), Path.Combine(root, "p"), Benchmark.Xtreme);
        var result = XtremeScorer.Score(Benchmark.Xtreme, Path.Combine(root, "p"), Path.Combine(root, "l"));
        using var json = JsonDocument.Parse(result.ToJson());
        var tasks = json.RootElement.GetProperty("tasks");

        // xquad: en (index 0) perfect, es (index 1) imperfect.
        var es = tasks.GetProperty("xquad").GetProperty("languages").GetProperty("es");
        Assert.Equal(50.0, es.GetProperty("exact_match").GetDouble(), 12);
        Assert.Equal(100.0 * (1 + 2.0 / 3.0) / 2, es.GetProperty("f1").GetDouble(), 12);
        var panxHe = tasks.GetProperty("panx").GetProperty("languages").GetProperty("he");
        Assert.Equal(["f1", "precision", "recall"], panxHe.EnumerateObject().Select(p => p.Name));
        Assert.Equal(50.0, panxHe.GetProperty("f1").GetDouble(), 12);
        Assert.Equal(50.0, tasks.GetProperty("pawsx").GetProperty("languages").GetProperty("en").GetProperty("accuracy").GetDouble(), 12);
        Assert.Equal(result.Overall!.Value, json.RootElement.GetProperty("overall").GetDouble());
    }

    [Fact]
    public void MissingLanguageFileIsAnErrorNamingIt()
    {
        string root = TestPaths.NewTempDir("stilts-score");
        string labels = Path.Combine(root, "labels"), predictions = Path.Combine(root, "predictions");
        WriteTree(labels, predictions, Benchmark.XtremeR);
        string gone = Path.Combine(predictions, "mewslix", "test-uk.json");
        File.Delete(gone);

        var e = Assert.Throws<InvalidInputException>(() => XtremeScorer.Score(Benchmark.XtremeR, predictions, labels));
        Assert.Equal(gone, e.Where);
        Assert.Contains("--partial", e.Message);

        var (exit, stdout, stderr) = RunCli("score", "--benchmark", "xtreme-r", "--predictions", predictions, "--labels", labels);
        Assert.True(exit == 2, $"exit {exit}: {stderr}");
        Assert.Contains(gone, stderr);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void PartialScoresWhatIsThereAndListsTheRest()
    {
        string root = TestPaths.NewTempDir("stilts-score");
        string labels = Path.Combine(root, "labels"), predictions = Path.Combine(root, "predictions");
        WriteTree(labels, predictions, Benchmark.Xtreme);
        string gone = Path.Combine(labels, "pawsx", "test-es.tsv"); // es is index 2: perfect
        File.Delete(gone);
        Directory.Delete(Path.Combine(predictions, "bucc2018"), recursive: true);
        string output = Path.Combine(root, "out", "scores.json");

        var (exit, stdout, stderr) = RunCli("score", "--benchmark", "xtreme", "--predictions", predictions, "--labels", labels,
            "--partial", "--output", output);
        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        Assert.Equal(File.ReadAllText(output), stdout);
        Assert.Contains($"missing: {gone}", stderr);

        using var json = JsonDocument.Parse(File.ReadAllText(output));
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("overall").ValueKind);
        var missing = json.RootElement.GetProperty("missing").EnumerateArray().Select(m => m.GetString()).ToList();
        Assert.Contains(gone, missing);
        Assert.Equal(5, missing.Count); // one label file + four BUCC prediction files
        var tasks = json.RootElement.GetProperty("tasks");
        Assert.False(tasks.TryGetProperty("bucc2018", out _));
        var pawsx = tasks.GetProperty("pawsx");
        Assert.False(pawsx.GetProperty("complete").GetBoolean());
        // de, en, fr, ja, ko, zh remain: odd indices en (1), fr (3), ko (5) score 50 → (3 × 100 + 3 × 50) / 6.
        Assert.Equal(75.0, pawsx.GetProperty("score").GetDouble(), 12);
        Assert.Equal(6, pawsx.GetProperty("languages").EnumerateObject().Count());
    }

    [Fact]
    public void MalformedPredictionLineIsAnErrorWithFileAndLine()
    {
        string root = TestPaths.NewTempDir("stilts-score");
        string labels = Path.Combine(root, "labels"), predictions = Path.Combine(root, "predictions");
        WriteTree(labels, predictions, Benchmark.Xtreme);
        string tatoeba = Path.Combine(predictions, "tatoeba", "test-de.tsv");
        File.WriteAllText(tatoeba, "3\n0\n[2]\n1\n"); // the raw numpy repr some scripts write
        var e = Assert.Throws<InvalidInputException>(() => XtremeScorer.Score(Benchmark.Xtreme, predictions, labels));
        Assert.Equal($"{tatoeba}:3", e.Where);

        File.WriteAllText(tatoeba, "3\n0\n2\n1\n");
        string bucc = Path.Combine(predictions, "bucc2018", "test-fr.tsv");
        File.WriteAllText(bucc, "xx-001\ten-007\nxx-002 en-003\n");
        e = Assert.Throws<InvalidInputException>(() => XtremeScorer.Score(Benchmark.Xtreme, predictions, labels));
        Assert.Equal($"{bucc}:2", e.Where);

        File.WriteAllText(bucc, "xx-001\ten-007\n");
        string xnli = Path.Combine(predictions, "xnli", "test-ar.tsv");
        File.WriteAllText(xnli, "entailment\n");
        e = Assert.Throws<InvalidInputException>(() => XtremeScorer.Score(Benchmark.Xtreme, predictions, labels));
        Assert.Equal(xnli, e.Where);
        Assert.Contains("1 lines", e.Message);

        File.WriteAllText(xnli, "entailment\nneutral\ncontradiction\nneutral\n");
        string xquad = Path.Combine(predictions, "xquad", "test-th.json");
        File.WriteAllText(xquad, """{"q1": "Big Apple", "q2": ["red", "fox"]}""");
        e = Assert.Throws<InvalidInputException>(() => XtremeScorer.Score(Benchmark.Xtreme, predictions, labels));
        Assert.Equal($"{xquad}: q2", e.Where);
    }
}
