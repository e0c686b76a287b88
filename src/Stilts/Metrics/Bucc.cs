namespace Stilts.Metrics;

/// <summary>A (source id, English id) pair, e.g. ("de-000413461", "en-000091985").</summary>
public readonly record struct IdPair(string Source, string Target);

/// <summary>A candidate pair with its margin score.</summary>
public readonly record struct ScoredPair(IdPair Pair, double Score);

/// <summary>A mined sentence pair before ids are attached, as utils_retrieve.mine_bitext writes it.</summary>
public readonly record struct MinedSentencePair(string Source, string Target, double Score);

/// <summary>Pair-set scores in percent.</summary>
public sealed record PairScore(double F1, double Precision, double Recall, int Correct, int Predicted, int Gold);

/// <summary>Result of tuning the threshold on dev gold and applying it to test candidates.</summary>
public sealed record BuccResult(double Threshold, PairScore Dev, IReadOnlyList<IdPair> TestPredictions);

/// <summary>
/// BUCC 2018 bitext mining scoring (xtreme evaluate.py bucc_f1 and third_party/utils_retrieve.py): F1 over sets of
/// id pairs; the score threshold is chosen to maximise F1 on dev (sample) gold and then applied unchanged to test.
/// </summary>
public static class Bucc
{
    /// <summary>F1/precision/recall of predicted pairs against gold, both taken as sets; all 0 when nothing is correct.</summary>
    public static PairScore Score(IEnumerable<IdPair> gold, IEnumerable<IdPair> predicted)
    {
        var goldSet = new HashSet<IdPair>(gold);
        var predSet = new HashSet<IdPair>(predicted);
        int correct = goldSet.Count(predSet.Contains);
        if (correct == 0) return new PairScore(0, 0, 0, 0, predSet.Count, goldSet.Count);
        double precision = (double)correct / predSet.Count;
        double recall = (double)correct / goldSet.Count;
        double f1 = 2 * precision * recall / (precision + recall);
        return new PairScore(f1 * 100, precision * 100, recall * 100, correct, predSet.Count, goldSet.Count);
    }

    /// <summary>
    /// bucc_optimize: walk candidates by descending score (ties keep input order); at each strict F1 improvement set
    /// the threshold halfway between this score and the next one. Starts at threshold 0 and F1 0. When the best F1
    /// is reached at the very last candidate the script indexes past the end; we use that last score instead, which
    /// keeps every candidate (extraction is score ≥ threshold).
    /// </summary>
    public static double OptimizeThreshold(IReadOnlyList<ScoredPair> candidates, IReadOnlySet<IdPair> gold)
    {
        var items = candidates.OrderByDescending(c => c.Score).ToList(); // LINQ ordering is stable
        int extracted = 0, correct = 0;
        double threshold = 0, bestF1 = 0;
        for (int i = 0; i < items.Count; i++)
        {
            extracted++;
            if (gold.Contains(items[i].Pair)) correct++;
            if (correct == 0) continue;
            double precision = (double)correct / extracted;
            double recall = (double)correct / gold.Count;
            double f1 = 2 * precision * recall / (precision + recall);
            if (f1 > bestF1)
            {
                bestF1 = f1;
                threshold = i + 1 < items.Count ? (items[i].Score + items[i + 1].Score) / 2 : items[i].Score;
            }
        }
        return threshold;
    }

    /// <summary>bucc_extract: candidates scoring at least the threshold, in candidate order.</summary>
    public static IReadOnlyList<IdPair> Extract(IEnumerable<ScoredPair> candidates, double threshold) =>
        candidates.Where(c => c.Score >= threshold).Select(c => c.Pair).ToList();

    /// <summary>Choose the threshold on dev candidates + dev gold, report the dev score at it, and extract test pairs.</summary>
    public static BuccResult TuneAndApply(IReadOnlyList<ScoredPair> devCandidates, IEnumerable<IdPair> devGold,
        IReadOnlyList<ScoredPair> testCandidates)
    {
        var gold = new HashSet<IdPair>(devGold);
        double threshold = OptimizeThreshold(devCandidates, gold);
        var dev = Score(gold, Extract(devCandidates, threshold));
        return new BuccResult(threshold, dev, Extract(testCandidates, threshold));
    }

    /// <summary>
    /// read_candidate2score: map mined sentence texts back to ids. Texts are compared after str.strip(); a text that
    /// occurs more than once on its side is ambiguous and its candidates are dropped. A pair mined twice keeps its
    /// highest score and its first position.
    /// </summary>
    public static IReadOnlyList<ScoredPair> AttachIds(IEnumerable<MinedSentencePair> mined,
        IReadOnlyList<string> sourceIds, IReadOnlyList<string> sourceSentences,
        IReadOnlyList<string> targetIds, IReadOnlyList<string> targetSentences)
    {
        var src = SentenceToId(sourceIds, sourceSentences);
        var trg = SentenceToId(targetIds, targetSentences);
        var scores = new Dictionary<IdPair, double>();
        foreach (var m in mined)
        {
            if (!src.TryGetValue(PythonText.Strip(m.Source), out string? s) || !trg.TryGetValue(PythonText.Strip(m.Target), out string? t))
                continue;
            var pair = new IdPair(s, t);
            scores[pair] = scores.TryGetValue(pair, out double old) ? Math.Max(m.Score, old) : m.Score;
        }
        return scores.Select(kv => new ScoredPair(kv.Key, kv.Value)).ToList();
    }

    static Dictionary<string, string> SentenceToId(IReadOnlyList<string> ids, IReadOnlyList<string> sentences)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var repeated = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Math.Min(ids.Count, sentences.Count); i++)
        {
            string sentence = PythonText.Strip(sentences[i]);
            if (!map.TryAdd(sentence, PythonText.Strip(ids[i]))) repeated.Add(sentence);
        }
        foreach (string r in repeated) map.Remove(r);
        return map;
    }
}

/// <summary>
/// The mining half of utils_retrieve.mine_bitext (cosine, ratio margin, retrieval "max") on plain float arrays:
/// identical sentences are embedded once, embeddings are L2-normalised, k nearest neighbours are found in both
/// directions, candidates are scored cos(x, y) / ((mean_kNN(x) + mean_kNN(y)) / 2), each side's best candidate is
/// taken, and pairs are accepted greedily by descending score without reusing a source or target sentence.
/// Arithmetic is float32 as in faiss/numpy; inner products are summed sequentially, so scores can differ from faiss in
/// the last bits.
/// </summary>
public static class BuccMining
{
    public const int DefaultNeighbourhood = 4;

    public static IReadOnlyList<MinedSentencePair> Mine(float[][] source, IReadOnlyList<string> sourceSentences,
        float[][] target, IReadOnlyList<string> targetSentences, int neighbourhood = DefaultNeighbourhood, double threshold = 0)
    {
        if (source.Length != sourceSentences.Count || target.Length != targetSentences.Count)
            throw new ArgumentException("one embedding per sentence is required on each side");
        var (x, xs) = Unify(source, sourceSentences);
        var (y, ys) = Unify(target, targetSentences);
        if (x.Length == 0 || y.Length == 0) return [];

        var (fwdSim, fwdInd) = Knn(x, y, Math.Min(y.Length, neighbourhood));
        var (bwdSim, bwdInd) = Knn(y, x, Math.Min(x.Length, neighbourhood));
        float[] fwdMean = Array.ConvertAll(fwdSim, Mean);
        float[] bwdMean = Array.ConvertAll(bwdSim, Mean);

        // Each side's best candidate under the margin score; argmax keeps the first maximum.
        var candidates = new List<(int Src, int Trg, double Score)>();
        for (int i = 0; i < x.Length; i++)
        {
            var (j, s) = Best(fwdInd[i], k => Margin(x[i], y[k], fwdMean[i], bwdMean[k]));
            candidates.Add((i, j, s));
        }
        for (int j = 0; j < y.Length; j++)
        {
            var (i, s) = Best(bwdInd[j], k => Margin(y[j], x[k], bwdMean[j], fwdMean[k]));
            candidates.Add((i, j, s));
        }

        return OneToOne(candidates, xs, ys, threshold);
    }

    /// <summary>
    /// Both directions' best candidates to pairs: by descending score, each source and target sentence used once,
    /// pairs scoring above <paramref name="threshold"/> kept (the "max" retrieval of xtreme's bucc mining).
    /// </summary>
    internal static List<MinedSentencePair> OneToOne(IEnumerable<(int Src, int Trg, double Score)> candidates,
        IReadOnlyList<string> xs, IReadOnlyList<string> ys, double threshold)
    {
        var result = new List<MinedSentencePair>();
        var seenSrc = new HashSet<int>();
        var seenTrg = new HashSet<int>();
        foreach (var c in candidates.OrderByDescending(c => c.Score))
        {
            if (seenSrc.Contains(c.Src) || seenTrg.Contains(c.Trg)) continue;
            seenSrc.Add(c.Src);
            seenTrg.Add(c.Trg);
            if (c.Score > threshold) result.Add(new MinedSentencePair(xs[c.Src], ys[c.Trg], c.Score));
        }
        return result;
    }

    // One row per distinct sentence (first occurrence order); like the script, the row kept is the last occurrence's.
    static (float[][] Rows, List<string> Sentences) Unify(float[][] emb, IReadOnlyList<string> sentences)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var unique = new List<string>();
        var rows = new List<float[]>();
        for (int i = 0; i < sentences.Count; i++)
        {
            if (index.TryGetValue(sentences[i], out int u)) { rows[u] = emb[i]; continue; }
            index[sentences[i]] = unique.Count;
            unique.Add(sentences[i]);
            rows.Add(emb[i]);
        }
        return ([.. rows.Select(Normalize)], unique);
    }

    static float[] Normalize(float[] v)
    {
        float sq = 0;
        foreach (float a in v) sq += a * a;
        float norm = MathF.Sqrt(sq);
        return norm > 0 ? Array.ConvertAll(v, a => a / norm) : (float[])v.Clone();
    }

    static float Dot(float[] a, float[] b)
    {
        if (a.Length != b.Length) throw new ArgumentException("embeddings differ in dimension");
        float s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    static float Mean(float[] v)
    {
        float s = 0;
        foreach (float a in v) s += a;
        return s / v.Length;
    }

    static double Margin(float[] a, float[] b, float meanA, float meanB) => Dot(a, b) / ((meanA + meanB) / 2);

    static (int Index, double Score) Best(int[] neighbours, Func<int, double> score)
    {
        int best = neighbours[0];
        double bestScore = score(best);
        for (int n = 1; n < neighbours.Length; n++)
        {
            double s = score(neighbours[n]);
            if (s > bestScore) { best = neighbours[n]; bestScore = s; }
        }
        return (best, bestScore);
    }

    // Exact inner-product k-NN (faiss IndexFlatIP): neighbours by descending similarity, ties to the lower index.
    // A running top-k per query (insertion into k slots) instead of sorting every row.
    static (float[][] Sims, int[][] Indices) Knn(float[][] queries, float[][] database, int k)
    {
        var sims = new float[queries.Length][];
        var inds = new int[queries.Length][];
        for (int q = 0; q < queries.Length; q++)
        {
            float[] topSim = new float[k];
            int[] topInd = new int[k];
            int filled = 0;
            for (int i = 0; i < database.Length; i++)
            {
                float s = Dot(queries[q], database[i]);
                if (filled == k && s <= topSim[k - 1]) continue;
                int at = filled < k ? filled++ : k - 1;
                while (at > 0 && topSim[at - 1] < s) { topSim[at] = topSim[at - 1]; topInd[at] = topInd[at - 1]; at--; }
                topSim[at] = s;
                topInd[at] = i;
            }
            sims[q] = topSim;
            inds[q] = topInd;
        }
        return (sims, inds);
    }
}
