using Stilts.Studies;

namespace Stilts.Tests.Studies;

public sealed class StudyRunnerTests
{
    const string Yaml = """
        name: runner
        models: [{name: m, path: m}]
        regimes:
          - baseline
          - {name: nli, stages: [{task: nli}]}
        targets: [cls, tag]
        seeds: [1, 2]
        """;

    static StudyFile Load(string yaml, string? dir = null)
    {
        dir ??= TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "study.yaml"), yaml);
        return StudyFile.Load(Path.Combine(dir, "study.yaml"));
    }

    [Fact]
    public void RunsIntermediateBeforeItsTargetsSkipsFinishedAndRetriesFailures()
    {
        var study = Load(Yaml);
        using var store = ResultsStore.Open(study.ResultsPath);
        var order = new List<string>();
        bool failOnce = true;
        RunExecutor exec = (s, run, startFrom, folder) =>
        {
            order.Add(run.Key);
            if (run.Kind == PlannedRunKind.Target && run.DependsOn != null)
                Assert.Equal($"ckpt:{run.DependsOn}", startFrom); // target runs start from their intermediate checkpoint
            if (run.Key == "tgt/m/nli/tag/s2" && failOnce) { failOnce = false; throw new InvalidOperationException("loss is NaN"); }
            return new RunOutcome([new MetricRow(run.Key, run.Target ?? "nli", "", "score", run.Seed)], $"ckpt:{run.Key}", new Dictionary<string, double>());
        };

        var first = StudyRunner.RunLocal(study, store, exec);
        Assert.Equal(10, first.Total); // 2 intermediate + 8 target
        Assert.Equal(9, first.Done);
        Assert.Equal(1, first.Failed);
        Assert.Contains("loss is NaN", store.Get("runner", "tgt/m/nli/tag/s2")!.Error);
        foreach (var target in order.Where(k => k.StartsWith("tgt/m/nli/")))
            Assert.True(order.IndexOf(target) > order.IndexOf("int/m/nli/s" + target[^1]));

        order.Clear();
        var second = StudyRunner.RunLocal(study, store, exec);
        Assert.Equal(["tgt/m/nli/tag/s2"], order); // only the failed run is retried; finished runs are skipped
        Assert.Equal(10, second.Done);
    }

    [Fact]
    public void EditingTheStudyRerunsOnlyWhatChanged()
    {
        string dir = TestPaths.NewTempDir();
        var study = Load(Yaml, dir);
        using var store = ResultsStore.Open(study.ResultsPath);
        var ran = new List<string>();
        RunExecutor exec = (s, run, _, _) => { ran.Add(run.Key); return new RunOutcome([], "ckpt", new Dictionary<string, double>()); };
        StudyRunner.RunLocal(study, store, exec);
        ran.Clear();
        var edited = Load(Yaml.Replace("{task: nli}", "{task: nli, epochs: 2}"), dir);
        StudyRunner.RunLocal(edited, store, exec);
        Assert.Equal(6, ran.Count); // the nli intermediate runs (2 seeds) and their 4 target runs
        Assert.All(ran, k => Assert.Contains("/nli/", k));
    }
}
