using System.Text.Json;
using Stilts.Checkpoints;
using Stilts.Metrics.Scoring;
using Stilts.Models;
using Stilts.Pipeline;
using Stilts.Retrieval;
using Stilts.Tokenization;
using Xunit;
using static TorchSharp.torch;

namespace Stilts.Tests.Pipeline;

/// <summary>
/// LAReQA and Mewsli-X straight from a checkpoint (the random-weight XLM-R reference model through the experiment
/// runner, and the tiny random mT5 through RetrievalEvaluation.Run). Fixtures are our own word salads; the other
/// "languages" reorder the words, so even random weights rank the parallel sentences high. Expected scores are
/// brute-force cosine rankings and AP@20 computed here from the sentence vectors.
/// </summary>
public sealed class XtremeRRetrievalTests
{
    const int MaxSeqLen = 64;
    static readonly string Xlmr = TestPaths.TestVectors("xlm-roberta");
    static readonly string Mt5 = TestPaths.TestVectors("mt5");

    static readonly string[] Words =
    [
        "the", "cat", "house", "river", "green", "small", "runs", "sleeps", "under", "bright", "old", "stone",
        "window", "music", "quiet", "garden", "bread", "morning", "walks", "yellow", "friend", "letter", "city", "rain",
        "table", "blue", "train", "song", "water", "light", "road", "tree",
    ];

    static readonly (string Lang, Func<string, string> Transform)[] LaReqaLanguages =
    [
        ("en", s => s),
        ("de", s => string.Join(" ", s.Split(' ').Reverse())),
        ("es", s => { var w = s.Split(' '); return string.Join(" ", w.Skip(1).Append(w[0])); }),
    ];

    static string RandomSentence(Random rng, int min = 4, int max = 8) =>
        string.Join(" ", Enumerable.Range(0, rng.Next(min, max)).Select(_ => Words[rng.Next(Words.Length)]));

    // ---- LAReQA fixture: 4 paragraphs of 3 sentences, 2 questions each (ids shared across languages).

    sealed record LaReqaQuestion(string Id, string Text, int Paragraph, int Sentence);

    static (List<string[]> Paragraphs, List<LaReqaQuestion> Questions) LaReqaSource()
    {
        var rng = new Random(5);
        var paragraphs = new List<string[]>();
        var questions = new List<LaReqaQuestion>();
        for (int p = 0; p < 4; p++)
        {
            var sentences = Enumerable.Range(0, 3).Select(_ => RandomSentence(rng)).ToArray();
            paragraphs.Add(sentences);
            for (int j = 0; j < 2; j++)
            {
                int s = (p + j) % 3;
                // A question shares three words with its answer sentence, plus noise.
                string text = string.Join(" ", sentences[s].Split(' ').Take(3)) + " " + RandomSentence(rng, 2, 4);
                questions.Add(new LaReqaQuestion($"p{p}q{j}", text, p, s));
            }
        }
        return (paragraphs, questions);
    }

    /// <summary>Writes xquad-r/{lang}.json per language; returns each language's candidate (id, encoded text) in file order.</summary>
    static Dictionary<string, List<(string Id, string Text)>> WriteLaReqa(string folder, IEnumerable<(string Lang, Func<string, string> Transform)> languages)
    {
        var (paragraphs, questions) = LaReqaSource();
        Directory.CreateDirectory(Path.Combine(folder, "xquad-r"));
        var candidates = new Dictionary<string, List<(string, string)>>();
        foreach (var (lang, transform) in languages)
        {
            var list = new List<(string, string)>();
            var jsonParagraphs = new List<object>();
            for (int p = 0; p < paragraphs.Count; p++)
            {
                var sentences = paragraphs[p].Select(transform).ToArray();
                string context = string.Join(" ", sentences);
                var breaks = new List<int[]>();
                int at = 0;
                foreach (string s in sentences) { breaks.Add([at, at + s.Length]); at += s.Length + 1; }
                for (int s = 0; s < sentences.Length; s++) list.Add(($"{lang}-{p}-{s}", sentences[s] + context));
                jsonParagraphs.Add(new
                {
                    context,
                    sentences,
                    sentence_breaks = breaks,
                    qas = questions.Where(q => q.Paragraph == p).Select(q => new
                    {
                        id = q.Id, question = transform(q.Text),
                        answers = new[] { new { text = "x", answer_start = breaks[q.Sentence][0] + 1 } },
                    }).ToArray(), // now, while p is this paragraph's
                });
            }
            candidates[lang] = list;
            File.WriteAllText(Path.Combine(folder, "xquad-r", $"{lang}.json"),
                JsonSerializer.Serialize(new { data = new[] { new { title = "t", paragraphs = jsonParagraphs } } }));
        }
        return candidates;
    }

    /// <summary>AP@20 of a ranking against a gold set (utils_lareqa: hits / rank summed, over min(#gold, 20)).</summary>
    static double ApAt20(IReadOnlyList<string> ranked, ISet<string> gold)
    {
        double hits = 0, sum = 0;
        for (int r = 0; r < Math.Min(20, ranked.Count); r++)
            if (gold.Contains(ranked[r])) { hits++; sum += hits / (r + 1); }
        return sum / Math.Min(gold.Count, 20);
    }

    static float[][] Rows(Tensor t) => [.. Enumerable.Range(0, (int)t.shape[0]).Select(i => t[i].data<float>().ToArray())];

    /// <summary>Indices of the index rows by descending cosine to the query (ties to the lower index), top 20.</summary>
    static int[] BruteForceTop20(float[] query, float[][] index)
    {
        static double Norm(float[] v) => Math.Sqrt(v.Sum(x => (double)x * x));
        double qn = Norm(query);
        var scored = index.Select((v, i) => (i, Cos: v.Zip(query).Sum(p => (double)p.First * p.Second) / (Norm(v) * qn))).ToList();
        return [.. scored.OrderByDescending(s => s.Cos).ThenBy(s => s.i).Take(20).Select(s => s.i)];
    }

    static Func<IReadOnlyList<string>, float[][]> XlmrVectors(int layer, Pooling pooling)
    {
        var tokenizer = AutoTokenizer.FromFolder(Xlmr);
        return texts =>
        {
            var (encoder, _) = Pretrained.LoadEncoder(Xlmr);
            using var t = RetrievalEvaluation.Embed(encoder, tokenizer, texts, layer, pooling, MaxSeqLen, 4);
            encoder.Dispose();
            return Rows(t);
        };
    }

    static Func<IReadOnlyList<string>, float[][]> Mt5Vectors()
    {
        var tokenizer = AutoTokenizer.FromFolder(Mt5);
        return texts =>
        {
            using var encoder = T5EncoderModel.FromPretrained(Mt5);
            using var t = T5SentenceVectors.Encode(encoder, tokenizer, texts, batchSize: 4, maxLength: MaxSeqLen);
            return Rows(t);
        };
    }

    /// <summary>Per language: the expected mAP@20 (fraction) and each question's top-20 candidate ids.</summary>
    static Dictionary<string, (double Map, Dictionary<string, string[]> Ranked)> ExpectedLaReqa(
        Dictionary<string, List<(string Id, string Text)>> candidates, Func<IReadOnlyList<string>, float[][]> vectors)
    {
        var (_, questions) = LaReqaSource();
        // The runner's pool: languages in file-name order.
        var pool = candidates.Keys.Order(StringComparer.Ordinal).SelectMany(l => candidates[l]).ToList();
        var index = vectors([.. pool.Select(c => c.Text)]);
        var result = new Dictionary<string, (double, Dictionary<string, string[]>)>();
        foreach (var (lang, transform) in LaReqaLanguages.Where(l => candidates.ContainsKey(l.Lang)))
        {
            var q = vectors([.. questions.Select(x => transform(x.Text))]);
            var ranked = new Dictionary<string, string[]>();
            double sum = 0;
            for (int i = 0; i < questions.Count; i++)
            {
                var top = BruteForceTop20(q[i], index).Select(k => pool[k].Id).ToArray();
                ranked[questions[i].Id] = top;
                var gold = candidates.Keys.Select(l => $"{l}-{questions[i].Paragraph}-{questions[i].Sentence}").ToHashSet();
                sum += ApAt20(top, gold);
            }
            result[lang] = (sum / questions.Count, ranked);
        }
        return result;
    }

    static void WriteLaReqaLabels(string labels, IEnumerable<string> languages)
    {
        var (_, questions) = LaReqaSource();
        var langs = languages.ToList();
        Directory.CreateDirectory(Path.Combine(labels, "lareqa"));
        foreach (string lang in langs)
            File.WriteAllText(Path.Combine(labels, "lareqa", $"test-{lang}.json"), JsonSerializer.Serialize(
                questions.ToDictionary(q => q.Id, q => langs.Select(l => $"{l}-{q.Paragraph}-{q.Sentence}").ToArray())));
    }

    static RunResult RunXlmr(string root, string task, string data, string extra = "", string tag = "")
    {
        var yaml = $"model: {Xlmr}\ndata_dir: {root}\nevaluate:\n  task: {task}\n  data: {data}\n  max_seq_len: {MaxSeqLen}\n  batch_size: 4\n{extra}";
        return ExperimentRunner.Run(RunConfig.FromYaml(yaml), new RunOptions
        {
            RunDir = Path.Combine(root, $"run-{task}{tag}"), LoadTokenizer = AutoTokenizer.FromFolder,
            CacheDir = Path.Combine(root, "cache"), TensorBoard = false,
        });
    }

    static Dictionary<string, string[]> ReadRanked(string path) =>
        JsonSerializer.Deserialize<Dictionary<string, string[]>>(File.ReadAllText(path))!;

    [Fact]
    public void LaReqaMapAt20MatchesABruteForceRankingAndStiltsScoreReadsThePredictions()
    {
        string root = TestPaths.NewTempDir("stilts-lareqa");
        string data = Path.Combine(root, "lareqa");
        var candidates = WriteLaReqa(data, LaReqaLanguages);

        var run = RunXlmr(root, "lareqa", data);
        var result = run.Evaluation!;

        Assert.Equal("map@20", result.Metric);
        Assert.Equal(["de", "en", "es"], result.Languages.Select(l => l.Language));
        var expected = ExpectedLaReqa(candidates, XlmrVectors(RetrievalEvaluation.DefaultLayer(2), Pooling.Mean));
        foreach (var lr in result.Languages)
        {
            Assert.Equal(expected[lr.Language].Map, lr.Score!.Value, 9);
            Assert.Equal(8, lr.Examples);
            Assert.Equal(Path.Combine(run.RunDir, "predictions", "lareqa", $"test-{lr.Language}.json"), lr.PredictionFile);
            var written = ReadRanked(lr.PredictionFile);
            Assert.Equal(expected[lr.Language].Ranked.Keys, written.Keys);
            foreach (var (qid, top) in expected[lr.Language].Ranked) Assert.Equal(top, written[qid]);
            // 3 gold answers among 36 candidates: chance AP is about 0.1.
            Assert.True(lr.Score > 0.3, $"{lr.Language}: mAP@20 {lr.Score} is not well above chance");
        }

        // `stilts score` reads the prediction files and gives the same numbers (in percent).
        string labels = Path.Combine(root, "labels");
        WriteLaReqaLabels(labels, ["de", "en", "es"]);
        var scored = XtremeScorer.Score(Benchmark.XtremeR, Path.Combine(run.RunDir, "predictions"), labels, partial: true);
        var task = Assert.Single(scored.Tasks);
        Assert.Equal("lareqa", task.Task);
        foreach (var lang in task.Languages)
            Assert.Equal(result.ScoreOf(lang.Language)!.Value * 100, lang.Metrics.Single(m => m.Key == "map@20").Value, 9);
        Assert.Equal(result.Average!.Value * 100, task.Score, 9);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.RunDir, "results.json")));
        Assert.Equal("map@20", json.RootElement.GetProperty("metric").GetString());
        Assert.Equal("roberta", json.RootElement.GetProperty("model_family").GetString());
        Assert.Equal(result.ScoreOf("es")!.Value, json.RootElement.GetProperty("languages").GetProperty("es").GetProperty("score").GetDouble(), 12);
    }

    [Fact]
    public void LaReqaLayerAndPoolingOptionsChangeTheVectorsAndTheRankings()
    {
        string root = TestPaths.NewTempDir("stilts-lareqa-layer");
        string data = Path.Combine(root, "lareqa");
        var candidates = WriteLaReqa(data, LaReqaLanguages.Take(2));

        var mean = RunXlmr(root, "lareqa", data, "  languages: [en]\n", "-mean");
        var cls = RunXlmr(root, "lareqa", data, "  languages: [en]\n  layer: 2\n  pooling: cls\n", "-cls");

        var expectedMean = ExpectedLaReqa(candidates, XlmrVectors(RetrievalEvaluation.DefaultLayer(2), Pooling.Mean));
        var expectedCls = ExpectedLaReqa(candidates, XlmrVectors(2, Pooling.Cls));
        Assert.Equal(expectedMean["en"].Map, Assert.Single(mean.Evaluation!.Languages).Score!.Value, 9);
        Assert.Equal(expectedCls["en"].Map, Assert.Single(cls.Evaluation!.Languages).Score!.Value, 9);
        var rankedMean = ReadRanked(mean.Evaluation.Languages[0].PredictionFile);
        var rankedCls = ReadRanked(cls.Evaluation.Languages[0].PredictionFile);
        Assert.Contains(rankedMean.Keys, q => !rankedMean[q].SequenceEqual(rankedCls[q]));
        foreach (var (q, top) in expectedCls["en"].Ranked) Assert.Equal(top, rankedCls[q]);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(cls.RunDir, "results.json")));
        Assert.Equal(2, json.RootElement.GetProperty("layer").GetInt32());
        Assert.Equal("cls", json.RootElement.GetProperty("pooling").GetString());
        // The pool holds both languages even though only English questions are scored.
        Assert.Contains(rankedMean.Values.SelectMany(v => v), id => id.StartsWith("de-", StringComparison.Ordinal));
    }

    // ---- Mewsli-X fixture: 10 entities; per language 3 two-sentence documents, mentions in either sentence.

    sealed record Mention(string Id, string Lang, string Context, int Start, int End, (int Start, int End) Sentence, string Gold)
    {
        public string Text => Context[Start..End];
    }

    /// <summary>Entities with the text xtreme encodes: odd ones list no sentence spans (the whole description),
    /// even ones span only their first sentence, so the trailing one is not encoded.</summary>
    static (List<(string Id, string Encoded)> Entities, List<Mention> Mentions) WriteMewsliX(string folder, string split, string[] languages)
    {
        var rng = new Random(17);
        var entities = new List<(string Id, string Encoded)>();
        var lines = new List<string>();
        for (int i = 1; i <= 10; i++)
        {
            string first = RandomSentence(rng, 6, 10) + ".", description = first + " " + RandomSentence(rng) + ".";
            bool spanned = i % 2 == 0;
            entities.Add(($"Q{i}", spanned ? first : description));
            lines.Add(JsonSerializer.Serialize(new
            {
                entity_id = $"Q{i}", title = $"T{i}", description,
                sentence_spans = spanned ? new[] { new { start = 0, end = first.Length } } : [],
                description_language = "en", description_url = "u",
            }));
        }
        File.WriteAllLines(Path.Combine(folder, "candidate_set_entities.jsonl"), lines);
        Directory.CreateDirectory(Path.Combine(folder, "wikinews_mentions"));
        var mentions = new List<Mention>();
        foreach (string lang in languages)
        {
            lines = [];
            for (int d = 0; d < 3; d++)
            {
                // Sentence 1 is noise; sentence 2 holds words of the gold entity's description, the mention among them.
                var gold = entities[rng.Next(entities.Count)];
                string first = RandomSentence(rng) + ".";
                var goldWords = gold.Encoded.Split(' ');
                string mentionText = goldWords[1];
                string second = $"{goldWords[0]} {mentionText} {goldWords[2]} {RandomSentence(rng, 2, 4)}.";
                string context = first + " " + second;
                int s2 = first.Length + 1;
                int start = s2 + goldWords[0].Length + 1;
                var m1 = new Mention($"{lang}-{d}-a", lang, context, start, start + mentionText.Length, (s2, context.Length), gold.Id);
                // A second mention in the first sentence (its own sentence is the query context).
                string firstWord = first.Split(' ')[0];
                var m0 = new Mention($"{lang}-{d}-b", lang, context, 0, firstWord.Length, (0, first.Length), entities[rng.Next(entities.Count)].Id);
                mentions.Add(m1);
                mentions.Add(m0);
                lines.Add(JsonSerializer.Serialize(new
                {
                    context = new
                    {
                        document_title = "t", document_url = "u", document_id = $"{lang}{d}", language = lang, text = context,
                        sentence_spans = new[] { new { start = 0, end = first.Length }, new { start = s2, end = context.Length } },
                    },
                    mentions = new[] { m1, m0 }.Select(m => new
                    {
                        example_id = m.Id, mention_span = new { start = m.Start, end = m.End, text = m.Text }, entity_id = m.Gold,
                    }),
                }));
            }
            File.WriteAllLines(Path.Combine(folder, "wikinews_mentions", $"{split}-{lang}.jsonl"), lines);
        }
        return (entities, mentions);
    }

    /// <summary>xtreme's baseline query: "mention: left { mention } right" within the mention's sentence, double spaces halved.</summary>
    static string Query(Mention m) =>
        $"{m.Text}: {m.Context[m.Sentence.Start..m.Start]} {{ {m.Text} }} {m.Context[m.End..m.Sentence.End]}".Replace("  ", " ").Trim();

    [Fact]
    public void MewsliXMrrAt20MatchesABruteForceRankingAndStiltsScoreReadsThePredictions()
    {
        string root = TestPaths.NewTempDir("stilts-mewslix");
        string data = Path.Combine(root, "mewslix");
        Directory.CreateDirectory(data);
        var (entities, mentions) = WriteMewsliX(data, "test", ["de", "en"]);

        var run = RunXlmr(root, "mewslix", data);
        var result = run.Evaluation!;

        var vectors = XlmrVectors(RetrievalEvaluation.DefaultLayer(2), Pooling.Mean);
        var index = vectors([.. entities.Select(e => e.Encoded)]);
        Assert.Equal("map@20", result.Metric);
        Assert.Equal(["de", "en"], result.Languages.Select(l => l.Language));
        foreach (var lr in result.Languages)
        {
            var mine = mentions.Where(m => m.Lang == lr.Language).ToList();
            var q = vectors([.. mine.Select(Query)]);
            double rr = 0;
            var written = ReadRanked(lr.PredictionFile);
            for (int i = 0; i < mine.Count; i++)
            {
                var top = BruteForceTop20(q[i], index).Select(k => entities[k].Id).ToArray();
                Assert.Equal(top, written[mine[i].Id]);
                int rank = Array.IndexOf(top, mine[i].Gold);
                rr += rank < 0 ? 0 : 1.0 / (rank + 1);
            }
            Assert.Equal(rr / mine.Count, lr.Score!.Value, 9);
            Assert.Equal(6, lr.Examples);
            Assert.Equal(Path.Combine(run.RunDir, "predictions", "mewslix", $"test-{lr.Language}.json"), lr.PredictionFile);
        }
        // The first mention's query is the markup of its own (second) sentence only.
        var first = mentions[0];
        Assert.Equal(Query(first), global::Stilts.Tasks.MewsliX.MentionQuery(
            new global::Stilts.Tasks.EntityMention(first.Id, first.Lang, first.Context, first.Start, first.End, first.Text, first.Gold), first.Sentence));
        Assert.DoesNotContain(first.Context[..first.Sentence.Start].Trim(), Query(first));

        string labels = Path.Combine(root, "labels", "mewslix");
        Directory.CreateDirectory(labels);
        foreach (string lang in new[] { "de", "en" })
            File.WriteAllText(Path.Combine(labels, $"test-{lang}.json"),
                JsonSerializer.Serialize(mentions.Where(m => m.Lang == lang).ToDictionary(m => m.Id, m => new[] { m.Gold })));
        var scored = XtremeScorer.Score(Benchmark.XtremeR, Path.Combine(run.RunDir, "predictions"), Path.Combine(root, "labels"), partial: true);
        var task = Assert.Single(scored.Tasks);
        Assert.Equal("mewslix", task.Task);
        foreach (var lang in task.Languages)
            Assert.Equal(result.ScoreOf(lang.Language)!.Value * 100, lang.Metrics.Single(m => m.Key == "map@20").Value, 9);
    }

    [Fact]
    public void MewsliXQueryEscapesBracesAndNormalisesLineBreaks()
    {
        const string context = "A {note} on\nHamburg here.\nNext one.";
        int at = context.IndexOf("Hamburg", StringComparison.Ordinal);
        var m = new global::Stilts.Tasks.EntityMention("x", "en", context, at, at + 7, "Hamburg", null);
        Assert.Equal("Hamburg: A (note) on { Hamburg } here. Next one.", global::Stilts.Tasks.MewsliX.MentionQuery(m));
        Assert.Equal("Hamburg: { Hamburg } here.", global::Stilts.Tasks.MewsliX.MentionQuery(m, (at, at + "Hamburg here.".Length)));
    }

    [Fact]
    public void MewsliXWithoutTheCandidateFileNamesItsPath()
    {
        string root = TestPaths.NewTempDir("stilts-mewslix-bad");
        string data = Path.Combine(root, "mewslix");
        Directory.CreateDirectory(data);
        WriteMewsliX(data, "dev", ["en"]);
        string candidates = Path.Combine(data, "candidate_set_entities.jsonl");
        File.Delete(candidates);
        var e = Assert.Throws<InvalidInputException>(() => RunXlmr(root, "mewslix", data, "  split: dev\n"));
        Assert.Equal(candidates, e.Where);

        // A configured LAReQA language without its file is named too.
        string lareqa = Path.Combine(root, "lareqa");
        WriteLaReqa(lareqa, LaReqaLanguages.Take(1));
        var missing = Assert.Throws<InvalidInputException>(() => RunXlmr(root, "lareqa", lareqa, "  languages: [en, de]\n"));
        Assert.Equal(Path.Combine(lareqa, "xquad-r", "de.json"), missing.Where);
    }

    // ---- mT5: the encoder of a T5 checkpoint folder, mean-pooled.

    // Through the experiment runner, as `stilts run` with an mT5 model and only an evaluate section.
    static EvaluationResult RunMt5(string root, string task, string data, int? layer = null, Pooling pooling = Pooling.Mean)
    {
        var yaml = $"model: {Mt5}\ndata_dir: {root}\nevaluate:\n  task: {task}\n  data: {data}\n  max_seq_len: {MaxSeqLen}\n  batch_size: 4\n"
            + (layer is int l ? $"  layer: {l}\n" : "") + $"  pooling: {pooling.ToString().ToLowerInvariant()}\n";
        return ExperimentRunner.Run(RunConfig.FromYaml(yaml), new RunOptions
        {
            RunDir = Path.Combine(root, $"run-{task}-{layer}{pooling}"), LoadTokenizer = AutoTokenizer.FromFolder,
            CacheDir = Path.Combine(root, "cache"), TensorBoard = false,
        }).Evaluation!;
    }

    [Fact]
    public void Mt5FolderRunsTatoebaAndLaReqaOnItsMeanPooledEncoder()
    {
        string root = TestPaths.NewTempDir("stilts-mt5-retrieval");
        var vectors = Mt5Vectors();

        // Tatoeba: German lines are the English ones reversed, in another order.
        string tatoeba = Path.Combine(root, "tatoeba");
        Directory.CreateDirectory(tatoeba);
        var rng = new Random(9);
        var english = Enumerable.Range(0, 20).Select(_ => RandomSentence(rng)).Distinct().ToList();
        var perm = Enumerable.Range(0, english.Count).OrderBy(i => (i * 7919) % 31).ToArray();
        var foreign = new string[english.Count];
        for (int i = 0; i < english.Count; i++) foreign[perm[i]] = LaReqaLanguages[1].Transform(english[i]);
        File.WriteAllLines(Path.Combine(tatoeba, "de-en.de"), foreign);
        File.WriteAllLines(Path.Combine(tatoeba, "de-en.en"), english);
        File.WriteAllLines(Path.Combine(tatoeba, "test-de.tsv"), perm.Select(p => p.ToString()));

        var tatoebaResult = RunMt5(root, "tatoeba", tatoeba);
        var expected = global::Stilts.Metrics.Tatoeba.Search(vectors(foreign), vectors(english));
        var de = Assert.Single(tatoebaResult.Languages);
        Assert.Equal(expected.Zip(perm).Count(p => p.First == p.Second) / (double)english.Count, de.Score!.Value, 9);
        Assert.Equal(expected.Select(e => e.ToString()), File.ReadAllLines(de.PredictionFile));
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "run-tatoeba-Mean", "results.json"))))
        {
            Assert.Equal("t5", json.RootElement.GetProperty("model_family").GetString());
            Assert.Equal(2, json.RootElement.GetProperty("layer").GetInt32()); // the final encoder output
        }

        // LAReQA over an English and a German pool.
        string lareqa = Path.Combine(root, "lareqa");
        var candidates = WriteLaReqa(lareqa, LaReqaLanguages.Take(2));
        var lareqaResult = RunMt5(root, "lareqa", lareqa);
        var expectedMap = ExpectedLaReqa(candidates, vectors);
        Assert.Equal(["de", "en"], lareqaResult.Languages.Select(l => l.Language));
        foreach (var lr in lareqaResult.Languages)
        {
            Assert.Equal(expectedMap[lr.Language].Map, lr.Score!.Value, 9);
            var written = ReadRanked(lr.PredictionFile);
            foreach (var (q, top) in expectedMap[lr.Language].Ranked) Assert.Equal(top, written[q]);
        }

        // evaluate.layer picks an earlier encoder state: other vectors, other rankings; [CLS] pooling has no meaning.
        var layer1 = RunMt5(root, "lareqa", lareqa, layer: 1);
        Assert.Contains(layer1.Languages, l => !ReadRanked(l.PredictionFile).SequenceEqual(ReadRanked(lareqaResult.Languages.Single(x => x.Language == l.Language).PredictionFile), RankEquality.Instance));
        Assert.Equal("evaluate.pooling", Assert.Throws<InvalidInputException>(() => RunMt5(root, "lareqa", lareqa, pooling: Pooling.Cls)).Where);
        Assert.Equal("evaluate.layer", Assert.Throws<InvalidInputException>(() => RunMt5(root, "lareqa", lareqa, layer: 3)).Where);
    }

    sealed class RankEquality : IEqualityComparer<KeyValuePair<string, string[]>>
    {
        public static readonly RankEquality Instance = new();
        public bool Equals(KeyValuePair<string, string[]> a, KeyValuePair<string, string[]> b) => a.Key == b.Key && a.Value.SequenceEqual(b.Value);
        public int GetHashCode(KeyValuePair<string, string[]> p) => p.Key.GetHashCode();
    }

    [Fact]
    public void Mt5EmbeddingsOfTheLastLayerAreT5SentenceVectorsAndEarlierLayersDiffer()
    {
        var tokenizer = AutoTokenizer.FromFolder(Mt5);
        using var encoder = T5EncoderModel.FromPretrained(Mt5);
        string[] texts = ["the cat sleeps under the old stone", "rain", "yellow train runs along the river road in the morning"];
        using var reference = T5SentenceVectors.Encode(encoder, tokenizer, texts, batchSize: 1, maxLength: MaxSeqLen);
        using var last = RetrievalEvaluation.EmbedT5(encoder, tokenizer, texts, 2, MaxSeqLen, 2);
        using var first = RetrievalEvaluation.EmbedT5(encoder, tokenizer, texts, 1, MaxSeqLen, 2);
        Assert.True(allclose(reference, last, rtol: 1e-4, atol: 1e-5));
        Assert.True((first - last).abs().max().item<float>() > 0.05f);
        // Layer 0 is the token embeddings: the mean of the embedding rows of "rain" and </s>.
        using var zero = RetrievalEvaluation.EmbedT5(encoder, tokenizer, ["rain"], 0, MaxSeqLen, 2);
        var ids = tokenizer.Encode("rain").Ids;
        var weights = Checkpoint.ReadStateDict(Mt5, floatType: null);
        var shared = weights["shared.weight"];
        using var expected = shared.index_select(0, tensor(ids.Select(i => (long)i).ToArray())).mean([0]);
        Assert.True(allclose(expected, zero[0], rtol: 1e-4, atol: 1e-5));
        foreach (var t in weights.Values) t.Dispose();
    }
}
