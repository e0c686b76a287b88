using System.Text.Json;
using Stilts.Metrics;
using Stilts.Models;
using Stilts.Pipeline;
using Stilts.Tokenization;
using Xunit;
using static TorchSharp.torch;

namespace Stilts.Tests.Pipeline;

/// <summary>
/// Retrieval targets straight from the random-weight XLM-R reference checkpoint. The "foreign" side is the English
/// side with its word order reversed (same tokens, other positions), so even random weights retrieve far above
/// chance; expected scores are recomputed here from one-sentence-at-a-time embeddings and the CPU metric code.
/// </summary>
public sealed class RetrievalEvaluationTests
{
    const int MaxSeqLen = 48;
    static readonly string Model = TestPaths.TestVectors("xlm-roberta");

    static readonly string[] Words =
    [
        "the", "cat", "house", "river", "green", "small", "runs", "sleeps", "under", "bright", "old", "stone",
        "window", "music", "quiet", "garden", "bread", "morning", "walks", "yellow", "friend", "letter", "city", "rain",
        "table", "blue", "train", "song", "water", "light", "road", "tree",
    ];

    /// <summary>Distinct sentences of 4 to 8 words from a fixed generator.</summary>
    static List<string> Sentences(int count, int seed)
    {
        var rng = new Random(seed);
        var set = new HashSet<string>();
        var list = new List<string>();
        while (list.Count < count)
        {
            int n = rng.Next(4, 9);
            string s = string.Join(" ", Enumerable.Range(0, n).Select(_ => Words[rng.Next(Words.Length)]));
            if (set.Add(s)) list.Add(s);
        }
        return list;
    }

    static string Reverse(string s) => string.Join(" ", s.Split(' ').Reverse());

    /// <summary>Independent sentence vector: one sentence per forward pass, no padding, mean over all tokens.</summary>
    static float[][] Reference(IReadOnlyList<string> sentences, int layer, Pooling pooling = Pooling.Mean)
    {
        var tokenizer = AutoTokenizer.FromFolder(Model);
        var (encoder, _) = Pretrained.LoadEncoder(Model);
        using var noGrad = no_grad();
        var result = new float[sentences.Count][];
        for (int i = 0; i < sentences.Count; i++)
        {
            using var scope = NewDisposeScope();
            var ids = tokenizer.Encode(sentences[i], null, new EncodeOptions { MaxLength = MaxSeqLen, Truncation = TruncationStrategy.LongestFirst }).Ids;
            var input = tensor(ids.Select(x => (long)x).ToArray(), [1, ids.Length]);
            using var output = encoder.forward(new EncoderInput(input, ones_like(input)) { OutputHiddenStates = true });
            var h = output.HiddenStates![layer][0];
            var v = pooling == Pooling.Cls ? h[0] : h.mean([0]);
            result[i] = v.data<float>().ToArray();
        }
        encoder.Dispose();
        return result;
    }

    static float[][] Rows(Tensor t) =>
        [.. Enumerable.Range(0, (int)t.shape[0]).Select(i => t[i].data<float>().ToArray())];

    static RunResult RunEvaluation(string root, string task, string data, string extra = "")
    {
        var yaml = $"model: {Model}\ndata_dir: {root}\nevaluate:\n  task: {task}\n  data: {data}\n  max_seq_len: {MaxSeqLen}\n  batch_size: 4\n{extra}";
        var config = RunConfig.FromYaml(yaml);
        return ExperimentRunner.Run(config, new RunOptions
        {
            RunDir = Path.Combine(root, "run-" + task + extra.Length), LoadTokenizer = AutoTokenizer.FromFolder,
            CacheDir = Path.Combine(root, "cache"), TensorBoard = false,
        });
    }

    [Fact]
    public void DefaultLayerKeepsTheRelativeDepthOf14Of24()
    {
        Assert.Equal(14, RetrievalEvaluation.DefaultLayer(24));
        Assert.Equal(7, RetrievalEvaluation.DefaultLayer(12));
        Assert.Equal(1, RetrievalEvaluation.DefaultLayer(2));
        Assert.Equal(4, RetrievalEvaluation.DefaultLayer(6)); // 3.5 rounds up
    }

    [Fact]
    public void EmbeddingsArePaddingInvariantAndTheLayerSelectsTheHiddenState()
    {
        var sentences = Sentences(9, 3);
        sentences.Add("rain"); // a short one padded a lot in its batch
        var tokenizer = AutoTokenizer.FromFolder(Model);
        var (encoder, _) = Pretrained.LoadEncoder(Model);
        float[][] layer0, layer2, cls;
        using (var t = RetrievalEvaluation.Embed(encoder, tokenizer, sentences, 0, Pooling.Mean, MaxSeqLen, 4)) layer0 = Rows(t);
        using (var t = RetrievalEvaluation.Embed(encoder, tokenizer, sentences, 2, Pooling.Mean, MaxSeqLen, 4)) layer2 = Rows(t);
        using (var t = RetrievalEvaluation.Embed(encoder, tokenizer, sentences, 1, Pooling.Cls, MaxSeqLen, 3)) cls = Rows(t);
        Assert.Throws<InvalidInputException>(() => RetrievalEvaluation.Embed(encoder, tokenizer, sentences, 3, Pooling.Mean, MaxSeqLen, 4));
        encoder.Dispose();

        AssertClose(Reference(sentences, 0), layer0);
        AssertClose(Reference(sentences, 2), layer2);
        AssertClose(Reference(sentences, 1, Pooling.Cls), cls);
        double diff = layer0.Zip(layer2).Max(p => p.First.Zip(p.Second).Max(q => Math.Abs(q.First - q.Second)));
        Assert.True(diff > 0.05, $"layer 0 and layer 2 vectors differ by only {diff}");
    }

    static void AssertClose(float[][] expected, float[][] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            for (int d = 0; d < expected[i].Length; d++)
                Assert.True(Math.Abs(expected[i][d] - actual[i][d]) < 1e-4, $"row {i} dim {d}: {expected[i][d]} vs {actual[i][d]}");
    }

    [Fact]
    public void TatoebaAccuracyAndPredictionsMatchAnIndependentSearch()
    {
        string root = TestPaths.NewTempDir("stilts-tatoeba");
        string data = Path.Combine(root, "tatoeba");
        Directory.CreateDirectory(data);
        var english = Sentences(30, 11);
        // Foreign line perm[i] holds English line i reversed (de) or unchanged (fr); the labels file gives perm.
        var perm = Enumerable.Range(0, english.Count).OrderBy(i => (i * 7919) % 31).ToArray();
        foreach (var (lang, transform) in new (string, Func<string, string>)[] { ("de", Reverse), ("fr", s => s) })
        {
            var foreign = new string[english.Count];
            for (int i = 0; i < english.Count; i++) foreign[perm[i]] = transform(english[i]);
            File.WriteAllLines(Path.Combine(data, $"{lang}-en.{lang}"), foreign);
            File.WriteAllLines(Path.Combine(data, $"{lang}-en.en"), english);
            File.WriteAllLines(Path.Combine(data, $"test-{lang}.tsv"), perm.Select(p => p.ToString()));
        }

        var result = RunEvaluation(root, "tatoeba", data).Evaluation!;

        Assert.Equal(["de", "fr"], result.Languages.Select(l => l.Language));
        int layer = RetrievalEvaluation.DefaultLayer(2);
        var queries = Reference(english, layer);
        foreach (var (lang, transform) in new (string, Func<string, string>)[] { ("de", Reverse), ("fr", s => s) })
        {
            var foreign = new string[english.Count];
            for (int i = 0; i < english.Count; i++) foreign[perm[i]] = transform(english[i]);
            var expected = global::Stilts.Metrics.Tatoeba.Search(Reference(foreign, layer), queries);
            double accuracy = expected.Zip(perm).Count(p => p.First == p.Second) / (double)english.Count;
            var lr = result.Languages.Single(l => l.Language == lang);
            Assert.Equal(accuracy, lr.Score!.Value, 9);
            Assert.Equal(Path.Combine(root, "run-tatoeba0", "predictions", "tatoeba", $"test-{lang}.tsv"), lr.PredictionFile);
            Assert.Equal(expected.Select(e => e.ToString()), File.ReadAllLines(lr.PredictionFile));
            Assert.True(accuracy >= 0.5, $"{lang}: {accuracy} is not well above chance (1/30)");
            if (lang == "fr") Assert.Equal(1.0, accuracy); // identical sentences, identical vectors
        }
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "run-tatoeba0", "results.json")));
        Assert.Equal("accuracy", json.RootElement.GetProperty("metric").GetString());
        Assert.Equal(layer, json.RootElement.GetProperty("layer").GetInt32());
        Assert.Equal(result.ScoreOf("de")!.Value, json.RootElement.GetProperty("languages").GetProperty("de").GetProperty("score").GetDouble(), 12);
    }

    [Fact]
    public void BuccThresholdIsTunedOnDevAndTheTestPairsMatchTheCpuMiner()
    {
        string root = TestPaths.NewTempDir("stilts-bucc");
        string data = Path.Combine(root, "bucc2018");
        Directory.CreateDirectory(data);
        var sets = new Dictionary<string, (List<(string Id, string Text)> Src, List<(string Id, string Text)> Trg, List<(string, string)> Gold)>();
        foreach (var (split, seed) in new[] { ("dev", 21), ("test", 22) })
        {
            // 16 translated pairs, then 8 unpaired sentences on each side; the foreign side is listed in another order.
            var all = Sentences(32, seed);
            var src = new List<(string, string)>();
            var trg = new List<(string, string)>();
            var gold = new List<(string, string)>();
            for (int i = 0; i < 16; i++)
            {
                trg.Add(($"en-{split}{i:D4}", all[i]));
                src.Add(($"de-{split}{100 + i:D4}", Reverse(all[i])));
                gold.Add(($"de-{split}{100 + i:D4}", $"en-{split}{i:D4}"));
            }
            for (int i = 16; i < 24; i++) trg.Add(($"en-{split}{i:D4}", all[i]));
            for (int i = 24; i < 32; i++) src.Add(($"de-{split}{100 + i:D4}", Reverse(all[i])));
            src.Reverse();
            sets[split] = (src, trg, gold);
            File.WriteAllLines(Path.Combine(data, $"de-en.{split}.de"), src.Select(s => $"{s.Item1}\t{s.Item2}"));
            File.WriteAllLines(Path.Combine(data, $"de-en.{split}.en"), trg.Select(s => $"{s.Item1}\t{s.Item2}"));
            File.WriteAllLines(Path.Combine(data, $"de-en.{split}.gold"), gold.Select(g => $"{g.Item1}\t{g.Item2}"));
        }

        var result = RunEvaluation(root, "bucc2018", data, "  layer: 2\n").Evaluation!;

        // Expected: CPU mining on one-at-a-time embeddings, ids attached, threshold from dev gold, applied to test.
        IReadOnlyList<ScoredPair> Candidates(string split)
        {
            var (src, trg, _) = sets[split];
            var srcText = src.Select(s => s.Text).ToList();
            var trgText = trg.Select(s => s.Text).ToList();
            var mined = BuccMining.Mine(Reference(srcText, 2), srcText, Reference(trgText, 2), trgText);
            return global::Stilts.Metrics.Bucc.AttachIds(mined, src.Select(s => s.Id).ToList(), srcText, trg.Select(s => s.Id).ToList(), trgText);
        }
        var tuned = global::Stilts.Metrics.Bucc.TuneAndApply(Candidates("dev"), sets["dev"].Gold.Select(g => new IdPair(g.Item1, g.Item2)), Candidates("test"));
        var expectedScore = global::Stilts.Metrics.Bucc.Score(sets["test"].Gold.Select(g => new IdPair(g.Item1, g.Item2)), tuned.TestPredictions);

        var de = Assert.Single(result.Languages);
        Assert.Equal("f1", result.Metric);
        Assert.Equal(expectedScore.F1 / 100, de.Score!.Value, 9);
        Assert.True(de.Score > 0.5, $"F1 {de.Score} is not well above chance");
        var lines = File.ReadAllLines(de.PredictionFile);
        Assert.Equal(Path.Combine("predictions", "bucc2018", "test-de.tsv"), Path.GetRelativePath(Path.Combine(root, "run-bucc2018" + "  layer: 2\n".Length), de.PredictionFile));
        Assert.All(lines, l => Assert.Matches(@"^de-test\d{4}\ten-test\d{4}$", l));
        Assert.Equal(tuned.TestPredictions.Select(p => $"{p.Source}\t{p.Target}").Order(), lines.Order());
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "run-bucc2018" + "  layer: 2\n".Length, "results.json")));
        Assert.Equal(2, json.RootElement.GetProperty("layer").GetInt32());
        var bucc = json.RootElement.GetProperty("languages").GetProperty("de").GetProperty("bucc");
        Assert.Equal(tuned.Threshold, bucc.GetProperty("threshold").GetDouble(), 4);
        Assert.Equal(tuned.Dev.F1 / 100, bucc.GetProperty("dev_f1").GetDouble(), 9);
    }
}
