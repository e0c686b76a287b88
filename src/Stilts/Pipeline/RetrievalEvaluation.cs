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
/// mining (ratio margin, k = 4, "max" retrieval, threshold tuned on dev gold and applied to the evaluated split) and
/// Tatoeba similarity search (English queries against the foreign index, top-1 accuracy). Sentence vectors are one
/// hidden layer pooled over the sentence; k-NN is exact cosine on libtorch (<see cref="KnnSearch"/>), so sets of
/// any size mine in GEMMs rather than on the CPU loop of <see cref="BuccMining"/>.
/// </summary>
public static class RetrievalEvaluation
{
    /// <summary>Neighbourhood of the ratio margin (xtreme's bucc2018 setting).</summary>
    public const int MarginNeighbourhood = BuccMining.DefaultNeighbourhood;

    /// <summary>Whether the registry task is a retrieval target this class evaluates (bucc2018, tatoeba).</summary>
    public static bool Handles(string task) =>
        TaskRegistry.All.TryGetValue(task, out var d) && d.Kind is TaskKind.BitextMining or TaskKind.SimilaritySearch;

    /// <summary>
    /// Layer 14 of 24 as the X-STILTs paper and jiant use; for other depths the same relative depth,
    /// round(depth * 14 / 24) with halves up (7 for 12 layers, 1 for 2).
    /// </summary>
    public static int DefaultLayer(int depth) => (depth * 14 + 12) / 24;

    /// <summary>
    /// One (N, H) float32 CPU tensor of sentence vectors: each sentence tokenized with special tokens and truncated to
    /// <paramref name="maxSeqLen"/>, encoded in length-sorted padded batches, <paramref name="layer"/>'s hidden state
    /// (0 = embeddings output, i = layer i) pooled. Rows are in input order.
    /// </summary>
    public static Tensor Embed(Encoder encoder, TextTokenizer tokenizer, IReadOnlyList<string> sentences,
        int layer, Pooling pooling, int maxSeqLen, int batchSize)
    {
        int depth = encoder.Config.NumHiddenLayers;
        if (layer < 0 || layer > depth) throw new InvalidInputException("evaluate.layer", $"must be in 0..{depth} for this {depth}-layer model, got {layer}");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize));
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

        var result = new List<MinedSentencePair>();
        var seenSrc = new HashSet<int>();
        var seenTrg = new HashSet<int>();
        foreach (var c in candidates.OrderByDescending(c => c.Score))
        {
            if (seenSrc.Contains(c.Src) || seenTrg.Contains(c.Trg)) continue;
            seenSrc.Add(c.Src);
            seenTrg.Add(c.Trg);
            if (c.Score > 0) result.Add(new MinedSentencePair(xs[c.Src], ys[c.Trg], c.Score));
        }
        return result;
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
    /// Evaluates a retrieval target on each language (the configured ones, or every language with files in the
    /// folder) from <paramref name="modelFolder"/>'s encoder; writes xtreme prediction files under
    /// &lt;runDir&gt;/predictions/&lt;task&gt;/ and results.json. Scores are fractions: top-1 accuracy for Tatoeba,
    /// F1 of the extracted pairs for BUCC (null when the evaluated split has no gold).
    /// </summary>
    public static EvaluationResult Run(EvaluationConfig eval, string dataDir, string modelFolder, string runDir,
        TextTokenizer tokenizer, DeviceChoice device, Precision precision, Action<string>? log = null)
    {
        var task = TaskRegistry.Get(eval.Task);
        if (!Handles(eval.Task)) throw new InvalidInputException("evaluate.task", $"{eval.Task} is not a retrieval target (bucc2018, tatoeba)");
        string folder = Path.GetFullPath(eval.Data ?? Path.Combine(dataDir, eval.Task));
        bool bucc = task.Kind == TaskKind.BitextMining;
        if (!bucc && eval.Split != Split.Test) throw new InvalidInputException("evaluate.split", "Tatoeba has a test split only");
        if (bucc && eval.Split == Split.Train) throw new InvalidInputException("evaluate.split", "BUCC has no training split (dev and test only)");
        string splitName = eval.Split.ToString().ToLowerInvariant();
        var languages = eval.Languages ?? FindLanguages(folder, bucc ? $".{splitName}" : "");
        if (languages.Length == 0)
            throw new InvalidInputException(folder, bucc ? $"no <lang>-en.{splitName}.<lang> files to evaluate bucc2018 on" : "no <lang>-en.<lang> files to evaluate tatoeba on");

        var (encoder, _) = Pretrained.LoadEncoder(modelFolder, device, precision);
        int layer = eval.Layer ?? DefaultLayer(encoder.Config.NumHiddenLayers);
        log?.Invoke($"[evaluate] {eval.Task}: layer {layer} of {encoder.Config.NumHiddenLayers}, {eval.Pooling.ToString().ToLowerInvariant()} pooling");
        Tensor Vectors(IReadOnlyList<string> sentences) => Embed(encoder, tokenizer, sentences, layer, eval.Pooling, eval.MaxSeqLen, eval.BatchSize);

        string predDir = Path.Combine(runDir, "predictions", eval.Task);
        var results = new List<LanguageResult>();
        var extras = new Dictionary<string, object>();
        try
        {
            foreach (string lang in languages)
            {
                string predPath = Path.Combine(predDir, $"{splitName}-{lang}.tsv");
                if (bucc)
                {
                    var dev = (BitextMiningData)task.ReadRetrieval(folder, Split.Dev, lang);
                    if (dev.Gold == null) throw new InvalidInputException(Path.Combine(folder, $"{lang}-en.dev.gold"), "BUCC needs the dev gold pairs to choose the score threshold");
                    var devCandidates = Candidates(dev, Vectors);
                    var evaluated = eval.Split == Split.Dev ? dev : (BitextMiningData)task.ReadRetrieval(folder, eval.Split, lang);
                    var candidates = eval.Split == Split.Dev ? devCandidates : Candidates(evaluated, Vectors);
                    var tuned = Metrics.Bucc.TuneAndApply(devCandidates, dev.Gold.Select(g => new IdPair(g.SourceId, g.TargetId)), candidates);
                    AtomicFile.WriteAllText(predPath, string.Concat(tuned.TestPredictions.Select(p => $"{p.Source}\t{p.Target}\n")));
                    double? score = evaluated.Gold == null ? null
                        : Metrics.Bucc.Score(evaluated.Gold.Select(g => new IdPair(g.SourceId, g.TargetId)), tuned.TestPredictions).F1 / 100;
                    extras[lang] = new { threshold = tuned.Threshold, dev_f1 = tuned.Dev.F1 / 100 };
                    log?.Invoke($"[evaluate] bucc2018 {lang}: threshold {tuned.Threshold:F4}, dev F1 {tuned.Dev.F1:F2}, {tuned.TestPredictions.Count} pairs");
                    results.Add(new LanguageResult(lang, score, evaluated.Source.Count, predPath));
                }
                else
                {
                    var data = (SimilaritySearchData)task.ReadRetrieval(folder, Split.Test, lang);
                    int[] predicted;
                    using (var index = Vectors(data.Source))
                    using (var queries = Vectors(data.Target))
                    {
                        var knn = KnnSearch.Search(queries, index, 1);
                        predicted = [.. Enumerable.Range(0, knn.Queries).Select(q => knn.Indices[q, 0])];
                    }
                    AtomicFile.WriteAllText(predPath, string.Concat(predicted.Select(p => $"{p}\n")));
                    double? score = data.Gold == null ? null : Metrics.Tatoeba.Score(data.Gold, predicted).Accuracy / 100;
                    results.Add(new LanguageResult(lang, score, data.Target.Count, predPath));
                }
            }
        }
        finally { encoder.Dispose(); }

        var evaluation = new EvaluationResult(eval.Task, bucc ? "f1" : "accuracy", results);
        AtomicFile.WriteAllText(Path.Combine(runDir, "results.json"), JsonSerializer.Serialize(new
        {
            task = eval.Task,
            metric = evaluation.Metric,
            layer,
            pooling = eval.Pooling.ToString().ToLowerInvariant(),
            languages = results.ToDictionary(r => r.Language, r => new { score = r.Score, examples = r.Examples, bucc = extras.GetValueOrDefault(r.Language) }),
            average = evaluation.Average,
        }, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull }));
        return evaluation;
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

    // Tatoeba: {lang}-en.{lang}; BUCC: {lang}-en.{split}.{lang}.
    static string[] FindLanguages(string folder, string split) => !Directory.Exists(folder) ? []
        : Directory.GetFiles(folder, $"*-en{split}.*").Select(Path.GetFileName)
            .Select(name => (Lang: name![..name!.IndexOf("-en.", StringComparison.Ordinal)], Suffix: name[(name.IndexOf("-en.", StringComparison.Ordinal) + 3 + split.Length)..]))
            .Where(f => f.Suffix == "." + f.Lang && f.Lang != "en")
            .Select(f => f.Lang).Distinct().Order(StringComparer.Ordinal).ToArray();
}
