using System.Text.Json;
using Stilts.Metrics;
using Stilts.Models;
using Stilts.Retrieval;
using Stilts.Tasks;
using Stilts.Tasks.Featurization;
using Stilts.Tokenization;
using static TorchSharp.torch;
using FeatureLabels = Stilts.Tasks.Featurization.Labels;

namespace Stilts.Pipeline;

/// <summary>How token vectors of one layer become a sentence vector.</summary>
public enum Pooling
{
    /// <summary>Mean over the attention mask, special tokens included (xtreme's default for retrieval).</summary>
    Mean,
    /// <summary>The first token's vector (&lt;s&gt; / [CLS]).</summary>
    Cls,
}

/// <summary>
/// The retrieval targets that need no fine-tuning, run straight from a checkpoint's encoder: BUCC 2018 bitext
/// mining (ratio margin, k = 4, "max" retrieval, threshold tuned on dev gold and applied to the evaluated split),
/// Tatoeba similarity search (English queries against the foreign index, top-1 accuracy), LAReQA (every question of
/// every xquad-r language against one pool of all languages' answer sentences, each encoded with its paragraph;
/// mAP@20) and Mewsli-X (mentions marked in their sentence against the candidate entities' descriptions; mAP@20 =
/// MRR@20). Sentence vectors are one hidden layer pooled over the sentence (the encoder of an mT5 folder,
/// mean-pooled); k-NN is exact cosine on libtorch (<see cref="KnnSearch"/>), so sets of any size search in GEMMs
/// rather than on the CPU loop of <see cref="BuccMining"/>.
/// </summary>
public static class RetrievalEvaluation
{
    /// <summary>Neighbourhood of the ratio margin (xtreme's bucc2018 setting).</summary>
    public const int MarginNeighbourhood = BuccMining.DefaultNeighbourhood;

    /// <summary>Whether the registry task is a retrieval target this class evaluates (bucc2018, tatoeba, lareqa, mewslix).</summary>
    public static bool Handles(string task) =>
        TaskRegistry.All.TryGetValue(task, out var d)
        && d.Kind is TaskKind.BitextMining or TaskKind.SimilaritySearch or TaskKind.QuestionRetrieval or TaskKind.EntityLinking;

    /// <summary>
    /// Layer 14 of 24 as the X-STILTs paper and jiant use; for other depths the same relative depth,
    /// round(depth * 14 / 24) with halves up (7 for 12 layers, 1 for 2).
    /// </summary>
    public static int DefaultLayer(int depth) => (depth * 14 + 12) / 24;

    /// <summary>
    /// One (N, H) float32 CPU tensor of sentence vectors: each sentence tokenized with special tokens and truncated to
    /// <paramref name="maxSeqLen"/> (at most the model's position table), encoded in length-sorted padded batches, <paramref name="layer"/>'s hidden state
    /// (0 = embeddings output, i = layer i) pooled. Rows are in input order.
    /// </summary>
    public static Tensor Embed(Encoder encoder, TextTokenizer tokenizer, IReadOnlyList<string> sentences,
        int layer, Pooling pooling, int maxSeqLen, int batchSize)
    {
        int depth = encoder.Config.NumHiddenLayers;
        if (layer < 0 || layer > depth) throw new InvalidInputException("evaluate.layer", $"must be in 0..{depth} for this {depth}-layer model, got {layer}");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize));
        // Longer inputs than the position table would index past it; truncate there instead (LAReQA's sentence +
        // paragraph texts often are that long). RoBERTa positions start after the padding index.
        var c = encoder.Config;
        maxSeqLen = Math.Min(maxSeqLen, c.Family == EncoderFamily.Roberta ? c.MaxPositionEmbeddings - c.PadTokenId - 1 : c.MaxPositionEmbeddings);
        var features = sentences.Select(s => ClassificationFeaturizer.Featurize(tokenizer, s, null, FeatureLabels.Ignore, maxSeqLen)).ToList();
        var collator = Collator.For(tokenizer);
        var device = encoder.parameters().First().device;
        int hidden = encoder.Config.HiddenSize;
        var result = new float[sentences.Count * (long)hidden];
        var order = Enumerable.Range(0, features.Count).OrderBy(i => features[i].InputIds.Length).ToArray();
        encoder.eval();
        using var noGrad = no_grad();
        for (int start = 0; start < order.Length; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var idx = order.Skip(start).Take(batchSize).ToArray();
            using var batch = collator.Classification(idx.Select(i => features[i]).ToList());
            var mask = batch.AttentionMask.to(device);
            using var output = encoder.forward(new EncoderInput(batch.InputIds.to(device), mask, batch.TokenTypeIds.to(device)) { OutputHiddenStates = true });
            var states = output.HiddenStates![layer].to_type(ScalarType.Float32);
            Tensor pooled;
            if (pooling == Pooling.Cls) pooled = states.select(1, 0);
            else
            {
                var m = mask.to_type(ScalarType.Float32).unsqueeze(-1);
                pooled = (states * m).sum(1) / m.sum(1).clamp_min(1);
            }
            var values = pooled.cpu().contiguous().data<float>().ToArray();
            for (int k = 0; k < idx.Length; k++) Array.Copy(values, (long)k * hidden, result, (long)idx[k] * hidden, hidden);
        }
        return tensor(result, [sentences.Count, hidden]);
    }

    /// <summary>
    /// mine_bitext with retrieval "max" on <see cref="KnnSearch"/>: identical sentences are mined once, candidates
    /// scored cos(x, y) / ((mean_kNN(x) + mean_kNN(y)) / 2), each side's best kept, pairs accepted greedily by
    /// descending score without reusing a sentence; only positive scores are returned, as the script's threshold 0.
    /// </summary>
    public static IReadOnlyList<MinedSentencePair> Mine(Tensor source, IReadOnlyList<string> sourceSentences,
        Tensor target, IReadOnlyList<string> targetSentences, int neighbourhood = MarginNeighbourhood)
    {
        var (xs, xRows) = Unique(sourceSentences);
        var (ys, yRows) = Unique(targetSentences);
        if (xs.Count == 0 || ys.Count == 0) return [];
        using var scope = NewDisposeScope();
        var x = source.index_select(0, tensor(xRows));
        var y = target.index_select(0, tensor(yRows));
        var fwd = KnnSearch.Search(x, y, Math.Min(neighbourhood, ys.Count));
        var bwd = KnnSearch.Search(y, x, Math.Min(neighbourhood, xs.Count));
        float[] fwdMean = MeanPerRow(fwd), bwdMean = MeanPerRow(bwd);

        // A candidate's cosine is its similarity in the k-NN list it came from; argmax keeps the first maximum.
        var candidates = new List<(int Src, int Trg, double Score)>();
        for (int i = 0; i < fwd.Queries; i++)
            candidates.Add(Best(fwd, i, fwdMean[i], bwdMean, (q, n) => (q, n)));
        for (int j = 0; j < bwd.Queries; j++)
            candidates.Add(Best(bwd, j, bwdMean[j], fwdMean, (q, n) => (n, q)));

        return BuccMining.OneToOne(candidates, xs, ys, threshold: 0);
    }

    static (int Src, int Trg, double Score) Best(KnnResult knn, int q, float queryMean, float[] otherMean, Func<int, int, (int, int)> pair)
    {
        int best = knn.Indices[q, 0];
        double bestScore = knn.Similarities[q, 0] / ((queryMean + otherMean[best]) / 2.0);
        for (int n = 1; n < knn.K; n++)
        {
            int c = knn.Indices[q, n];
            double s = knn.Similarities[q, n] / ((queryMean + otherMean[c]) / 2.0);
            if (s > bestScore) { best = c; bestScore = s; }
        }
        var (src, trg) = pair(q, best);
        return (src, trg, bestScore);
    }

    static float[] MeanPerRow(KnnResult knn)
    {
        var mean = new float[knn.Queries];
        for (int q = 0; q < knn.Queries; q++)
        {
            float s = 0;
            for (int n = 0; n < knn.K; n++) s += knn.Similarities[q, n];
            mean[q] = s / knn.K;
        }
        return mean;
    }

    // Distinct sentences in first-occurrence order, each with the row of its first occurrence (same text, same vector).
    static (List<string> Sentences, long[] Rows) Unique(IReadOnlyList<string> sentences)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var unique = new List<string>();
        var rows = new List<long>();
        for (int i = 0; i < sentences.Count; i++)
            if (seen.Add(sentences[i])) { unique.Add(sentences[i]); rows.Add(i); }
        return (unique, [.. rows]);
    }

    /// <summary>
    /// (N, D) float32 CPU vectors from an mT5 encoder: <paramref name="layer"/>'s state (HF hidden_states: 0 = the
    /// embeddings, i = the input of block i + 1, depth = the final normed output, what <see cref="T5SentenceVectors"/>
    /// pools) averaged over real tokens, &lt;/s&gt; included; texts cut to <paramref name="maxSeqLen"/> tokens.
    /// </summary>
    public static Tensor EmbedT5(T5EncoderModel encoder, TextTokenizer tokenizer, IReadOnlyList<string> sentences,
        int layer, int maxSeqLen, int batchSize)
    {
        int depth = encoder.Config.NumLayers;
        if (layer < 0 || layer > depth) throw new InvalidInputException("evaluate.layer", $"must be in 0..{depth} for this {depth}-layer mT5 encoder, got {layer}");
        if (sentences.Count == 0) return zeros(0, encoder.Config.DModel);
        encoder.eval();
        var device = encoder.parameters().First().device;
        return T5SentenceVectors.Encode((ids, mask) =>
        {
            using var output = encoder.EncodeStates(ids, mask, outputHiddenStates: layer < depth);
            var states = (layer == depth ? output.LastHiddenState : output.HiddenStates![layer]).to_type(ScalarType.Float32);
            var m = mask.to_type(ScalarType.Float32).unsqueeze(-1);
            return (states * m).sum(1) / m.sum(1).clamp_min(1);
        }, tokenizer, sentences, batchSize, maxSeqLen, device);
    }

    /// <summary>
    /// Evaluates a retrieval target on each language (the configured ones, or every language with files in the
    /// folder) from <paramref name="modelFolder"/>'s encoder (BERT/XLM-R hidden states, or an mT5 encoder's when the
    /// folder is a T5 checkpoint); writes xtreme prediction files under &lt;runDir&gt;/predictions/&lt;task&gt;/ and
    /// results.json. Scores are fractions: top-1 accuracy for Tatoeba, F1 of the extracted pairs for BUCC, mAP@20 for
    /// LAReQA and Mewsli-X (null when the evaluated split has no gold).
    /// </summary>
    public static EvaluationResult Run(EvaluationConfig eval, string dataDir, string modelFolder, string runDir,
        TextTokenizer tokenizer, DeviceChoice device, Precision precision, Action<string>? log = null)
    {
        var task = TaskRegistry.Get(eval.Task);
        if (!Handles(eval.Task)) throw new InvalidInputException("evaluate.task", $"{eval.Task} is not a retrieval target (bucc2018, tatoeba, lareqa, mewslix)");
        string folder = Path.GetFullPath(eval.Data ?? Path.Combine(dataDir, eval.Task));
        switch (task.Kind)
        {
            case TaskKind.SimilaritySearch or TaskKind.QuestionRetrieval when eval.Split != Split.Test:
                throw new InvalidInputException("evaluate.split", $"{eval.Task} has a test split only");
            case TaskKind.BitextMining or TaskKind.EntityLinking when eval.Split == Split.Train:
                throw new InvalidInputException("evaluate.split", $"{eval.Task} has no training split (dev and test only)");
        }
        string splitName = eval.Split.ToString().ToLowerInvariant();
        var languages = eval.Languages ?? task.Kind switch
        {
            TaskKind.BitextMining => FindLanguages(folder, $".{splitName}"),
            TaskKind.SimilaritySearch => FindLanguages(folder, ""),
            TaskKind.QuestionRetrieval => FilesNamed(Path.Combine(folder, "xquad-r"), "", ".json"),
            _ => FilesNamed(Path.Combine(folder, "wikinews_mentions"), $"{splitName}-", ".jsonl"),
        };
        if (languages.Length == 0)
            throw new InvalidInputException(folder, task.Kind switch
            {
                TaskKind.BitextMining => $"no <lang>-en.{splitName}.<lang> files to evaluate bucc2018 on",
                TaskKind.SimilaritySearch => "no <lang>-en.<lang> files to evaluate tatoeba on",
                TaskKind.QuestionRetrieval => "no xquad-r/<lang>.json files to evaluate lareqa on",
                _ => $"no wikinews_mentions/{splitName}-<lang>.jsonl files to evaluate mewslix on",
            });

        using var vectors = SentenceVectors.Load(modelFolder, tokenizer, eval, device, precision);
        log?.Invoke($"[evaluate] {eval.Task}: {vectors.Family} layer {vectors.Layer} of {vectors.Depth}, {eval.Pooling.ToString().ToLowerInvariant()} pooling");

        string predDir = Path.Combine(runDir, "predictions", eval.Task);
        var extras = new Dictionary<string, object>();
        var results = task.Kind switch
        {
            TaskKind.BitextMining => BuccResults(task, folder, eval.Split, languages, vectors.Embed, predDir, extras, log),
            TaskKind.SimilaritySearch => TatoebaResults(task, folder, languages, vectors.Embed, predDir),
            TaskKind.QuestionRetrieval => LaReqaResults(folder, languages, vectors.Embed, predDir, log),
            _ => MewsliXResults(folder, eval.Split, languages, vectors.Embed, predDir, log),
        };

        string metric = task.Kind switch { TaskKind.BitextMining => "f1", TaskKind.SimilaritySearch => "accuracy", _ => "map@20" };
        var evaluation = new EvaluationResult(eval.Task, metric, results);
        AtomicFile.WriteAllText(Path.Combine(runDir, "results.json"), JsonSerializer.Serialize(new
        {
            task = eval.Task,
            metric = evaluation.Metric,
            model_family = vectors.Family.ToString().ToLowerInvariant(),
            layer = vectors.Layer,
            pooling = eval.Pooling.ToString().ToLowerInvariant(),
            languages = results.ToDictionary(r => r.Language, r => new { score = r.Score, examples = r.Examples, bucc = extras.GetValueOrDefault(r.Language) }),
            average = evaluation.Average,
        }, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull }));
        return evaluation;
    }

    static List<LanguageResult> BuccResults(TaskDefinition task, string folder, Split split, string[] languages,
        Func<IReadOnlyList<string>, Tensor> vectors, string predDir, Dictionary<string, object> extras, Action<string>? log)
    {
        var results = new List<LanguageResult>();
        string splitName = split.ToString().ToLowerInvariant();
        foreach (string lang in languages)
        {
            string predPath = Path.Combine(predDir, $"{splitName}-{lang}.tsv");
            var dev = (BitextMiningData)task.ReadRetrieval(folder, Split.Dev, lang);
            if (dev.Gold == null) throw new InvalidInputException(Path.Combine(folder, $"{lang}-en.dev.gold"), "BUCC needs the dev gold pairs to choose the score threshold");
            var devCandidates = Candidates(dev, vectors);
            var evaluated = split == Split.Dev ? dev : (BitextMiningData)task.ReadRetrieval(folder, split, lang);
            var candidates = split == Split.Dev ? devCandidates : Candidates(evaluated, vectors);
            var tuned = Metrics.Bucc.TuneAndApply(devCandidates, dev.Gold.Select(g => new IdPair(g.SourceId, g.TargetId)), candidates);
            AtomicFile.WriteAllText(predPath, string.Concat(tuned.TestPredictions.Select(p => $"{p.Source}\t{p.Target}\n")));
            double? score = evaluated.Gold == null ? null
                : Metrics.Bucc.Score(evaluated.Gold.Select(g => new IdPair(g.SourceId, g.TargetId)), tuned.TestPredictions).F1 / 100;
            extras[lang] = new { threshold = tuned.Threshold, dev_f1 = tuned.Dev.F1 / 100 };
            log?.Invoke($"[evaluate] bucc2018 {lang}: threshold {tuned.Threshold:F4}, dev F1 {tuned.Dev.F1:F2}, {tuned.TestPredictions.Count} pairs");
            results.Add(new LanguageResult(lang, score, evaluated.Source.Count, predPath));
        }
        return results;
    }

    static List<LanguageResult> TatoebaResults(TaskDefinition task, string folder, string[] languages,
        Func<IReadOnlyList<string>, Tensor> vectors, string predDir)
    {
        var results = new List<LanguageResult>();
        foreach (string lang in languages)
        {
            string predPath = Path.Combine(predDir, $"test-{lang}.tsv");
            var data = (SimilaritySearchData)task.ReadRetrieval(folder, Split.Test, lang);
            int[] predicted;
            using (var index = vectors(data.Source))
            using (var queries = vectors(data.Target))
            {
                var knn = KnnSearch.Search(queries, index, 1);
                predicted = [.. Enumerable.Range(0, knn.Queries).Select(q => knn.Indices[q, 0])];
            }
            AtomicFile.WriteAllText(predPath, string.Concat(predicted.Select(p => $"{p}\n")));
            double? score = data.Gold == null ? null : Metrics.Tatoeba.Score(data.Gold, predicted).Accuracy / 100;
            results.Add(new LanguageResult(lang, score, data.Target.Count, predPath));
        }
        return results;
    }

    /// <summary>The text a LAReQA candidate is encoded from: its sentence followed directly by its paragraph, line
    /// breaks removed (xtreme evaluate_retrieval.py's "sentences_and_contexts" encoding).</summary>
    public static string LaReqaCandidateText(CandidateSentence candidate) => (candidate.Text + candidate.Context).Replace("\n", "");

    // Every xquad-r/<lang>.json of the folder forms the one candidate pool (as xtreme loads the whole folder); the
    // evaluated languages' questions rank it, each scored against its answer sentence in every language.
    static List<LanguageResult> LaReqaResults(string folder, string[] languages, Func<IReadOnlyList<string>, Tensor> vectors,
        string predDir, Action<string>? log)
    {
        string dir = Path.Combine(folder, "xquad-r");
        foreach (string lang in languages)
            if (!File.Exists(Path.Combine(dir, $"{lang}.json"))) throw new InvalidInputException(Path.Combine(dir, $"{lang}.json"), "file not found");
        var report = new ReadReport();
        var perLanguage = LaReqa.Combine([.. FilesNamed(dir, "", ".json").Select(l => LaReqa.ReadFile(Path.Combine(dir, $"{l}.json"), l, report))]);
        if (report.Skipped > 0) log?.Invoke($"[evaluate] lareqa: skipped {report.Skipped} questions whose answer is in no sentence");
        var pool = perLanguage[0].Candidates;
        if (pool.Count == 0) throw new InvalidInputException(dir, "the xquad-r files hold no candidate sentences");
        using var index = vectors([.. pool.Select(LaReqaCandidateText)]);
        log?.Invoke($"[evaluate] lareqa: {pool.Count} candidate sentences in {perLanguage.Count} languages");

        var results = new List<LanguageResult>();
        foreach (string lang in languages)
        {
            var data = perLanguage.Single(d => d.Language == lang);
            var ranked = Rank(vectors, [.. data.Questions.Select(q => q.Question)], index, pool.Select(c => c.Id).ToArray());
            var predictions = data.Questions.Select((q, i) => (q.Id, ranked[i])).ToList();
            string predPath = Path.Combine(predDir, $"test-{lang}.json");
            WriteIdLists(predPath, predictions);
            double? score = data.Questions.Count == 0 ? null : MeanAveragePrecision.MeanAtK(
                data.Questions.Select(q => new KeyValuePair<string, IReadOnlyList<string>>(q.Id, q.GoldSentenceIds)),
                predictions.ToDictionary(p => p.Id, p => (IReadOnlyList<string>)p.Item2)).Value / 100;
            results.Add(new LanguageResult(lang, score, data.Questions.Count, predPath));
        }
        return results;
    }

    // Candidate entities are encoded once; each language's mentions (xtreme's query markup) rank them.
    static List<LanguageResult> MewsliXResults(string folder, Split split, string[] languages, Func<IReadOnlyList<string>, Tensor> vectors,
        string predDir, Action<string>? log)
    {
        string splitName = split.ToString().ToLowerInvariant();
        string candidatesPath = Path.Combine(folder, "candidate_set_entities.jsonl");
        if (!File.Exists(candidatesPath)) throw new InvalidInputException(candidatesPath, "file not found (the Mewsli-X candidate entities)");
        var entities = MewsliX.ReadCandidateTexts(candidatesPath).ToList();
        if (entities.Count == 0) throw new InvalidInputException(candidatesPath, "holds no candidate entities");
        using var index = vectors([.. entities.Select(e => e.Text)]);
        log?.Invoke($"[evaluate] mewslix: {entities.Count} candidate entities");

        var results = new List<LanguageResult>();
        foreach (string lang in languages)
        {
            string path = Path.Combine(folder, "wikinews_mentions", $"{splitName}-{lang}.jsonl");
            if (!File.Exists(path)) throw new InvalidInputException(path, "file not found");
            var mentions = MewsliX.ReadMentions(path, lang).ToList();
            var sentences = MewsliX.ReadMentionSentences(path, lang);
            var queries = mentions.Select(m => MewsliX.MentionQuery(m, sentences.TryGetValue(m.ExampleId, out var s) ? s : null)).ToList();
            var ranked = Rank(vectors, queries, index, entities.Select(e => e.EntityId).ToArray());
            var predictions = mentions.Select((m, i) => (m.ExampleId, ranked[i])).ToList();
            string predPath = Path.Combine(predDir, $"{splitName}-{lang}.json");
            WriteIdLists(predPath, predictions);
            var gold = mentions.Where(m => m.GoldEntityId != null)
                .Select(m => new KeyValuePair<string, IReadOnlyList<string>>(m.ExampleId, [m.GoldEntityId!])).ToList();
            double? score = gold.Count == 0 ? null : MeanAveragePrecision.ReciprocalRankAtK(gold,
                predictions.ToDictionary(p => p.ExampleId, p => (IReadOnlyList<string>)p.Item2)).Value / 100;
            results.Add(new LanguageResult(lang, score, mentions.Count, predPath));
        }
        return results;
    }

    // The top MeanAveragePrecision.DefaultK ids of the index for each query text, best first.
    static string[][] Rank(Func<IReadOnlyList<string>, Tensor> vectors, IReadOnlyList<string> queries, Tensor index, string[] ids)
    {
        if (queries.Count == 0) return [];
        using var q = vectors(queries);
        var knn = KnnSearch.Search(q, index, MeanAveragePrecision.DefaultK);
        return [.. Enumerable.Range(0, knn.Queries).Select(i => Enumerable.Range(0, knn.K).Select(j => ids[knn.Indices[i, j]]).ToArray())];
    }

    // {id: [ids]}, the format `stilts score` (and xtreme's Mewsli-X evaluation) reads.
    static void WriteIdLists(string path, IEnumerable<(string Id, string[] Ranked)> lists)
    {
        var map = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (id, ranked) in lists) map[id] = ranked;
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(map, new JsonSerializerOptions
        {
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }) + "\n");
    }

    /// <summary>Sentence vectors from whichever encoder the checkpoint holds, at the configured layer.</summary>
    sealed class SentenceVectors : IDisposable
    {
        readonly Encoder? encoder;
        readonly T5EncoderModel? t5;
        readonly TextTokenizer tokenizer;
        readonly EvaluationConfig eval;

        public ModelFamily Family { get; }
        public int Depth { get; }
        public int Layer { get; }

        SentenceVectors(Encoder? encoder, T5EncoderModel? t5, TextTokenizer tokenizer, EvaluationConfig eval, ModelFamily family, int depth, int layer)
        {
            (this.encoder, this.t5, this.tokenizer, this.eval, Family, Depth, Layer) = (encoder, t5, tokenizer, eval, family, depth, layer);
        }

        // BERT/XLM-R default to layer round(depth * 14 / 24); mT5 to its final normed states, the mean-pooled vector of
        // T5SentenceVectors (an encoder-decoder's encoder output is what its decoder reads).
        public static SentenceVectors Load(string folder, TextTokenizer tokenizer, EvaluationConfig eval, DeviceChoice device, Precision precision)
        {
            var family = Pretrained.FamilyOf(folder);
            if (family == ModelFamily.T5)
            {
                if (eval.Pooling != Pooling.Mean)
                    throw new InvalidInputException("evaluate.pooling", $"{eval.Pooling.ToString().ToLowerInvariant()} pooling needs a [CLS] token; mT5 has none, use mean");
                var t5 = T5EncoderModel.FromPretrained(folder).Place(device, precision);
                int depth = t5.Config.NumLayers;
                return new SentenceVectors(null, t5, tokenizer, eval, family, depth, eval.Layer ?? depth);
            }
            var (encoder, _) = Pretrained.LoadEncoder(folder, device, precision);
            int layers = encoder.Config.NumHiddenLayers;
            return new SentenceVectors(encoder, null, tokenizer, eval, family, layers, eval.Layer ?? DefaultLayer(layers));
        }

        public Tensor Embed(IReadOnlyList<string> sentences) => t5 != null
            ? EmbedT5(t5, tokenizer, sentences, Layer, eval.MaxSeqLen, eval.BatchSize)
            : RetrievalEvaluation.Embed(encoder!, tokenizer, sentences, Layer, eval.Pooling, eval.MaxSeqLen, eval.BatchSize);

        public void Dispose()
        {
            encoder?.Dispose();
            t5?.Dispose();
        }
    }

    static IReadOnlyList<ScoredPair> Candidates(BitextMiningData data, Func<IReadOnlyList<string>, Tensor> vectors)
    {
        var srcText = data.Source.Select(s => s.Text).ToList();
        var trgText = data.Target.Select(s => s.Text).ToList();
        using var x = vectors(srcText);
        using var y = vectors(trgText);
        var mined = Mine(x, srcText, y, trgText);
        return Metrics.Bucc.AttachIds(mined, data.Source.Select(s => s.Id).ToList(), srcText, data.Target.Select(s => s.Id).ToList(), trgText);
    }

    // <prefix><lang><extension> files of a folder (LAReQA xquad-r/<lang>.json, Mewsli-X <split>-<lang>.jsonl).
    static string[] FilesNamed(string folder, string prefix, string extension) => !Directory.Exists(folder) ? []
        : Directory.GetFiles(folder, $"{prefix}*{extension}").Select(f => Path.GetFileName(f)[prefix.Length..^extension.Length])
            .Where(l => l.Length > 0).Order(StringComparer.Ordinal).ToArray();

    // Tatoeba: {lang}-en.{lang}; BUCC: {lang}-en.{split}.{lang}.
    static string[] FindLanguages(string folder, string split) => !Directory.Exists(folder) ? []
        : Directory.GetFiles(folder, $"*-en{split}.*").Select(Path.GetFileName)
            .Select(name => (Lang: name![..name!.IndexOf("-en.", StringComparison.Ordinal)], Suffix: name[(name.IndexOf("-en.", StringComparison.Ordinal) + 3 + split.Length)..]))
            .Where(f => f.Suffix == "." + f.Lang && f.Lang != "en")
            .Select(f => f.Lang).Distinct().Order(StringComparer.Ordinal).ToArray();
}
