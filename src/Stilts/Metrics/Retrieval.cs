namespace Stilts.Metrics;

/// <summary>A ranking metric value in percent over <see cref="Count"/> queries.</summary>
public sealed record RankingScore(double Value, int Count);

/// <summary>
/// Tatoeba retrieval (xtreme evaluate_retrieval.py similarity_search): English sentences are the queries, the
/// foreign sentences the index; after L2 normalisation each English line gets the index of its nearest foreign
/// sentence. Accuracy is then top-1 against the gold index per English line.
/// </summary>
public static class Tatoeba
{
    /// <summary>For each English row, the index of the most similar foreign row (cosine; ties to the lower index).</summary>
    public static int[] Search(float[][] foreign, float[][] english)
    {
        float[][] x = Array.ConvertAll(foreign, Normalize);
        var result = new int[english.Length];
        for (int q = 0; q < english.Length; q++)
        {
            float[] y = Normalize(english[q]);
            int best = -1;
            float bestSim = float.NegativeInfinity;
            for (int i = 0; i < x.Length; i++)
            {
                if (x[i].Length != y.Length) throw new ArgumentException("embeddings differ in dimension");
                float s = 0;
                for (int d = 0; d < y.Length; d++) s += x[i][d] * y[d];
                if (s > bestSim) { bestSim = s; best = i; }
            }
            result[q] = best;
        }
        return result;
    }

    /// <summary>Top-1 accuracy in percent: predicted foreign index per English line against gold.</summary>
    public static AccuracyScore Score(IReadOnlyList<int> gold, IReadOnlyList<int> predicted) => Accuracy.Compute(gold, predicted);

    static float[] Normalize(float[] v)
    {
        float sq = 0;
        foreach (float a in v) sq += a * a;
        float norm = MathF.Sqrt(sq);
        return norm > 0 ? Array.ConvertAll(v, a => a / norm) : v;
    }
}

/// <summary>
/// mAP@k as third_party/utils_lareqa.py computes it (LAReQA, k = 20, several gold answers per question) and its
/// one-gold special case, MRR@k (Mewsli-X, utils_mewslix.py).
/// </summary>
public static class MeanAveragePrecision
{
    public const int DefaultK = 20;

    /// <summary>
    /// AP@k: over the top k predictions, each first occurrence of a gold item at rank r adds hits/r; the sum is
    /// divided by min(#gold, k). Repeated predictions count once. k ≤ 0 means no cut-off.
    /// </summary>
    public static double AveragePrecisionAtK<T>(IReadOnlyCollection<T> gold, IReadOnlyList<T> ranked, int k = DefaultK)
    {
        var golds = gold as IReadOnlySet<T> ?? new HashSet<T>(gold);
        if (golds.Count == 0) throw new ArgumentException("no gold items", nameof(gold));
        int n = k > 0 ? Math.Min(k, ranked.Count) : ranked.Count;
        var seen = new HashSet<T>();
        double score = 0, hits = 0;
        for (int i = 0; i < n; i++)
        {
            bool first = seen.Add(ranked[i]);
            if (first && golds.Contains(ranked[i]))
            {
                hits += 1.0;
                score += hits / (i + 1.0);
            }
        }
        int divisor = k > 0 ? Math.Min(golds.Count, k) : golds.Count;
        return score / divisor;
    }

    /// <summary>
    /// Mean AP@k in percent over the gold queries (in gold order); a query without predictions scores 0.
    /// </summary>
    public static RankingScore MeanAtK(IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> gold,
        IReadOnlyDictionary<string, IReadOnlyList<string>> predictions, int k = DefaultK)
    {
        double sum = 0;
        int count = 0;
        foreach (var (id, golds) in gold)
        {
            sum += AveragePrecisionAtK(golds, predictions.GetValueOrDefault(id) ?? [], k);
            count++;
        }
        if (count == 0) throw new ArgumentException("no gold queries", nameof(gold));
        return new RankingScore(sum / count * 100, count);
    }

    /// <summary>
    /// Mewsli-X map@k = MRR@k: each query's gold is its first listed entity (stripped); the reciprocal rank of its
    /// first occurrence in the top k, else 0; mean over gold queries (0 when there are none), × 100.
    /// </summary>
    public static RankingScore ReciprocalRankAtK(IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> gold,
        IReadOnlyDictionary<string, IReadOnlyList<string>> predictions, int k = DefaultK)
    {
        double sum = 0;
        int count = 0;
        foreach (var (id, golds) in gold)
        {
            if (golds.Count == 0) throw new ArgumentException($"query {id} has no gold entity", nameof(gold));
            string target = PythonText.Strip(golds[0]);
            var ranked = predictions.GetValueOrDefault(id) ?? [];
            int n = Math.Min(k, ranked.Count);
            double rr = 0.0;
            for (int r = 0; r < n; r++)
                if (ranked[r] == target) { rr = 1.0 / (r + 1); break; }
            sum += rr;
            count++;
        }
        return new RankingScore(count > 0 ? sum / count * 100 : 0.0, count);
    }
}
