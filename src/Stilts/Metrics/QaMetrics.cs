namespace Stilts.Metrics;

/// <summary>One gold question: its id and the texts of its gold answers (empty for a SQuAD v2 no-answer question).</summary>
public sealed record QaQuestion(string Id, IReadOnlyList<string> Answers);

/// <summary>SQuAD v1.1 / MLQA result, in percent. <see cref="Total"/> counts unanswered questions (scored 0).</summary>
public sealed record QaScore(double ExactMatch, double F1, int Total, int Answered)
{
    /// <summary>The per-language number XTREME's overall score uses for QA: (EM + F1) / 2.</summary>
    public double Mean => (ExactMatch + F1) / 2;
}

/// <summary>
/// Exact match and token F1 as the official SQuAD v1.1 script (evaluate_squad.py) and evaluate_mlqa.py compute them;
/// the two differ only in the <see cref="AnswerNormalizer"/>.
/// </summary>
public static class QaMetrics
{
    public static bool ExactMatch(string prediction, string gold, AnswerNormalizer normalizer) =>
        normalizer.Normalize(prediction) == normalizer.Normalize(gold);

    /// <summary>Token-multiset F1 in [0, 1]. No common token gives 0, so an empty prediction scores 0 even against an
    /// empty gold (exact match is 1 there): v1.1 behaviour, which v2.0 changed.</summary>
    public static double F1(string prediction, string gold, AnswerNormalizer normalizer) =>
        TokenF1(normalizer.Tokens(prediction), normalizer.Tokens(gold));

    internal static double TokenF1(IReadOnlyList<string> predicted, IReadOnlyList<string> gold)
    {
        int same = CommonCount(predicted, gold);
        if (same == 0) return 0;
        double precision = 1.0 * same / predicted.Count;
        double recall = 1.0 * same / gold.Count;
        return (2 * precision * recall) / (precision + recall);
    }

    internal static int CommonCount(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string t in a) counts[t] = counts.GetValueOrDefault(t) + 1;
        int same = 0;
        foreach (string t in b)
            if (counts.TryGetValue(t, out int n) && n > 0) { counts[t] = n - 1; same++; }
        return same;
    }

    /// <summary>
    /// Max over gold answers per question, summed in question order, then 100 * sum / total over all gold questions.
    /// A question without a prediction scores 0 but still counts. Throws for a question without gold answers
    /// (the script's max() fails there) and for an empty question list.
    /// </summary>
    public static QaScore Evaluate(IEnumerable<QaQuestion> questions, IReadOnlyDictionary<string, string> predictions,
        AnswerNormalizer normalizer)
    {
        double f1 = 0;
        int exact = 0, total = 0, answered = 0;
        foreach (QaQuestion q in questions)
        {
            total++;
            if (!predictions.TryGetValue(q.Id, out string? prediction)) continue;
            if (q.Answers.Count == 0) throw new InvalidInputException($"question {q.Id}", "has no gold answers");
            answered++;
            var predTokens = normalizer.Tokens(prediction);
            string predNorm = string.Join(' ', predTokens);
            bool em = false;
            double best = double.NegativeInfinity;
            foreach (string gold in q.Answers)
            {
                var goldTokens = normalizer.Tokens(gold);
                em |= string.Join(' ', goldTokens) == predNorm;
                best = Math.Max(best, TokenF1(predTokens, goldTokens));
            }
            if (em) exact++;
            f1 += best;
        }
        if (total == 0) throw new InvalidInputException("questions", "no gold questions to score");
        return new QaScore(100.0 * exact / total, 100.0 * f1 / total, total, answered);
    }
}
