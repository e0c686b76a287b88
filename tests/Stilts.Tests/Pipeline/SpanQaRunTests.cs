using System.Text.Json;
using System.Text.Json.Nodes;
using Stilts.Pipeline;
using Stilts.Tasks;
using Stilts.Tokenization;

namespace Stilts.Tests.Pipeline;

public class SpanQaRunTests
{
    // Our own little stories: (context, [(id, question, answer)]); every answer occurs in its context.
    static readonly (string Context, (string Id, string Question, string Answer)[] Qas)[] English =
    [
        ("The cat sat on the mat near the door.", [("c1", "Where did the cat sit?", "on the mat"), ("c2", "What sat on the mat?", "The cat")]),
        ("Anna bought three apples at the market on Monday.", [("a1", "What did Anna buy?", "three apples"), ("a2", "When did Anna go to the market?", "on Monday")]),
        ("The old bridge was painted green by the workers last summer.", [("b1", "What color was the bridge painted?", "green")]),
        // Long enough for two windows at max_seq_len 64, with the answer near the end.
        ("The river starts high in the hills and runs past small farms and quiet villages for many miles. " +
         "It turns east near an old mill, passes under two stone bridges, and widens into a slow lake beside the town. " +
         "Fishermen come every morning, and at the far end of the lake stands a white lighthouse built by sailors.",
            [("r1", "Who built the lighthouse?", "sailors"), ("r2", "What stands at the far end of the lake?", "a white lighthouse")]),
    ];

    static readonly (string Context, (string Id, string Question, string Answer)[] Qas)[] German =
    [
        ("Die Katze sitzt auf der Matte neben der Tür.", [("dc1", "Wo sitzt die Katze?", "auf der Matte")]),
        ("Anna kauft drei Äpfel am Montag.", [("da1", "Was kauft Anna?", "drei Äpfel"), ("da2", "Wann kauft Anna?", "am Montag")]),
    ];

    /// <summary>A SQuAD v1.1 json file of the given paragraphs.</summary>
    static void WriteSquad(string path, IEnumerable<(string Context, (string Id, string Question, string Answer)[] Qas)> paragraphs)
    {
        var data = new JsonArray(new JsonObject
        {
            ["title"] = "stories",
            ["paragraphs"] = new JsonArray(paragraphs.Select(p => (JsonNode)new JsonObject
            {
                ["context"] = p.Context,
                ["qas"] = new JsonArray(p.Qas.Select(q => (JsonNode)new JsonObject
                {
                    ["id"] = q.Id,
                    ["question"] = q.Question,
                    ["answers"] = new JsonArray(new JsonObject { ["text"] = q.Answer, ["answer_start"] = p.Context.IndexOf(q.Answer, StringComparison.Ordinal) }),
                }).ToArray()),
            }).ToArray()),
        });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, new JsonObject { ["version"] = "1.1", ["data"] = data }.ToJsonString());
    }

    static string Model => TestPaths.TestVectors("bert"); // real WordPiece vocab, random weights, 64 positions

    [Fact]
    public void Squad_trained_model_answers_every_xquad_question_per_language_with_a_span_of_its_context()
    {
        string root = TestPaths.NewTempDir("stilts-qarun");
        WriteSquad(Path.Combine(root, "squad", "train-en.json"), English);
        WriteSquad(Path.Combine(root, "squad", "dev-en.json"), English);
        WriteSquad(Path.Combine(root, "xquad", "test-en.json"), English);
        WriteSquad(Path.Combine(root, "xquad", "test-de.json"), German);
        var config = RunConfig.FromYaml($"""
            model: {Model}
            seed: 3
            device: cpu
            log_every: 2
            stages:
              - {"{"} name: squad, tasks: [{"{"} task: squad_v1, head: qa, data: {root}/squad {"}"}], epochs: 10, max_steps: 6, lr: 5e-3, batch_size: 4, max_seq_len: 64, eval_every: 3, val_subset: 5 {"}"}
            evaluate: {"{"} task: xquad, head: qa, data: {root}/xquad, max_seq_len: 64, batch_size: 3 {"}"}
            """);
        var result = ExperimentRunner.Run(config, new RunOptions
        {
            RunDir = Path.Combine(root, "run"), CacheDir = Path.Combine(root, "cache"), LoadTokenizer = AutoTokenizer.FromFolder, TensorBoard = false,
        });

        var stage = Assert.Single(result.Stages);
        Assert.Equal(6, stage.Steps);
        Assert.InRange(stage.BestMetric!.Value, 0, 1); // (EM + F1) / 2 on the first 5 dev questions

        var evaluation = result.Evaluation!;
        Assert.Equal("em_f1_mean", evaluation.Metric);
        Assert.Equal(["de", "en"], evaluation.Languages.Select(l => l.Language));
        foreach (var (lang, paragraphs) in new[] { ("en", English), ("de", German) })
        {
            var language = evaluation.Languages.Single(l => l.Language == lang);
            Assert.EndsWith(Path.Combine("predictions", "xquad", $"test-{lang}.json"), language.PredictionFile);
            var answers = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(language.PredictionFile))!;
            var questions = paragraphs.SelectMany(p => p.Qas.Select(q => (q.Id, p.Context))).ToList();
            Assert.Equal(questions.Select(q => q.Id).Order(), answers.Keys.Order());
            foreach (var (id, context) in questions)
            {
                Assert.NotEmpty(answers[id]);
                Assert.Contains(answers[id], context);
            }
            Assert.Equal(questions.Count, language.Examples);
            Assert.InRange(language.ExactMatch!.Value, 0, 100);
            Assert.InRange(language.F1!.Value, language.ExactMatch.Value, 100); // F1 >= EM per question
            Assert.Equal((language.ExactMatch.Value + language.F1.Value) / 200, language.Score!.Value, 12);
        }

        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(result.RunDir, "results.json")));
        Assert.Equal("xquad", results.RootElement.GetProperty("task").GetString());
        var perLanguage = results.RootElement.GetProperty("languages");
        foreach (var lang in new[] { "de", "en" })
        {
            var entry = perLanguage.GetProperty(lang);
            Assert.Equal(evaluation.ScoreOf(lang)!.Value, entry.GetProperty("score").GetDouble(), 12);
            Assert.True(entry.TryGetProperty("exact_match", out _));
            Assert.True(entry.TryGetProperty("f1", out _));
        }
    }

    [Fact]
    public void Confident_start_and_end_logits_decode_to_the_gold_span_through_the_runner_rows()
    {
        string root = TestPaths.NewTempDir("stilts-qadecode");
        string path = Path.Combine(root, "train-en.json");
        WriteSquad(path, English);
        var tokenizer = AutoTokenizer.FromFolder(Model);
        var task = PipelineTasks.Get("squad_v1", "test");
        var examples = task.Read([path], "en").Cast<SpanQaExample>().ToList();
        // Training rows carry the gold token positions; put all the logit mass there, in every window.
        var rows = task.Featurize([path], "en", tokenizer, new FeaturizeOptions { MaxLength = 64 }, training: true).ToList();
        Assert.True(rows.Count > examples.Count, "the long story should give more than one window");
        var starts = rows.Select(r => Peak(r[0].Length, r[2][0])).ToList();
        var ends = rows.Select(r => Peak(r[0].Length, r[2][1])).ToList();
        // Evaluation decodes the answer-less rows of the same windows: same ids and offsets, labels at CLS.
        var evalRows = task.Featurize([path], "en", tokenizer, new FeaturizeOptions { MaxLength = 64 }, training: false).ToList();
        Assert.Equal(rows.Select(r => r[0]), evalRows.Select(r => r[0]));

        var answers = EncoderStageModel.DecodeAnswers(evalRows, starts, ends, examples);

        foreach (var example in examples) Assert.Equal(example.Answers[0].Text, answers[example.Id]);
    }

    // A window without the answer has its gold at CLS, which decoding skips: its best in-context pair scores far lower.
    static float[] Peak(int length, int position)
    {
        var logits = new float[length];
        logits[position] = 20;
        return logits;
    }
}
