using System.Text.Json;
using Stilts.Pipeline;
using Stilts.Tasks;
using Stilts.Tokenization;

namespace Stilts.Tests.Pipeline;

/// <summary>The runner's view of the task registry: where files are found, which languages exist, open label sets, user tasks.</summary>
public sealed class RunnerTaskTests
{
    static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    [Fact]
    public void Files_are_found_in_the_flat_layout_first_then_in_the_tasks_own_download_layout()
    {
        string dir = TestPaths.NewTempDir("runner-files");
        Write(Path.Combine(dir, "MLQA_V1", "test", "test-context-de-question-de.json"), "{}");
        Write(Path.Combine(dir, "test-es.json"), "{}");
        Write(Path.Combine(dir, "test-zz.json"), "{}"); // a translated test set in a language MLQA does not list
        var mlqa = PipelineTasks.Get("mlqa", "test");
        Assert.Equal(["de", "es", "zz"], mlqa.Languages(dir, Split.Test));
        Assert.Equal([Path.Combine(dir, "MLQA_V1", "test", "test-context-de-question-de.json")], mlqa.Files(dir, Split.Test, "de"));
        Assert.Equal([Path.Combine(dir, "test-es.json")], mlqa.Files(dir, Split.Test, "es"));
        Assert.Equal("test-de.json", mlqa.PredictionFileName(Split.Test, "de"));

        // XCOPA's dev split is "val"; its predictions are the jsonl stilts score reads.
        var xcopa = PipelineTasks.Get("xcopa", "test");
        Write(Path.Combine(dir, "xcopa", "val-et.jsonl"), "");
        Assert.Equal([Path.Combine(dir, "xcopa", "val-et.jsonl")], xcopa.Files(Path.Combine(dir, "xcopa"), Split.Dev, "et"));
        Assert.Equal("test-et.jsonl", xcopa.PredictionFileName(Split.Test, "et"));
    }

    [Fact]
    public void A_missing_translated_train_file_is_an_error_not_silently_english()
    {
        string dir = TestPaths.NewTempDir("runner-files");
        Write(Path.Combine(dir, "train-en.tsv"), "a\tb\tentailment\n");
        var xnli = PipelineTasks.Get("xnli", "test");
        Assert.Equal([Path.Combine(dir, "train-en.tsv")], xnli.Files(dir, Split.Train, "en"));
        var e = Assert.Throws<InvalidInputException>(() => xnli.Files(dir, Split.Train, "de"));
        Assert.Contains("train-de.tsv", e.Message);
        var unknown = Assert.Throws<InvalidInputException>(() => PipelineTasks.Get("glue", "stages[0].tasks[0].task"));
        Assert.Contains("stages[0].tasks[0].task", unknown.Message);
        Assert.Contains("hellaswag", unknown.Message);
    }

    [Fact]
    public void Doc_stride_and_query_length_change_the_windows_and_the_cache_key()
    {
        string dir = TestPaths.NewTempDir("runner-qa");
        string context = string.Join(" ", Enumerable.Range(0, 120).Select(i => $"w{i % 17}"));
        Write(Path.Combine(dir, "dev-en.json"), JsonSerializer.Serialize(new
        {
            version = "1.1",
            data = new[] { new { title = "t", paragraphs = new[] { new { context, qas = new[] { new { id = "q1", question = string.Join(" ", Enumerable.Repeat("which word comes here", 8)), answers = new[] { new { text = "w3", answer_start = context.IndexOf("w3", StringComparison.Ordinal) } } } } } } } },
        }));
        var squad = PipelineTasks.Get("squad_v1", "test");
        var tokenizer = new WhitespaceTokenizer([.. Enumerable.Range(0, 17).Select(i => $"w{i}"), "which", "word", "comes", "here"]);
        var files = squad.Files(dir, Split.Dev, "en");
        FeaturizeOptions Options(int stride, int query) => new() { MaxLength = 64, DocStride = stride, MaxQueryLength = query };
        int Windows(FeaturizeOptions o) => squad.Featurize(files, "en", tokenizer, o).Count();
        Assert.True(Windows(Options(8, 64)) > Windows(Options(32, 64)));
        // A shorter question cap leaves more room for context in each window, so fewer windows are needed.
        Assert.True(Windows(Options(8, 2)) < Windows(Options(8, 64)));
        Assert.NotEqual(Options(8, 64).CacheVariant(TaskKind.SpanQa), Options(32, 64).CacheVariant(TaskKind.SpanQa));
        Assert.NotEqual(Options(8, 64).CacheVariant(TaskKind.SpanQa), Options(8, 2).CacheVariant(TaskKind.SpanQa));
        Assert.Equal("", Options(8, 64).CacheVariant(TaskKind.PairClassification));
    }

    [Fact]
    public void Mnli_trains_from_its_glue_layout_on_a_shared_nli_head_that_xnli_is_evaluated_with()
    {
        var toy = new ToyRun();
        string glue = Path.Combine(toy.Root, "glue");
        // GLUE's MNLI columns (found by header name), filled with the toy world's English NLI pairs.
        var rows = File.ReadAllLines(Path.Combine(toy.World, "toynli", "train-en.tsv")).Select(l => l.Split('\t')).ToList();
        string Glue(IEnumerable<string[]> r) => "index\tpairID\tsentence1\tsentence2\tgold_label\n"
            + string.Concat(r.Select((f, i) => $"{i}\tp{i}\t{f[0]}\t{f[1]}\t{f[2]}\n"));
        Write(Path.Combine(glue, "MNLI", "train.tsv"), Glue(rows.Take(40)));
        Write(Path.Combine(glue, "MNLI", "dev_matched.tsv"), Glue(rows.Skip(40).Take(10)));
        var yaml = $"""
            model: {toy.Model}
            from_scratch: true
            device: cpu
            stages:
              - {"{"} name: intermediate, tasks: [{"{"} task: mnli, data: {glue}, head: nli {"}"}], epochs: 1, batch_size: 8, grad_accumulation: 1, max_seq_len: 32, lr: 1e-3, eval_every: 5 {"}"}
            evaluate: {"{"} task: xnli, head: nli, data: {toy.World}/toynli, languages: [en, gr], max_seq_len: 32 {"}"}
            """;
        var result = ExperimentRunner.Run(RunConfig.FromYaml(yaml), toy.Options("mnli"));
        Assert.Equal(5, result.Stages[0].Steps); // 40 GLUE rows / batch 8
        Assert.Equal(["en", "gr"], result.Evaluation!.Languages.Select(l => l.Language));
        Assert.All(result.Evaluation.Languages, l => Assert.All(File.ReadAllLines(l.PredictionFile), p => Assert.Contains(p, Xnli.Labels)));
        Assert.EndsWith(Path.Combine("predictions", "xnli", "test-gr.tsv"), result.Evaluation.Languages[1].PredictionFile);
    }

    [Fact]
    public void Ccg_learns_its_open_label_set_from_the_training_file_and_evaluation_reads_it_back()
    {
        var toy = new ToyRun();
        string ccg = Path.Combine(toy.Root, "ccg");
        // The toy POS data as word|tag lines with CCG-looking tags (an open set the registry does not list).
        var map = new Dictionary<string, string> { ["DET"] = "NP/N", ["ADJ"] = "N/N", ["NOUN"] = "N", ["PROPN"] = "NP", ["VERB"] = @"(S\NP)/NP", ["PART"] = @"(S\NP)\(S\NP)" };
        string Piped(string file, int take) => string.Concat(UdPos.ReadXtreme(Path.Combine(toy.World, "toypos", file)).Take(take)
            .Select(s => string.Join(' ', s.Words.Zip(s.Tags!, (w, t) => $"{w}|{map[t]}")) + "\n"));
        Write(Path.Combine(ccg, "ccg.train"), Piped("train-en.tsv", 60));
        Write(Path.Combine(ccg, "ccg.dev"), Piped("dev-en.tsv", 10));
        Write(Path.Combine(ccg, "ccg.test"), Piped("test-en.tsv", 12));
        var yaml = $"""
            model: {toy.Model}
            from_scratch: true
            device: cpu
            stages:
              - {"{"} name: s, tasks: [{"{"} task: ccg, data: {ccg} {"}"}], max_steps: 4, batch_size: 8, grad_accumulation: 1, max_seq_len: 32, lr: 1e-3, eval_every: 4 {"}"}
            evaluate: {"{"} task: ccg, data: {ccg}, max_seq_len: 32 {"}"}
            """;
        var result = ExperimentRunner.Run(RunConfig.FromYaml(yaml), toy.Options("ccg"));
        var labels = JsonSerializer.Deserialize<Dictionary<string, string[]>>(File.ReadAllText(Path.Combine(result.ModelDir, "head_labels.json")))!;
        Assert.Equal(map.Values.Order(StringComparer.Ordinal), labels["ccg"]);
        var en = Assert.Single(result.Evaluation!.Languages);
        Assert.Equal("en", en.Language);
        var predicted = File.ReadAllText(en.PredictionFile).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(12, predicted.Length);
        Assert.All(predicted.SelectMany(s => s.Split('\n', StringSplitOptions.RemoveEmptyEntries)), t => Assert.Contains(t, map.Values));
        Assert.InRange(en.Score!.Value, 0, 1);
    }

    [Fact]
    public void A_user_task_config_is_trained_and_evaluated_by_its_path()
    {
        var toy = new ToyRun();
        string dir = Path.Combine(toy.Root, "reviews");
        string Jsonl(string file, int take) => string.Concat(File.ReadAllLines(Path.Combine(toy.World, "toysent", file)).Take(take)
            .Select(l => l.Split('\t')).Select(f => JsonSerializer.Serialize(new { review = f[0], verdict = f[1] == "positive" ? "good" : "bad" }) + "\n"));
        Write(Path.Combine(dir, "train.jsonl"), Jsonl("train-en.tsv", 32));
        Write(Path.Combine(dir, "dev-en.jsonl"), Jsonl("dev-en.tsv", 8));
        foreach (var lang in new[] { "en", "la" }) Write(Path.Combine(dir, $"test-{lang}.jsonl"), Jsonl($"test-{lang}.tsv", 10));
        string config = Path.Combine(dir, "reviews.yaml");
        Write(config, """
            name: reviews
            kind: SentenceClassification
            files: { train: train.jsonl, dev: "dev-{lang}.jsonl", test: "test-{lang}.jsonl" }
            columns: { text: review, label: verdict }
            labels: [bad, good]
            languages: [en, la]
            """);
        var yaml = $"""
            model: {toy.Model}
            from_scratch: true
            device: cpu
            stages:
              - {"{"} name: s, tasks: [{"{"} task: {config} {"}"}], max_steps: 2, batch_size: 8, grad_accumulation: 1, max_seq_len: 32, lr: 1e-3, eval_every: 2 {"}"}
            evaluate: {"{"} task: {config}, max_seq_len: 32 {"}"}
            """;
        var result = ExperimentRunner.Run(RunConfig.FromYaml(yaml), toy.Options("user"));
        Assert.Equal(["en", "la"], result.Evaluation!.Languages.Select(l => l.Language));
        Assert.All(result.Evaluation.Languages, l =>
        {
            Assert.Equal(10, File.ReadAllLines(l.PredictionFile).Length);
            Assert.All(File.ReadAllLines(l.PredictionFile), p => Assert.Contains(p, new[] { "bad", "good" }));
            Assert.EndsWith(Path.Combine("predictions", "reviews", $"test-{l.Language}.tsv"), l.PredictionFile);
        });
    }
}
