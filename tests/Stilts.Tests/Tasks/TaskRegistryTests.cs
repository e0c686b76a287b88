using Stilts.Tasks;
using static Stilts.Tests.Tasks.Fixture;

namespace Stilts.Tests.Tasks;

public class TaskRegistryTests
{
    [Fact]
    public void HoldsEveryTargetAndIntermediateTask()
    {
        string[] names =
        [
            "xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba", "xcopa", "lareqa", "mewslix",
            "anli", "anli_plus", "mnli", "qqp", "snli", "squad_v1", "squad_v2", "hellaswag", "commonsenseqa", "cosmosqa",
            "socialiqa", "copa", "ccg",
        ];
        foreach (string n in names) Assert.Equal(n, TaskRegistry.Get(n).Name);
        Assert.All(TaskRegistry.All, kv => Assert.Equal(kv.Key, kv.Value.Name));
    }

    [Theory]
    [InlineData("xnli", 15, 15)]
    [InlineData("pawsx", 7, 0)]
    [InlineData("udpos", 33, 38)]
    [InlineData("panx", 40, 48)]
    [InlineData("xquad", 11, 12)]
    [InlineData("mlqa", 7, 7)]
    [InlineData("tydiqa", 9, 9)]
    [InlineData("bucc2018", 4, 0)]
    [InlineData("tatoeba", 36, 41)]
    [InlineData("xcopa", 0, 11)]
    [InlineData("mewslix", 0, 11)]
    [InlineData("lareqa", 0, 11)]
    public void LanguageCounts_MatchXtremeAndXtremeR(string task, int xtreme, int xtremeR)
    {
        var def = TaskRegistry.Get(task);
        Assert.Equal(xtreme, def.XtremeLanguages.Count);
        Assert.Equal(xtremeR, def.XtremeRLanguages.Count);
        Assert.Equal(def.XtremeLanguages.Count, def.XtremeLanguages.Distinct().Count());
        Assert.Equal(def.XtremeRLanguages.Count, def.XtremeRLanguages.Distinct().Count());
    }

    [Fact]
    public void BenchmarkLanguageSets()
    {
        Assert.Equal(40, Languages.Xtreme.Count);
        Assert.Equal(50, Languages.XtremeR.Distinct().Count());
        Assert.DoesNotContain("en", Languages.Tatoeba);
        Assert.All(TaskRegistry.Xtreme.SelectMany(t => t.XtremeLanguages), l => Assert.Contains(l, Languages.Xtreme));
        Assert.All(TaskRegistry.XtremeR.SelectMany(t => t.XtremeRLanguages), l => Assert.Contains(l, Languages.XtremeR));
        Assert.Equal(9, TaskRegistry.Xtreme.Count);
        Assert.Equal(10, TaskRegistry.XtremeR.Count);
    }

    [Theory]
    [InlineData("xnli", TaskKind.PairClassification, MetricName.Accuracy, "tsv")]
    [InlineData("udpos", TaskKind.Tagging, MetricName.SeqevalF1, "tsv")]
    [InlineData("mlqa", TaskKind.SpanQa, MetricName.MlqaEmF1, "json")]
    [InlineData("tydiqa", TaskKind.SpanQa, MetricName.SquadEmF1, "json")]
    [InlineData("bucc2018", TaskKind.BitextMining, MetricName.BuccF1, "tsv")]
    [InlineData("tatoeba", TaskKind.SimilaritySearch, MetricName.Top1Accuracy, "tsv")]
    [InlineData("mewslix", TaskKind.EntityLinking, MetricName.MapAt20, "json")]
    [InlineData("xcopa", TaskKind.MultipleChoice, MetricName.Accuracy, "jsonl")]
    public void TargetKindsMetricsAndPredictionFiles(string task, TaskKind kind, MetricName metric, string ext)
    {
        var def = TaskRegistry.Get(task);
        Assert.Equal((kind, metric, ext, task, TaskRole.Target), (def.Kind, def.Metric, def.PredictionExtension, def.XtremeFolder, def.Role));
    }

    [Fact]
    public void ReaderShapeFollowsKind_AndTargetsNameTheirPredictionFiles()
    {
        TaskKind[] retrieval = [TaskKind.BitextMining, TaskKind.SimilaritySearch, TaskKind.QuestionRetrieval, TaskKind.EntityLinking];
        Assert.All(TaskRegistry.All.Values, d =>
        {
            Assert.Equal(retrieval.Contains(d.Kind), d.Reader is RetrievalReader);
            Assert.True(d.DefaultMaxLength > 0);
            Assert.Equal(d.Role == TaskRole.Target, d.XtremeFolder != null && d.PredictionExtension != null);
            if (d.Kind is TaskKind.SentenceClassification or TaskKind.PairClassification) Assert.NotEmpty(d.Labels);
            if (d.Kind == TaskKind.MultipleChoice) Assert.InRange(d.ChoiceCount, 2, 5);
        });
    }

    [Fact]
    public void UnknownTask_ListsKnownOnes()
    {
        var e = Assert.Throws<InvalidInputException>(() => TaskRegistry.Get("glue"));
        Assert.Contains("xnli", e.Message);
        Assert.Contains("hellaswag", e.Message);
    }

    [Fact]
    public void ReadExamples_ResolvesTheXtremeLayout()
    {
        string dir = TestPaths.NewTempDir("tasks-reg");
        Lines(dir, "train-en.tsv", T("It rains.", "The ground is wet.", "entailment"));
        Lines(dir, "dev-sw.tsv", T("Mvua inanyesha.", "Ardhi ni kavu.", "contradiction"));
        var xnli = TaskRegistry.Get("xnli");
        Assert.Equal("entailment", ((PairClassificationExample)Assert.Single(xnli.ReadExamples(dir, Split.Train))).Label);
        Assert.Equal("Mvua inanyesha.", ((PairClassificationExample)Assert.Single(xnli.ReadExamples(dir, Split.Dev, "sw"))).Text);

        var e = Assert.Throws<InvalidInputException>(() => xnli.ReadExamples(dir, Split.Dev, "ja").ToList());
        Assert.Contains("valid: ar bg de el en es fr hi ru sw th tr ur vi zh", e.Message);
    }

    [Fact]
    public void ReadExamples_StarMatchesAnliRounds_InOrder()
    {
        string dir = TestPaths.NewTempDir("tasks-reg");
        foreach (string r in new[] { "R2", "R1", "R3" })
            Lines(dir, $"anli_v1.0/{r}/dev.jsonl", $$"""{"uid": "{{r}}", "context": "p", "hypothesis": "h", "label": "e"}""");
        Assert.Equal(["R1", "R2", "R3"], TaskRegistry.Get("anli").ReadExamples(dir, Split.Dev).Select(e => e.Id));
    }

    [Fact]
    public void MissingSplit_IsAnError()
    {
        string dir = TestPaths.NewTempDir("tasks-reg");
        Assert.Contains("no Dev split", Assert.Throws<InvalidInputException>(() => TaskRegistry.Get("xquad").ReadExamples(dir, Split.Dev, "de").ToList()).Message);
        Assert.Contains("no Train split", Assert.Throws<InvalidInputException>(() => TaskRegistry.Get("bucc2018").ReadRetrieval(dir, Split.Train, "de")).Message);
    }
}
