using Stilts.Metrics;

namespace Stilts.Tests.Metrics;

public sealed class RetrievalTests
{
    [Fact]
    public void BuccScoresPairSets()
    {
        IdPair[] gold = [new("a", "x"), new("b", "y"), new("c", "z")];
        IdPair[] pred = [new("a", "x"), new("b", "z"), new("a", "x")];
        var s = Bucc.Score(gold, pred);
        // Sets: 1 correct of 2 predicted and 3 gold.
        Assert.Equal(40.0, s.F1, 12);
        Assert.Equal(50.0, s.Precision, 12);
        Assert.Equal(100.0 / 3.0, s.Recall, 12);
        Assert.Equal(0.0, Bucc.Score(gold, [new IdPair("q", "r")]).F1);
    }

    [Fact]
    public void BuccThresholdIsTunedOnDevGoldAndAppliedToTest()
    {
        ScoredPair[] dev =
        [
            new(new("a", "x"), 0.9), new(new("b", "q"), 0.8), new(new("b", "y"), 0.7),
            new(new("c", "r"), 0.6), new(new("c", "z"), 0.5), new(new("d", "s"), 0.2),
        ];
        IdPair[] devGold = [new("a", "x"), new("b", "y"), new("c", "z")];
        // Running F1 down the list: 0.5 (th 0.85), 0.4, 2/3 (th 0.65), 4/7, 0.75 (th (0.5+0.2)/2), 2/3.
        Assert.Equal((0.5 + 0.2) / 2, Bucc.OptimizeThreshold(dev, devGold.ToHashSet()));

        ScoredPair[] test = [new(new("e", "1"), 0.95), new(new("f", "2"), 0.4), new(new("g", "3"), 0.3), new(new("h", "4"), 0.36)];
        var result = Bucc.TuneAndApply(dev, devGold, test);
        Assert.Equal(75.0, result.Dev.F1, 12);
        Assert.Equal([new IdPair("e", "1"), new IdPair("f", "2"), new IdPair("h", "4")], result.TestPredictions);
    }

    [Fact]
    public void BuccAttachIdsDropsAmbiguousSentencesAndKeepsMaxScore()
    {
        MinedSentencePair[] mined =
        [
            new("Hallo Welt", "Hello world", 1.2),
            new("Ja", "Yes", 1.5), // "Ja" occurs twice on the source side: ambiguous, dropped
            new(" Hallo Welt ", "Hello world", 1.4), // same pair after strip(): max score, first position
            new("Gut", "Good", 1.1),
        ];
        var pairs = Bucc.AttachIds(mined, ["de-1", "de-2", "de-3", "de-4"], ["Hallo Welt", "Ja", "Gut", "Ja"],
            ["en-1", "en-2", "en-3"], ["Yes", "Good", "Hello world"]);
        Assert.Equal([new ScoredPair(new("de-1", "en-3"), 1.4), new ScoredPair(new("de-3", "en-2"), 1.1)], pairs);
    }

    [Fact]
    public void BuccMiningFindsParallelPairsWithRatioMarginAndDedupsSentences()
    {
        float[][] src = [[1, 0, 0], [0, 2, 0], [0, 0, 1], [1, 0, 0]];
        string[] srcText = ["eins", "zwei", "drei", "eins"]; // the duplicate is embedded once
        float[][] trg = [[0, 0, 3], [0.1f, 1, 0], [1, 0, 0.1f]];
        string[] trgText = ["three", "two", "one"];
        var mined = BuccMining.Mine(src, srcText, trg, trgText);
        Assert.Equal(3, mined.Count);
        Assert.Equal(
            new[] { ("drei", "three"), ("eins", "one"), ("zwei", "two") }.OrderBy(p => p.Item1),
            mined.Select(m => (m.Source, m.Target)).OrderBy(p => p.Item1));
        // "drei" and "three" are identical directions and orthogonal to the rest of their neighbourhood (k = 3):
        // cos 1, both kNN means ≈ (1 + small + small) / 3, so the ratio margin is just under 3.
        var drei = mined.Single(m => m.Source == "drei");
        Assert.InRange(drei.Score, 2.5, 3.0001);
        Assert.True(mined.Zip(mined.Skip(1)).All(p => p.First.Score >= p.Second.Score), "accepted by descending score");
    }

    [Fact]
    public void BuccMiningWithMoreSentencesThanNeighbours()
    {
        // 7 sentences a side, k = 4: target j is source (j * 3) % 7 with a shared offset and a little noise.
        const int n = 7;
        float[] Vec(int hot, float noise) => [.. Enumerable.Range(0, n).Select(d => (d == hot ? 1f : 0f) + 0.2f + noise * ((d * 5 + hot) % 3))];
        float[][] src = [.. Enumerable.Range(0, n).Select(i => Vec(i, 0f))];
        float[][] trg = [.. Enumerable.Range(0, n).Select(j => Vec(j * 3 % n, 0.05f))];
        var mined = BuccMining.Mine(src, [.. Enumerable.Range(0, n).Select(i => $"s{i}")], trg, [.. Enumerable.Range(0, n).Select(j => $"t{j}")]);
        Assert.Equal(
            Enumerable.Range(0, n).Select(j => ($"s{j * 3 % n}", $"t{j}")).OrderBy(p => p.Item1),
            mined.Select(m => (m.Source, m.Target)).OrderBy(p => p.Item1));
        Assert.All(mined, m => Assert.True(m.Score > 1, $"margin {m.Score} of a true pair should beat its neighbourhood"));
    }

    [Fact]
    public void TatoebaSearchesEnglishQueriesAgainstForeignIndex()
    {
        float[][] foreign = [[1, 0], [0, 1], [-1, 0.2f]];
        float[][] english = [[-3, 0.5f], [0.9f, 0.1f]];
        int[] predicted = Tatoeba.Search(foreign, english);
        Assert.Equal([2, 0], predicted); // one answer per English line, indexing the foreign sentences
        Assert.Equal(50.0, Tatoeba.Score([2, 1], predicted).Accuracy, 12);
    }

    [Fact]
    public void AveragePrecisionAt20WithSeveralGolds()
    {
        // Hits at ranks 2 and 4 (the repeated c1 at rank 3 counts once): (1/2 + 2/4) / min(3 golds, 20).
        Assert.Equal(1.0 / 3.0, MeanAveragePrecision.AveragePrecisionAtK(["c1", "c2", "c3"], ["c5", "c1", "c1", "c2", "c7"]), 15);
        // 25 golds, all of the top 20 right: the divisor is min(25, 20), so AP is 1.
        var golds = Enumerable.Range(0, 25).Select(i => $"g{i}").ToList();
        Assert.Equal(1.0, MeanAveragePrecision.AveragePrecisionAtK(golds, golds.Take(20).ToList()), 15);
        // A gold found only at rank 21 is cut off.
        var late = Enumerable.Range(0, 20).Select(i => $"x{i}").Append("c1").ToList();
        Assert.Equal(0.0, MeanAveragePrecision.AveragePrecisionAtK(["c1"], late));

        var gold = new List<KeyValuePair<string, IReadOnlyList<string>>>
        {
            new("q1", ["c1", "c2"]), new("q2", ["c3"]),
        };
        var preds = new Dictionary<string, IReadOnlyList<string>> { ["q1"] = ["c1", "c9", "c2"] };
        // q1: (1 + 2/3) / 2; q2 has no prediction: 0.
        Assert.Equal((1 + 2.0 / 3.0) / 2 / 2 * 100, MeanAveragePrecision.MeanAtK(gold, preds).Value, 12);
    }

    [Fact]
    public void MewsliXMapAt20IsMrrAt20()
    {
        var gold = new List<KeyValuePair<string, IReadOnlyList<string>>>
        {
            new("m1", [" Q1 "]), new("m2", ["Q2"]), new("m3", ["Q3"]),
        };
        var preds = new Dictionary<string, IReadOnlyList<string>>
        {
            ["m1"] = ["Q9", "Q1", "Q1"],
            ["m2"] = [.. Enumerable.Range(100, 20).Select(i => $"Q{i}"), "Q2"], // rank 21: outside the top 20
        };
        var s = MeanAveragePrecision.ReciprocalRankAtK(gold, preds);
        Assert.Equal(3, s.Count);
        Assert.Equal(0.5 / 3 * 100, s.Value, 12);
    }
}
