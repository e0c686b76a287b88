using Stilts.Studies;

namespace Stilts.Tests.Studies;

public sealed class StudyPlanTests
{
    const string Yaml = """
        name: tiny
        models:
          - {name: base, path: models/base, size: base}
          - {name: en-only, path: models/en, multilingual: false}
        regimes:
          - name: baseline
          - {name: nli, stages: [{task: nli}]}
          - {name: chain, stages: [{task: nli}, {task: qa}]}
          - {name: joint, stages: [{tasks: [nli, qa], sampler: proportional}]}
        targets: [cls, tag]
        seeds: [1, 2]
        """;

    static string Write(string text, string? dir = null)
    {
        string path = Path.Combine(dir ?? TestPaths.NewTempDir(), "study.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void GridExpandsToIntermediateOnceAndTargetsPerRegime()
    {
        var study = StudyFile.Load(Write(Yaml));
        Assert.Equal([RegimeKind.Baseline, RegimeKind.Single, RegimeKind.Sequential, RegimeKind.Joint], study.Regimes.Select(r => r.Kind));
        Assert.False(study.Models[1].Multilingual);
        var plan = StudyPlan.Expand(study);
        // intermediate: 2 models x 3 non-baseline regimes x 2 seeds; targets: 2 models x 4 regimes x 2 targets x 2 seeds
        Assert.Equal(12, plan.Count(r => r.Kind == PlannedRunKind.Intermediate));
        Assert.Equal(32, plan.Count(r => r.Kind == PlannedRunKind.Target));
        Assert.Equal(plan.Count, plan.Select(r => r.Key).Distinct().Count());
        var tgt = plan.Single(r => r.Key == "tgt/base/chain/tag/s2");
        Assert.Equal("int/base/chain/s2", tgt.DependsOn);
        Assert.Null(plan.Single(r => r.Key == "tgt/base/baseline/tag/s2").DependsOn);
    }

    [Fact]
    public void EditingOneRegimeChangesOnlyItsHashes()
    {
        string dir = TestPaths.NewTempDir(); // same folder: model paths resolve the same
        var before = StudyPlan.Expand(StudyFile.Load(Write(Yaml, dir))).ToDictionary(r => r.Key, r => r.ConfigHash);
        var after = StudyPlan.Expand(StudyFile.Load(Write(Yaml.Replace("{task: nli}, {task: qa}", "{task: nli}, {task: qa, epochs: 3}"), dir)))
            .ToDictionary(r => r.Key, r => r.ConfigHash);
        var changed = before.Keys.Where(k => before[k] != after[k]).ToList();
        Assert.NotEmpty(changed);
        Assert.All(changed, k => Assert.Contains("/chain/", k));
        Assert.Equal(2 * 2 + 2 * 2 * 2, changed.Count); // chain: 2 models x 2 seeds intermediate + their 8 target runs
    }

    [Theory]
    [InlineData("name: x\nmodels: [{name: a, path: p}]\n", "targets")]
    [InlineData("name: x\nmodels: [{name: a}]\ntargets: [t]\n", "models[0].path")]
    [InlineData("name: x\nmodels: [{name: a, path: p}]\ntargets: [t]\nseeds: [one]\n", "seeds[0]")]
    [InlineData("name: x\nmodels: [{name: a, path: p}]\ntargets: [t, t]\n", "targets")]
    [InlineData("name: x\nmodel: [{name: a, path: p}]\ntargets: [t]\n", "model")]
    [InlineData("name: x\nmodels: [{name: a, path: p}]\ntargets: [t]\nregimes: [{name: r, stages: [{epochs: 1}]}]\n", "stages[0]")]
    public void BadStudyFilesNameTheKey(string yaml, string key)
    {
        string path = Write(yaml);
        var e = Assert.Throws<InvalidInputException>(() => StudyFile.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(key, e.Message);
    }
}
