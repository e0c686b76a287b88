using System.Globalization;
using Stilts.Studies;

namespace Stilts.Tests.Studies;

public sealed class StudyReportTests
{
    internal const string StudyYaml = """
        name: report-test
        models:
          - {name: small, path: m/small, size: base}
          - {name: big, path: m/big, size: large}
          - {name: en, path: m/en, size: base, multilingual: false}
        regimes:
          - name: baseline
          - {name: nli-then-qa, stages: [{task: nli}, {task: qa}]}
          - {name: nli-qa-joint, stages: [{tasks: [nli, qa]}]}
        targets: [cls, tag]
        seeds: [1, 2, 3]
        """;

    // Deterministic synthetic scores with a known structure: regimes add a fixed gain, seeds add small noise.
    internal static double ScoreOf(string model, string regime, string target, string lang, int seed)
    {
        double baseScore = (model == "big" ? 70 : 60) + (target == "tag" ? 5 : 0) + (lang == "sw" ? -10 : 0);
        double gain = regime switch { "nli-then-qa" => model == "big" ? 3 : 2, "nli-qa-joint" => 1, _ => 0 };
        return baseScore + gain + (seed - 2) * 0.5 + (lang == "de" ? 0.25 * seed : 0);
    }

    internal static (StudyFile, ResultsStore) Populate()
    {
        string dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "study.yaml");
        File.WriteAllText(path, StudyYaml);
        var study = StudyFile.Load(path);
        var store = ResultsStore.Open(study.ResultsPath);
        foreach (var run in StudyPlan.Expand(study))
        {
            store.Plan(new RunRecord(study.Name, run.Key, run.Kind.ToString(), run.Model.Name, run.Regime.Name, run.Target ?? "", run.Seed,
                RunStatus.Pending, 0, null, run.ConfigJson, run.ConfigHash, null, null, null));
            store.TryStart(study.Name, run.Key);
            var rows = new List<MetricRow>();
            if (run.Target != null)
            {
                string[] langs = ["en", "de", "sw"];
                var perLang = langs.Select(l => ScoreOf(run.Model.Name, run.Regime.Name, run.Target, l, run.Seed)).ToList();
                rows.AddRange(langs.Select((l, i) => new MetricRow(run.Key, run.Target, l, "score", perLang[i])));
                rows.Add(new MetricRow(run.Key, run.Target, "", "score", perLang.Average()));
            }
            store.Complete(study.Name, run.Key, rows, null);
        }
        store.AddInference(new InferenceRow(study.Name, null, "small", "cls", "cpu", 1, 128, 0, 10, 12, 13, 100, 12800, 300));
        return (study, store);
    }

    [Fact]
    public void ReportHasEverySectionWithHandCheckedNumbers()
    {
        var (study, store) = Populate();
        using var _ = store;
        string outDir = TestPaths.NewTempDir("report");
        var files = StudyReport.Write(study, store, outDir);
        string md = File.ReadAllText(files.Markdown);
        foreach (var section in new[] { "Main table — small", "Main table — big", "Per language — cls", "By resource level — tag",
                     "Low-resource summary", "Model size", "Multilingual vs English-only", "Sequential vs joint", "Inference latency" })
            Assert.Contains(section, md);

        // small / nli-then-qa / cls: per-seed task score = mean over en, de, sw of ScoreOf
        var seeds = new[] { 1, 2, 3 };
        var expected = seeds.Select(s => new[] { "en", "de", "sw" }.Average(l => ScoreOf("small", "nli-then-qa", "cls", l, s))).ToList();
        var summary = Statistics.Summarize(expected);
        var csv = File.ReadAllLines(Path.Combine(outDir, "main-small.csv"));
        string row = csv.Single(l => l.StartsWith("nli-then-qa,"));
        Assert.Contains(summary.Mean.ToString("0.00", CultureInfo.InvariantCulture) + " ± " + summary.Sd.ToString("0.00", CultureInfo.InvariantCulture), row);
        Assert.Contains("(+2.00,", row); // the regime's built-in gain, identical on every seed: significant, no dagger
        Assert.Contains("(+1.00,", csv.Single(l => l.StartsWith("nli-qa-joint,")));
        Assert.StartsWith("best per target", csv.Last());

        // sw is Low-resource, en High: both appear in the tier table
        var tiers = File.ReadAllText(Path.Combine(outDir, "resource-levels-cls.csv"));
        Assert.Contains("Low", tiers);
        Assert.Contains("High", tiers);

        Assert.All(files.Plots, p => Assert.True(new FileInfo(p).Length > 1000, p));
        Assert.Contains(files.Plots, p => p.EndsWith("heatmap-small.png"));
        string html = File.ReadAllText(files.Html);
        Assert.Contains("<svg", html);
        Assert.DoesNotContain("src=\"http", html); // self-contained
    }
}
