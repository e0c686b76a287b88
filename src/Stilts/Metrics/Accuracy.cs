namespace Stilts.Metrics;

/// <summary>Accuracy in percent (XNLI, PAWS-X, XCOPA, Tatoeba) with the counts behind it.</summary>
public sealed record AccuracyScore(double Accuracy, int Correct, int Total);

public static class Accuracy
{
    /// <summary>
    /// Share of positions where prediction equals gold, × 100, as evaluate.py computes it (correct / len(predictions)).
    /// The lists must have equal length (evaluate.py asserts it) and must not be empty.
    /// </summary>
    public static AccuracyScore Compute<T>(IReadOnlyList<T> gold, IReadOnlyList<T> predicted)
    {
        if (gold.Count != predicted.Count)
            throw new ArgumentException($"{predicted.Count} predictions for {gold.Count} gold labels");
        if (predicted.Count == 0) throw new ArgumentException("no examples to score");
        var eq = EqualityComparer<T>.Default;
        int correct = 0;
        for (int i = 0; i < gold.Count; i++) if (eq.Equals(gold[i], predicted[i])) correct++;
        return new AccuracyScore((double)correct / predicted.Count * 100, correct, predicted.Count);
    }
}
