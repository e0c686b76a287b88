using System.Text.Json;
using Microsoft.Data.Sqlite;
using Stilts.Checkpoints;
using Stilts.Cli.Commands;
using Stilts.Inference;
using Stilts.Models;
using Stilts.Pipeline;
using Stilts.Studies;
using Stilts.Tasks;
using Stilts.Tasks.Featurization;
using Stilts.Tasks.TextToText;
using Stilts.Tests.Pipeline;
using Stilts.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tests.Inference;

/// <summary>
/// stilts bench inference --data: the toy world's real test files through a tiny random mT5 (the test vectors'
/// SentencePiece vocabulary) and a tiny BERT (the toy WordPiece vocabulary). Every count is checked against one
/// made independently here from the same examples.
/// </summary>
public sealed class TaskInferenceBenchmarkTests
{
    sealed class World
    {
        public ToyRun Toy { get; } = new(new ToyWorldOptions { NliTrain = 20, SentimentTrain = 20, PosTrain = 10, DevSize = 9, TestSize = 11, CorpusSize = 20 });
        public string Mt5 => Path.Combine(Toy.Root, "tiny-mt5");
        public string Data(string task) => Path.Combine(Toy.World, task);

        public World()
        {
            using var model = TinyMt5.Create(Mt5, dModel: 16, layers: 1, heads: 2, seed: 5, dKv: 4);
            StopSomeRowsEarly(model, AutoTokenizer.FromFolder(Mt5), Data("toysent"));
            model.SavePretrained(Mt5);
            // The toy BERT folder holds a config only (the runner initializes from it): give it random weights.
            using var encoder = Encoder.Create(EncoderConfig.FromFile(Path.Combine(Toy.Model, "config.json")), addPoolingLayer: false);
            SafeTensors.Write(Path.Combine(Toy.Model, "model.safetensors"),
                encoder.named_parameters().ToDictionary(p => "bert." + p.name, p => (Tensor)p.parameter));
        }
    }

    /// <summary>
    /// A random model never says eos. Give eos the output row of a token that some (not all) toy rows generate: the
    /// logits tie and argmax takes the first index (eos, 1), so eos comes exactly where that token would and those
    /// rows stop early while the others run on.
    /// </summary>
    static void StopSomeRowsEarly(T5ForConditionalGeneration model, TextTokenizer tokenizer, string data)
    {
        var task = PipelineTasks.Get("toysent", "fixture");
        var examples = task.Read(task.Files(data, Split.Test, "en"), "en").ToList();
        List<int[]> rows;
        using (no_grad())
        {
            var (ids, mask) = TextToTextFeaturizer.EncodeTexts(tokenizer, [.. examples.Select(e => TextToTextFormatter.Format(task.Verbalizer, e).Input)], 48);
            rows = ConstrainedDecoding.Rows(model.Generate(ids, mask, 6, ConstrainedDecoding.WithinVocabulary(tokenizer.VocabSize)), model.Config);
        }
        int token = rows.SelectMany(r => r.Distinct()).GroupBy(t => t).Where(g => g.Count() < rows.Count).MaxBy(g => g.Count())!.Key;
        var head = model.named_parameters().Single(p => p.name == "lm_head.weight").parameter;
        using (no_grad()) head[model.Config.EosTokenId].copy_(head[token]);
    }

    static readonly TaskBenchOptions Small = new() { BatchSizes = [1, 4], MaxSeqLen = 48, MaxNewTokens = 6, Warmup = 1, Passes = 2 };

    /// <summary>Generated lengths (up to and including eos) of the examples, batched in file order as the predictor batches them.</summary>
    static List<int> GeneratedLengths(T5ForConditionalGeneration model, TextTokenizer tokenizer, Verbalizer v, IReadOnlyList<TaskExample> examples, int batchSize, int maxSeqLen, int maxNew)
    {
        var lengths = new List<int>();
        using var noGrad = no_grad();
        for (int start = 0; start < examples.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var texts = examples.Skip(start).Take(batchSize).Select(e => TextToTextFormatter.Format(v, e).Input).ToList();
            var (ids, mask) = TextToTextFeaturizer.EncodeTexts(tokenizer, texts, maxSeqLen);
            var generated = model.Generate(ids, mask, maxNew, ConstrainedDecoding.WithinVocabulary(tokenizer.VocabSize));
            lengths.AddRange(ConstrainedDecoding.Rows(generated, model.Config).Select(r => r.Length));
        }
        return lengths;
    }

    [Fact]
    public void Mt5_generation_to_eos_is_counted_exactly_and_the_figures_are_consistent()
    {
        var w = new World();
        var task = PipelineTasks.Get("toysent", "test");
        var options = Small with { Languages = ["en", "cy"], MaxExamples = 7 };
        var data = TaskInferenceBenchmark.ReadExamples(task, w.Data("toysent"), options);
        Assert.Equal(["en", "cy"], data.Select(d => d.Language));
        Assert.All(data, d => Assert.Equal(7, d.Examples.Count));
        // The first 7 of the file, in order.
        var file = task.Read(task.Files(w.Data("toysent"), Split.Test, "cy"), "cy").Take(7).Select(e => e.Id);
        Assert.Equal(file, data[1].Examples.Select(e => e.Id));

        using var model = T5ForConditionalGeneration.FromPretrained(w.Mt5);
        var tokenizer = AutoTokenizer.FromFolder(w.Mt5);
        var rows = TaskInferenceBenchmark.Run(model, tokenizer, task, data, options);
        Assert.Equal([("en", 1), ("en", 4), ("cy", 1), ("cy", 4)], rows.Select(r => (r.Language, r.BatchSize)));
        foreach (var r in rows)
        {
            Assert.True(r.IsConsistent(), r.ToString());
            Assert.Equal(TaskBenchCall.Generate, r.Call);
            Assert.Equal((7, 2, 14), (r.Examples, r.Passes, r.TimedExamples));
            Assert.Equal(r.BatchSize == 1 ? 14 : 4, r.TimedBatches); // 7 in batches of 4: 4 + 3, twice
            var examples = data.Single(d => d.Language == r.Language).Examples;
            var lengths = GeneratedLengths(model, tokenizer, task.Verbalizer, examples, r.BatchSize, 48, 6);
            if (r.Language == "en") Assert.True(lengths.Distinct().Count() > 1, $"the fixture should stop some rows early: {string.Join(",", lengths)}");
            Assert.Equal(lengths.Average(), r.MeanGeneratedLength, 12);
            Assert.Equal(2L * lengths.Sum(), r.GeneratedTokens);
            Assert.Equal(lengths.Max(), r.MaxGeneratedLength);
            var inputLengths = examples.Select(e => tokenizer.Encode(TextToTextFormatter.Format(task.Verbalizer, e).Input, options: new EncodeOptions { MaxLength = 48 }).Length).ToList();
            Assert.Equal(inputLengths.Average(), r.MeanInputLength, 12);
            Assert.Equal(r.GeneratedTokens / r.TotalSeconds, r.GeneratedTokensPerSecond, 9);
            Assert.Equal(r.TimedExamples / r.TotalSeconds, r.ExamplesPerSecond, 9);
            Assert.True(r.PeakMemoryMb > 0);
        }
    }

    [Fact]
    public void Constrained_decoding_never_generates_more_than_the_longest_label_and_matches_the_predictor()
    {
        var w = new World();
        var task = PipelineTasks.Get("toysent", "test");
        var options = Small with { ConstrainToLabels = true, Languages = ["gr"], Passes = 1 };
        var data = TaskInferenceBenchmark.ReadExamples(task, w.Data("toysent"), options);
        Assert.Equal(11, data[0].Examples.Count); // no cap: the whole file
        using var model = T5ForConditionalGeneration.FromPretrained(w.Mt5);
        var tokenizer = AutoTokenizer.FromFolder(w.Mt5);
        var rows = TaskInferenceBenchmark.Run(model, tokenizer, task, data, options);
        int longest = task.Verbalizer.LabelWords.Max(l => TextToTextFeaturizer.Target(tokenizer, l, 64).Length);
        var predictions = TextToTextPredictor.Predict(model, tokenizer, task.Verbalizer, data[0].Examples,
            new TextToTextPredictOptions { MaxInputLength = 48, MaxNewTokens = 6, ConstrainToLabels = true, BatchSize = 4 });
        // The predictor's outputs are label words; their ids (with eos) are what was generated.
        long predicted = predictions.Sum(p => (long)TextToTextFeaturizer.Target(tokenizer, p.Generated, 64).Length);
        foreach (var r in rows)
        {
            Assert.True(r.IsConsistent(), r.ToString());
            Assert.Equal(TaskBenchCall.ConstrainedGenerate, r.Call);
            Assert.InRange(r.MaxGeneratedLength, 1, longest);
            Assert.Equal(predicted, r.GeneratedTokens);
        }
    }

    [Fact]
    public void Encoder_times_one_forward_pass_of_the_runners_features()
    {
        var w = new World();
        var task = PipelineTasks.Get("xnli", "test");
        var options = Small with { MaxExamples = 5, MaxSeqLen = 32 };
        var rows = TaskInferenceBenchmark.Run(w.Toy.Model, task, w.Data("toynli"), options);
        var languages = task.Languages(w.Data("toynli"), Split.Test);
        Assert.Equal(languages.Count * 2, rows.Count);
        var tokenizer = AutoTokenizer.FromFolder(w.Toy.Model);
        foreach (var r in rows)
        {
            Assert.True(r.IsConsistent(), r.ToString());
            Assert.Equal((TaskBenchCall.Forward, 0L, 0.0, 5), (r.Call, r.GeneratedTokens, r.GeneratedTokensPerSecond, r.Examples));
            var examples = task.Read(task.Files(w.Data("toynli"), Split.Test, r.Language), r.Language).Take(5).Cast<PairClassificationExample>();
            double mean = examples.Average(e => ClassificationFeaturizer.Featurize(tokenizer, e.Text, e.TextPair, Labels.Ignore, 32).InputIds.Length);
            Assert.Equal(mean, r.MeanInputLength, 12);
        }
        // Tagging is not a classification task for the encoder mode.
        Assert.Throws<InvalidInputException>(() => TaskInferenceBenchmark.Run(w.Toy.Model, PipelineTasks.Get("udpos", "test"), w.Data("toypos"), options));
    }

    [Fact]
    public void Bad_data_folder_language_or_cap_is_an_input_error_naming_it()
    {
        var w = new World();
        var task = PipelineTasks.Get("toysent", "test");
        string missing = Path.Combine(w.Toy.Root, "no-such-folder");
        var e = Assert.Throws<InvalidInputException>(() => TaskInferenceBenchmark.ReadExamples(task, missing, Small));
        Assert.Contains(missing, e.Message);
        e = Assert.Throws<InvalidInputException>(() => TaskInferenceBenchmark.ReadExamples(task, w.Data("toysent"), Small with { Languages = ["xx"] }));
        Assert.Contains("--language", e.Message);
        Assert.Contains("'xx'", e.Message);
        e = Assert.Throws<InvalidInputException>(() => TaskInferenceBenchmark.ReadExamples(task, w.Data("toysent"), Small with { MaxExamples = 0 }));
        Assert.Contains("--examples", e.Message);

        var args = new BenchTaskData.Args(w.Mt5, "toysent", missing, null, Split.Test, "1", 48, 4, false, 2, DeviceChoice.Cpu, 0, 1, null, null, null, null, null);
        Assert.Equal(2, BenchTaskData.Run(args));
        Assert.Equal(2, BenchTaskData.Run(args with { Data = w.Data("toysent"), Language = "en,xx" }));
        Assert.Equal(2, BenchTaskData.Run(args with { Data = w.Data("toysent"), Task = "no-such-task" }));
    }

    [Fact]
    public void Cli_writes_json_and_csv_and_stores_rows_in_the_study()
    {
        var w = new World();
        string json = Path.Combine(w.Toy.Root, "bench.json"), csv = Path.Combine(w.Toy.Root, "bench.csv"), db = Path.Combine(w.Toy.Root, "results.db");
        var (exit, _, stderr) = CliProcess.Run("bench", "inference", "--model", w.Mt5, "--task", "toysent", "--data", w.Data("toysent"),
            "--language", "en,la", "--batch-sizes", "2,5", "--max-seq-len", "40", "--max-new-tokens", "4", "--examples", "6",
            "--warmup", "1", "--output", json, "--results", db, "--study", "s1", "--run-key", "target-en", "--name", "tiny");
        Assert.True(exit == 0, stderr);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            Assert.Equal("task", doc.RootElement.GetProperty("mode").GetString());
            var results = doc.RootElement.GetProperty("results").EnumerateArray().ToList();
            Assert.Equal(["en", "en", "la", "la"], results.Select(r => r.GetProperty("language").GetString()));
            foreach (var r in results)
            {
                Assert.Equal(("generate", "test", 6, 1, 6), (r.GetProperty("call").GetString(), r.GetProperty("split").GetString(),
                    r.GetProperty("examples").GetInt32(), r.GetProperty("passes").GetInt32(), r.GetProperty("timed_examples").GetInt32()));
                double seconds = r.GetProperty("total_seconds").GetDouble();
                Assert.Equal(r.GetProperty("generated_tokens").GetInt64() / seconds, r.GetProperty("generated_tokens_per_second").GetDouble(), 6);
                Assert.InRange(r.GetProperty("max_generated_length").GetInt32(), 1, 4);
            }
        }
        using (var store = ResultsStore.Open(db))
        {
            var stored = store.TaskInference("s1");
            Assert.Equal(4, stored.Count);
            Assert.All(stored, s => Assert.Equal(("target-en", "tiny", "toysent", "cpu"), (s.RunKey, s.Model, s.Task, s.Device)));
            Assert.All(stored, s => Assert.True(s.Result.IsConsistent(), s.Result.ToString()));
            Assert.Empty(store.Inference("s1"));
        }

        (exit, _, stderr) = CliProcess.Run("bench", "inference", "--model", w.Toy.Model, "--task", "xnli", "--data", w.Data("toynli"),
            "--language", "en", "--split", "dev", "--batch-sizes", "4", "--examples", "9", "--iterations", "3", "--warmup", "0", "--output", csv);
        Assert.True(exit == 0, stderr);
        var lines = File.ReadAllLines(csv);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("language,split,batch_size,call,max_seq_len,max_new_tokens,examples,passes,timed_batches,timed_examples,", lines[0]);
        // 9 dev examples in batches of 4 (4 + 4 + 1), three passes.
        Assert.StartsWith("en,dev,4,forward,256,64,9,3,9,27,", lines[1]);

        (exit, _, stderr) = CliProcess.Run("bench", "inference", "--model", w.Mt5, "--task", "toysent", "--data", Path.Combine(w.Toy.Root, "missing"));
        Assert.Equal(2, exit);
        Assert.Contains(Path.Combine(w.Toy.Root, "missing"), stderr);
    }

    [Fact]
    public void A_database_made_before_the_task_table_stays_readable_and_gains_it()
    {
        string db = Path.Combine(TestPaths.NewTempDir("old-db"), "results.db");
        using (var c = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            // The schema as it was before task_inference, with one row.
            cmd.CommandText = """
                CREATE TABLE runs(study TEXT NOT NULL, run_key TEXT NOT NULL, kind TEXT NOT NULL, model TEXT NOT NULL, regime TEXT NOT NULL,
                  target TEXT NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                  error TEXT, config_json TEXT NOT NULL, config_hash TEXT NOT NULL, checkpoint TEXT,
                  started_at TEXT, finished_at TEXT, worker TEXT, PRIMARY KEY(study, run_key));
                CREATE TABLE inference(
                  id INTEGER PRIMARY KEY AUTOINCREMENT, study TEXT NOT NULL, run_key TEXT, model TEXT NOT NULL, task TEXT NOT NULL,
                  device TEXT NOT NULL, batch_size INTEGER NOT NULL, seq_len INTEGER NOT NULL, gen_len INTEGER NOT NULL,
                  p50_ms REAL NOT NULL, p95_ms REAL NOT NULL, p99_ms REAL NOT NULL, examples_per_s REAL NOT NULL,
                  tokens_per_s REAL NOT NULL, peak_mem_mb REAL NOT NULL, created_at TEXT NOT NULL);
                INSERT INTO inference(study, run_key, model, task, device, batch_size, seq_len, gen_len, p50_ms, p95_ms, p99_ms,
                  examples_per_s, tokens_per_s, peak_mem_mb, created_at)
                VALUES('s', 'r1', 'mt5-small', 'xnli', 'cpu', 8, 128, 16, 10, 12, 13, 800, 115200, 900, '2026-01-01');
                """;
            cmd.ExecuteNonQuery();
        }
        var result = new TaskLatencyResult("de", Split.Test, 8, TaskBenchCall.ConstrainedGenerate, 256, 64, 10, 1, 2, 10, 0.5,
            200, 300, 310, 250, 400, 30, 3, 20, 800, 60, 40, 3, 512);
        Assert.True(result.IsConsistent());
        using (var store = ResultsStore.Open(db))
        {
            var old = Assert.Single(store.Inference("s"));
            Assert.Equal(("r1", "mt5-small", 128, 16, 115200.0), (old.RunKey, old.Model, old.SeqLen, old.GenerationLength, old.TokensPerSecond));
            store.AddTaskInference(new TaskInferenceRow("s", "r1", "mt5-small", "xnli", "cpu", result));
        }
        using (var store = ResultsStore.Open(db))
        {
            var row = Assert.Single(store.TaskInference("s"));
            Assert.Equal(result, row.Result);
            Assert.Single(store.Inference("s"));
        }
    }

    [Fact]
    public void Re_planning_a_run_drops_its_task_rows_and_keeps_the_others()
    {
        using var store = ResultsStore.Open(Path.Combine(TestPaths.NewTempDir("task-rows"), "results.db"));
        RunRecord Planned(string key, string hash) => new("s", key, "Target", "m", "r", "xnli", 1, RunStatus.Pending, 0, null, "{}", hash, null, null, null);
        var result = new TaskLatencyResult("en", Split.Test, 2, TaskBenchCall.Forward, 128, 64, 4, 1, 2, 4, 0.01, 4, 6, 6, 5, 40, 0, 0, 400, 4000, 0, 10, 0, 300);
        Assert.True(result.IsConsistent());
        // A row that does not add up is caught: 4 examples in 0.01 s are 400/s, not 500/s.
        Assert.False((result with { ExamplesPerSecond = 500 }).IsConsistent());
        Assert.False((result with { P95Ms = 7 }).IsConsistent());
        foreach (var key in new[] { "a", "b" })
        {
            store.Plan(Planned(key, "h1"));
            store.AddTaskInference(new TaskInferenceRow("s", key, "m", "xnli", "cpu", result));
        }
        store.Plan(Planned("a", "h2"));
        Assert.Equal(["b"], store.TaskInference("s").Select(r => r.RunKey));
    }

    [Fact]
    public void Multiple_choice_runs_every_choice_through_the_encoder_and_scores_choices_on_mt5()
    {
        var w = new World();
        string folder = Path.Combine(w.Toy.Root, "xcopa");
        Directory.CreateDirectory(folder);
        File.WriteAllLines(Path.Combine(folder, "test-xx.jsonl"),
        [
            """{"premise": "the dog saw the cat", "choice1": "it ran", "choice2": "it slept all day long", "question": "effect", "label": 0, "idx": 1}""",
            """{"premise": "a man walks", "choice1": "he was late", "choice2": "rain", "question": "cause", "label": 1, "idx": 2}""",
            """{"premise": "the child eats bread", "choice1": "hunger", "choice2": "a red ball", "question": "cause", "label": 0, "idx": 3}""",
        ]);
        var task = PipelineTasks.Get("xcopa", "test");
        var options = Small with { BatchSizes = [2], MaxSeqLen = 32, Passes = 1 };
        var bert = Assert.Single(TaskInferenceBenchmark.Run(w.Toy.Model, task, folder, options));
        Assert.True(bert.IsConsistent(), bert.ToString());
        var tokenizer = AutoTokenizer.FromFolder(w.Toy.Model);
        var examples = task.Read(task.Files(folder, Split.Test, "xx"), "xx").Cast<MultipleChoiceExample>().ToList();
        // Both choices of every example are input: (premise, question + " " + choice) pairs.
        long inputs = examples.Sum(e => MultipleChoiceFeaturizer.Featurize(tokenizer, e.Context, e.Question, e.Choices, Labels.Ignore, 32).InputIds.Sum(ids => (long)ids.Length));
        Assert.Equal((3, 2, inputs, TaskBenchCall.Forward), (bert.Examples, bert.TimedBatches, bert.InputTokens, bert.Call));

        // mT5's default verbalizer scores each choice by likelihood (nothing generated), constrained or not, as the predictor does.
        var scored = Assert.Single(TaskInferenceBenchmark.Run(w.Mt5, task, folder, options));
        Assert.True(scored.IsConsistent(), scored.ToString());
        Assert.Equal((TaskBenchCall.ScoreChoices, 0L, 0), (scored.Call, scored.GeneratedTokens, scored.MaxGeneratedLength));
        var constrained = Assert.Single(TaskInferenceBenchmark.Run(w.Mt5, task, folder, options with { ConstrainToLabels = true }));
        Assert.Equal((TaskBenchCall.ScoreChoices, 0L), (constrained.Call, constrained.GeneratedTokens));
    }
}
