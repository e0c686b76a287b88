using System.Text;
using System.Text.Json;
using Stilts.Models;
using Stilts.Tasks.TextToText;
using Stilts.Tokenization;

namespace Stilts.Pipeline;

/// <summary>The quickstart's model: a tiny BERT pretrained with masked LM, or a tiny mT5 pretrained with span corruption.</summary>
public enum QuickstartModel { Bert, Mt5 }

/// <summary>Sizes of the quickstart; the defaults finish in a few minutes on 2 CPU cores, tests use smaller ones.</summary>
public sealed record QuickstartOptions
{
    public required string Folder { get; init; }
    /// <summary>The defaults below are the BERT quickstart's; <see cref="ForMt5"/> gives the mT5 one's.</summary>
    public QuickstartModel Model { get; init; } = QuickstartModel.Bert;
    public int Seed { get; init; } = 1;
    public ToyWorldOptions World { get; init; } = new() { NliTrain = 1500, SentimentTrain = 1500, PosTrain = 100, DevSize = 200, TestSize = 500, CorpusSize = 3000 };
    public int HiddenSize { get; init; } = 64;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public double PretrainEpochs { get; init; } = 12;
    public double IntermediateEpochs { get; init; } = 2;
    public double TargetEpochs { get; init; } = 4;
    public double PretrainLr { get; init; } = 1e-3;
    public double FineTuneLr { get; init; } = 5e-4;
    public int BatchSize { get; init; } = 32;
    public ITrainingObserver? Observer { get; init; }
    public string? CacheDir { get; init; }

    /// <summary>
    /// The mT5 quickstart: d_model 64, 2 + 2 layers, gated GELU, untied head, a word-level SentencePiece vocabulary.
    /// An encoder-decoder from scratch wants a larger learning rate and longer pretraining than the BERT.
    /// </summary>
    public static QuickstartOptions ForMt5(string folder) => new()
    {
        Folder = folder, Model = QuickstartModel.Mt5, HiddenSize = 64, Layers = 2, Heads = 4,
        PretrainEpochs = 3, IntermediateEpochs = 2, TargetEpochs = 4, PretrainLr = 3e-3, FineTuneLr = 1e-3,
    };
}

/// <summary>Zero-shot accuracy per toy language for one pretraining corpus: baseline vs intermediate-task transfer.</summary>
public sealed record QuickstartRow(string Language, double Baseline, double Intermediate)
{
    public double Delta => Intermediate - Baseline;
}

public sealed record QuickstartResult(IReadOnlyList<QuickstartRow> Multilingual, IReadOnlyList<QuickstartRow> EnglishOnly,
    QuickstartModel Model = QuickstartModel.Bert)
{
    /// <summary>The results table the CLI prints.</summary>
    public string Table()
    {
        var sb = new StringBuilder();
        void Block(string title, IReadOnlyList<QuickstartRow> rows)
        {
            sb.AppendLine(title);
            sb.AppendLine("  language   baseline   intermediate   delta");
            foreach (var r in rows)
                sb.AppendLine($"  {r.Language,-8} {r.Baseline * 100,9:F1} {r.Intermediate * 100,14:F1} {r.Delta * 100,+7:+0.0;-0.0}");
            var held = rows.Where(r => r.Language != "en").ToList();
            sb.AppendLine($"  {"avg(0-shot)",-8} {held.Average(r => r.Baseline) * 100,6:F1} {held.Average(r => r.Intermediate) * 100,14:F1} {held.Average(r => r.Delta) * 100,+7:+0.0;-0.0}");
        }
        sb.AppendLine("Target: toysent (sentiment: verb valence, flipped by negation), trained on English only;");
        sb.AppendLine("intermediate task: toynli (3-way NLI, English). Accuracy %; la, cy, gr, sy are zero-shot (chance 50).");
        sb.AppendLine();
        string objective = Model == QuickstartModel.Mt5 ? "span-corruption (mT5)" : "MLM";
        if (Model == QuickstartModel.Mt5) sb.AppendLine("Model: tiny mT5, every task as text (the label word is generated, constrained to the labels).");
        Block($"Multilingual {objective} pretraining (all five toy languages):", Multilingual);
        sb.AppendLine();
        Block($"English-only {objective} pretraining:", EnglishOnly);
        return sb.ToString();
    }
}

/// <summary>
/// The README's first command: a toy multilingual world, a tiny BERT pretrained on it with MLM (once on all
/// languages, once on English only), then for each: direct fine-tuning on the English target task (baseline) vs
/// intermediate-task training first (STILTs), each evaluated zero-shot on the other toy languages. Every step is an
/// ordinary <see cref="RunConfig"/> run, so the quickstart exercises the real pipeline; the configs are saved in
/// each run folder. With <see cref="QuickstartModel.Mt5"/> the same recipe runs a tiny mT5 (span-corruption
/// pretraining, every task as text) with a SentencePiece vocabulary written from the toy words.
/// </summary>
public static class Quickstart
{
    public static QuickstartResult Run(QuickstartOptions options, Func<string, TextTokenizer> loadTokenizer)
    {
        string root = Path.GetFullPath(options.Folder);
        string world = Path.Combine(root, "world");
        if (!File.Exists(Path.Combine(world, "vocab.txt"))) ToyWorld.Generate(options.World with { Seed = options.Seed }).Write(world);
        bool t5 = options.Model == QuickstartModel.Mt5;
        string scratch = Path.Combine(root, t5 ? "tiny-mt5" : "tiny-bert");
        if (t5) WriteTinyMt5(scratch, ToyWords(world), options);
        else
        {
            WriteTinyBert(scratch, File.ReadAllLines(Path.Combine(world, "vocab.txt")).Length, options);
            File.Copy(Path.Combine(world, "vocab.txt"), Path.Combine(scratch, "vocab.txt"), overwrite: true);
        }

        // The mT5 runs get their own folders, so both quickstarts can share one --folder (and its toy world).
        RunResult Go(string name, RunConfig config) => ExperimentRunner.Run(config, new RunOptions
        {
            RunDir = Path.Combine(root, t5 ? "runs-mt5" : "runs", name), LoadTokenizer = loadTokenizer, Observer = options.Observer, CacheDir = options.CacheDir ?? Path.Combine(root, "cache"),
        });

        StageConfig Mlm(string corpus) => new()
        {
            Name = "mlm", Mlm = new MlmConfig { Corpus = corpus }, Epochs = options.PretrainEpochs, Lr = options.PretrainLr,
            BatchSize = options.BatchSize, GradAccumulation = 1, WarmupRatio = 0.05, MaxSeqLen = 32, EvalEvery = 200, // MLM-only: checkpoints, no validation
        };
        var multi = Go("pretrain-multilingual", new RunConfig { Model = scratch, FromScratch = true, Seed = options.Seed, Device = Models.DeviceChoice.Cpu, LogEvery = 50, Stages = [Mlm(Path.Combine(world, "mlm"))] });
        var english = Go("pretrain-english", new RunConfig { Model = scratch, FromScratch = true, Seed = options.Seed, Device = Models.DeviceChoice.Cpu, LogEvery = 50, Stages = [Mlm(Path.Combine(world, "mlm", "en.txt"))] });

        StageConfig Stage(string name, string task, string data, double epochs) => new()
        {
            Name = name, Tasks = [new TaskSpec { Task = task, Data = Path.Combine(world, data) }], Epochs = epochs, Lr = options.FineTuneLr,
            BatchSize = options.BatchSize, GradAccumulation = 1, WarmupRatio = 0.1, MaxSeqLen = 48, EvalEvery = 20, ValSubset = 200, Patience = 5,
            MaxTargetLen = t5 ? 4 : new StageConfig().MaxTargetLen, // one label word and </s>
        };
        var target = Stage("target", "toysent", "toysent", options.TargetEpochs);
        var evaluate = new EvaluationConfig { Task = "toysent", Data = Path.Combine(world, "toysent"), MaxSeqLen = 48 };
        if (t5) evaluate = evaluate with { MaxNewTokens = 4, ConstrainToLabels = true };
        IReadOnlyList<QuickstartRow> Compare(string tag, RunResult pretrained)
        {
            var common = new RunConfig { Model = pretrained.ModelDir, Seed = options.Seed, Device = Models.DeviceChoice.Cpu, LogEvery = 50, Evaluate = evaluate };
            var baseline = Go($"{tag}-baseline", common with { Stages = [target] }).Evaluation!;
            var stilts = Go($"{tag}-intermediate", common with { Stages = [Stage("intermediate", "xnli", "toynli", options.IntermediateEpochs), target] }).Evaluation!;
            return baseline.Languages.Select(l => new QuickstartRow(l.Language, l.Score ?? 0, stilts.ScoreOf(l.Language) ?? 0))
                .OrderBy(r => r.Language == "en" ? "" : r.Language, StringComparer.Ordinal).ToList();
        }
        var result = new QuickstartResult(Compare("multilingual", multi), Compare("english", english), options.Model);
        AtomicFile.WriteAllText(Path.Combine(root, t5 ? "results-mt5.txt" : "results.txt"), result.Table());
        return result;
    }

    /// <summary>config.json of a tiny BERT (word-level toy vocabulary, short sequences) and its tokenizer config.</summary>
    public static void WriteTinyBert(string folder, int vocabSize, QuickstartOptions options)
    {
        Directory.CreateDirectory(folder);
        var config = new Dictionary<string, object>
        {
            ["model_type"] = "bert", ["architectures"] = new[] { "BertForMaskedLM" }, ["vocab_size"] = vocabSize,
            ["hidden_size"] = options.HiddenSize, ["num_hidden_layers"] = options.Layers, ["num_attention_heads"] = options.Heads,
            ["intermediate_size"] = options.HiddenSize * 4, ["max_position_embeddings"] = 64, ["type_vocab_size"] = 2,
            ["hidden_act"] = "gelu", ["hidden_dropout_prob"] = 0.1, ["attention_probs_dropout_prob"] = 0.1,
            ["layer_norm_eps"] = 1e-12, ["initializer_range"] = 0.02, ["pad_token_id"] = 0,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }));
        AtomicFile.WriteAllText(Path.Combine(folder, "tokenizer_config.json"),
            """{ "tokenizer_class": "BertTokenizer", "do_lower_case": true, "model_max_length": 64 }""");
    }

    /// <summary>
    /// A tiny mT5 (gated GELU, untied LM head: HF mT5's layout at toy size) with a
    /// word-level spiece.model: one piece per toy word, so span corruption and the label words work on whole words.
    /// </summary>
    public static void WriteTinyMt5(string folder, IEnumerable<string> words, QuickstartOptions options)
    {
        Directory.CreateDirectory(folder);
        const int extraIds = 100; // T5's sentinel count
        string spiece = Path.Combine(folder, "spiece.model");
        SentencePieceWordModel.Write(spiece, words);
        int pieces = SentencePieceWordModel.Pieces(words).Count;
        var config = new T5Config
        {
            VocabSize = pieces + extraIds, DModel = options.HiddenSize, DKv = options.HiddenSize / options.Heads, DFf = options.HiddenSize * 2,
            NumLayers = options.Layers, NumDecoderLayers = options.Layers, NumHeads = options.Heads, FeedForward = T5FeedForward.GatedGelu, TieWordEmbeddings = false, DropoutRate = 0.1,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), config.ToJson());
        AtomicFile.WriteAllText(Path.Combine(folder, "tokenizer_config.json"),
            $$"""{ "tokenizer_class": "T5Tokenizer", "extra_ids": {{extraIds}}, "model_max_length": 64 }""");
    }

    /// <summary>
    /// The words an mT5 quickstart sees: every word of the toy vocabulary, and the words of the tasks' text-to-text
    /// form (task prefixes, field names such as "premise:", label words).
    /// </summary>
    static List<string> ToyWords(string world)
    {
        var words = File.ReadAllLines(Path.Combine(world, "vocab.txt")).Where(w => w.Length > 0 && !(w.StartsWith('[') && w.EndsWith(']'))).ToList();
        foreach (var (name, data) in new[] { ("xnli", "toynli"), ("toysent", "toysent") })
        {
            var task = PipelineTasks.Get(name, "quickstart");
            var example = task.Read(task.Files(Path.Combine(world, data), Tasks.Split.Train, "en"), "en").First();
            words.AddRange(TextToTextFormatter.Format(task.Verbalizer, example).Input.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            words.AddRange(task.Labels.Select(task.Verbalizer.WordOf));
        }
        return [.. words.Distinct(StringComparer.Ordinal)];
    }
}
