namespace Stilts.Metrics;

/// <summary>Official SQuAD v2.0 evaluation result, in percent. HasAns/NoAns are null when there are no such questions;
/// the best-threshold fields are null unless no-answer probabilities were given.</summary>
public sealed record SquadV2Score(
    double Exact, double F1, int Total,
    double? HasAnsExact, double? HasAnsF1, int HasAnsTotal,
    double? NoAnsExact, double? NoAnsF1, int NoAnsTotal,
    double? BestExact, double? BestExactThreshold, double? BestF1, double? BestF1Threshold);

/// <summary>The official SQuAD v2.0 script (evaluate-v2.0.py), including its no-answer threshold search.</summary>
public static class SquadV2
{
    /// <summary>v2.0 F1: if either side normalises to nothing, 1 when both do and 0 otherwise.</summary>
    public static double F1(string prediction, string gold)
    {
        var p = AnswerNormalizer.Squad.Tokens(prediction);
        var g = AnswerNormalizer.Squad.Tokens(gold);
        if (p.Count == 0 || g.Count == 0) return p.Count == 0 && g.Count == 0 ? 1 : 0;
        return QaMetrics.TokenF1(p, g);
    }

    /// <param name="questions">Gold questions; an empty answer list (or only answers that normalise to nothing) is a
    /// no-answer question whose only correct answer is "".</param>
    /// <param name="predictions">qid → answer text ("" for no answer). Every gold question needs one: the script fails
    /// on a missing one as soon as it builds the HasAns/NoAns breakdown.</param>
    /// <param name="noAnswerProbabilities">qid → P(no answer), or null (then all 0, and no threshold search).</param>
    /// <param name="noAnswerThreshold">Predict no-answer when the probability exceeds this (script default 1.0).</param>
    public static SquadV2Score Evaluate(IReadOnlyList<QaQuestion> questions, IReadOnlyDictionary<string, string> predictions,
        IReadOnlyDictionary<string, double>? noAnswerProbabilities = null, double noAnswerThreshold = 1.0)
    {
        var hasAnswer = new Dictionary<string, bool>();
        var exactRaw = new Dictionary<string, double>();
        var f1Raw = new Dictionary<string, double>();
        foreach (QaQuestion q in questions)
        {
            hasAnswer[q.Id] = q.Answers.Count > 0;
            var golds = q.Answers.Where(a => AnswerNormalizer.Squad.Normalize(a).Length > 0).ToList();
            if (golds.Count == 0) golds.Add("");
            if (!predictions.TryGetValue(q.Id, out string? pred))
                throw new InvalidInputException($"question {q.Id}", "has no prediction (SQuAD v2.0 needs one per question)");
            exactRaw[q.Id] = golds.Max(g => QaMetrics.ExactMatch(pred, g, AnswerNormalizer.Squad) ? 1.0 : 0.0);
            f1Raw[q.Id] = golds.Max(g => F1(pred, g));
        }
        if (exactRaw.Count == 0) throw new InvalidInputException("questions", "no gold questions to score");

        var naProbs = noAnswerProbabilities ?? predictions.Keys.ToDictionary(k => k, _ => 0.0);
        var exact = ApplyThreshold(exactRaw, naProbs, hasAnswer, noAnswerThreshold);
        var f1 = ApplyThreshold(f1Raw, naProbs, hasAnswer, noAnswerThreshold);

        var hasIds = hasAnswer.Where(kv => kv.Value).Select(kv => kv.Key).ToList();
        var noIds = hasAnswer.Where(kv => !kv.Value).Select(kv => kv.Key).ToList();
        (double, double) Mean(IReadOnlyList<string> ids) =>
            (100.0 * Sum(ids.Select(k => exact[k])) / ids.Count, 100.0 * Sum(ids.Select(k => f1[k])) / ids.Count);
        var all = Mean(exact.Keys.ToList());
        (double? e, double? f) has = hasIds.Count > 0 ? Mean(hasIds) : (null, null);
        (double? e, double? f) no = noIds.Count > 0 ? Mean(noIds) : (null, null);

        double? bestExact = null, bestExactT = null, bestF1 = null, bestF1T = null;
        if (noAnswerProbabilities != null)
        {
            (bestExact, bestExactT) = BestThreshold(predictions, exactRaw, noAnswerProbabilities, hasAnswer);
            (bestF1, bestF1T) = BestThreshold(predictions, f1Raw, noAnswerProbabilities, hasAnswer);
        }
        return new SquadV2Score(all.Item1, all.Item2, exact.Count, has.e, has.f, hasIds.Count, no.e, no.f, noIds.Count,
            bestExact, bestExactT, bestF1, bestF1T);
    }

    static double Sum(IEnumerable<double> xs)
    {
        double s = 0;
        foreach (double x in xs) s += x;
        return s;
    }

    static Dictionary<string, double> ApplyThreshold(Dictionary<string, double> scores,
        IReadOnlyDictionary<string, double> naProbs, Dictionary<string, bool> hasAnswer, double threshold)
    {
        var result = new Dictionary<string, double>();
        foreach (var (qid, s) in scores)
        {
            if (!naProbs.TryGetValue(qid, out double p))
                throw new InvalidInputException($"question {qid}", "has no no-answer probability");
            result[qid] = p > threshold ? (hasAnswer[qid] ? 0.0 : 1.0) : s;
        }
        return result;
    }

    // Walk questions by ascending no-answer probability (stable, in probability-file order), as if the threshold sat
    // just at each one: answering a has-answer question gains its score, answering a no-answer question with a
    // non-empty prediction loses one. Starts from "abstain everywhere"; strict improvement moves the threshold.
    static (double Best, double Threshold) BestThreshold(IReadOnlyDictionary<string, string> predictions,
        Dictionary<string, double> scores, IReadOnlyDictionary<string, double> naProbs, Dictionary<string, bool> hasAnswer)
    {
        double current = hasAnswer.Count(kv => !kv.Value);
        double best = current, bestThreshold = 0.0;
        foreach (string qid in naProbs.OrderBy(kv => kv.Value).Select(kv => kv.Key))
        {
            if (!scores.ContainsKey(qid)) continue;
            double diff = hasAnswer[qid] ? scores[qid] : (predictions[qid].Length > 0 ? -1 : 0);
            current += diff;
            if (current > best) { best = current; bestThreshold = naProbs[qid]; }
        }
        return (100.0 * best / scores.Count, bestThreshold);
    }
}
