using Stilts.Studies;

namespace Stilts.Tests.Studies;

public sealed class ResultsStoreTests
{
    static RunRecord Planned(string key, string hash = "h1") =>
        new("s", key, "Target", "m", "r", "xnli", 1, RunStatus.Pending, 0, null, "{}", hash, null, null, null);

    [Fact]
    public void RunLifecycleIsStoredAndReadBack()
    {
        string db = Path.Combine(TestPaths.NewTempDir(), "results.db");
        using var store = ResultsStore.Open(db);
        store.Plan(Planned("a"));
        Assert.True(store.TryStart("s", "a"));
        Assert.False(store.TryStart("s", "a")); // already claimed
        store.Fail("s", "a", "boom");
        Assert.Equal(RunStatus.Failed, store.Get("s", "a")!.Status);
        Assert.Equal("boom", store.Get("s", "a")!.Error);
        Assert.True(store.TryStart("s", "a")); // a failed run is retried
        store.Complete("s", "a", [new MetricRow("a", "xnli", "de", "accuracy", 71.5)], "/ckpt", new Dictionary<string, double> { ["train"] = 3.5 });
        var run = store.Get("s", "a")!;
        Assert.Equal(RunStatus.Done, run.Status);
        Assert.Equal(2, run.Attempts);
        Assert.Equal("/ckpt", run.Checkpoint);
        Assert.False(store.TryStart("s", "a")); // finished runs are never recomputed
        Assert.Equal(71.5, store.Metrics("s").Single().Value);
    }

    [Fact]
    public void ReplanningWithTheSameConfigKeepsResultsAndAChangedConfigResetsThem()
    {
        using var store = ResultsStore.Open(Path.Combine(TestPaths.NewTempDir(), "r.db"));
        store.Plan(Planned("a"));
        store.TryStart("s", "a");
        store.Complete("s", "a", [new MetricRow("a", "xnli", "en", "accuracy", 80)], null);
        store.Plan(Planned("a"));
        Assert.Equal(RunStatus.Done, store.Get("s", "a")!.Status);
        store.Plan(Planned("a", hash: "h2"));
        Assert.Equal(RunStatus.Pending, store.Get("s", "a")!.Status);
        Assert.Empty(store.Metrics("s"));
    }

    [Fact]
    public void ParallelWritersLoseNoRow()
    {
        string db = Path.Combine(TestPaths.NewTempDir(), "r.db");
        using (var s = ResultsStore.Open(db)) { }
        const int writers = 6, runsEach = 25;
        var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
        {
            using var store = ResultsStore.Open(db); // own connection, as a separate worker process has
            for (int i = 0; i < runsEach; i++)
            {
                string key = $"w{w}/r{i}";
                store.Plan(Planned(key));
                Assert.True(store.TryStart("s", key));
                store.Complete("s", key, [new MetricRow(key, "xnli", "en", "accuracy", w * 100 + i), new MetricRow(key, "xnli", "de", "accuracy", i)], null);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        using var check = ResultsStore.Open(db);
        Assert.Equal(writers * runsEach, check.Runs("s").Count(r => r.Status == RunStatus.Done));
        Assert.Equal(writers * runsEach * 2, check.Metrics("s").Count);
        Assert.Equal(Enumerable.Range(0, writers).Sum(w => Enumerable.Range(0, runsEach).Sum(i => w * 100.0 + i)),
            check.Metrics("s").Where(m => m.Language == "en").Sum(m => m.Value));
    }

    [Fact]
    public void ExportsCsvAndJson()
    {
        using var store = ResultsStore.Open(Path.Combine(TestPaths.NewTempDir(), "r.db"));
        store.Plan(Planned("a"));
        store.TryStart("s", "a");
        store.Complete("s", "a", [new MetricRow("a", "xnli", "de", "accuracy", 70.25)], null);
        string csv = store.Export("s", ExportFormat.Csv);
        Assert.Equal("study,run,model,regime,target,seed,task,language,metric,value", csv.Split('\n')[0]);
        Assert.Equal("s,a,m,r,xnli,1,xnli,de,accuracy,70.25", csv.Split('\n')[1]);
        using var json = System.Text.Json.JsonDocument.Parse(store.Export("s", ExportFormat.Json));
        Assert.Equal(70.25, json.RootElement[0].GetProperty("value").GetDouble());
    }
}
