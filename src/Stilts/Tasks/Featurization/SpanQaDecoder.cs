namespace Stilts.Tasks.Featurization;

/// <summary>Answer search settings (HF run_squad defaults: n_best_size 20, max_answer_length 30, threshold 0).</summary>
public sealed record SpanQaDecodeOptions
{
    public int NBestSize { get; init; } = 20;
    public int MaxAnswerLength { get; init; } = 30;
    /// <summary>SQuAD v2: questions may have no answer, scored by the CLS position.</summary>
    public bool AllowNoAnswer { get; init; }
    /// <summary>Predict "" when null_score - best_non_null_score is above this (v2 only).</summary>
    public double NullScoreDiffThreshold { get; init; }
}

/// <summary>One candidate answer: text sliced from the original context, [StartChar, EndChar), and its logit sum.</summary>
public sealed record NBestAnswer(string Text, int StartChar, int EndChar, double Score, double Probability);

/// <summary>The answer for one example ("" = no answer), with the n-best list and, for v2, the null score.</summary>
public sealed record SpanQaPrediction(int ExampleIndex, string Text, double NullScore, IReadOnlyList<NBestAnswer> NBest);

/// <summary>
/// HF compute_predictions_logits: for every window of an example, the top-n start and end logits are paired
/// (end ≥ start, length ≤ MaxAnswerLength, both inside the context, start in its max-context window); the best
/// pair over all windows wins. For SQuAD v2 the null score is start[CLS] + end[CLS], minimised over windows.
/// </summary>
public static class SpanQaDecoder
{
    /// <param name="startLogits">Per feature, one logit per token (longer, padded rows are fine).</param>
    /// <param name="contexts">The original context of every example; example i gets prediction i.</param>
    public static List<SpanQaPrediction> Decode(
        IReadOnlyList<SpanQaFeature> features, IReadOnlyList<float[]> startLogits, IReadOnlyList<float[]> endLogits,
        IReadOnlyList<string> contexts, SpanQaDecodeOptions options)
    {
        if (startLogits.Count != features.Count || endLogits.Count != features.Count)
            throw new InvalidInputException("logits", $"{startLogits.Count}/{endLogits.Count} logit rows for {features.Count} features");
        var byExample = new List<int>[contexts.Count];
        for (int f = 0; f < features.Count; f++)
        {
            int ex = features[f].ExampleIndex;
            if (ex < 0 || ex >= contexts.Count)
                throw new InvalidInputException("features", $"feature {f} names example {ex}, but there are {contexts.Count} contexts");
            (byExample[ex] ??= []).Add(f);
        }
        var predictions = new List<SpanQaPrediction>(contexts.Count);
        for (int ex = 0; ex < contexts.Count; ex++)
            predictions.Add(DecodeExample(ex, byExample[ex] ?? [], features, startLogits, endLogits, contexts[ex], options));
        return predictions;
    }

    readonly record struct Candidate(int StartChar, int EndChar, double Score);

    static SpanQaPrediction DecodeExample(
        int example, List<int> featureIds, IReadOnlyList<SpanQaFeature> features,
        IReadOnlyList<float[]> startLogits, IReadOnlyList<float[]> endLogits, string context, SpanQaDecodeOptions options)
    {
        var candidates = new List<Candidate>();
        double nullScore = double.PositiveInfinity;
        foreach (int f in featureIds)
        {
            var feature = features[f];
            float[] starts = startLogits[f], ends = endLogits[f];
            int n = Math.Min(feature.InputIds.Length, Math.Min(starts.Length, ends.Length));
            if (options.AllowNoAnswer)
                nullScore = Math.Min(nullScore, starts[feature.ClsIndex] + (double)ends[feature.ClsIndex]);
            foreach (int s in TopIndexes(starts, n, options.NBestSize))
                foreach (int e in TopIndexes(ends, n, options.NBestSize))
                {
                    if (feature.ContextOffsets[s].Start < 0 || feature.ContextOffsets[e].Start < 0) continue;
                    if (!feature.TokenIsMaxContext[s]) continue;
                    if (e < s || e - s + 1 > options.MaxAnswerLength) continue;
                    candidates.Add(new Candidate(feature.ContextOffsets[s].Start, feature.ContextOffsets[e].End, starts[s] + (double)ends[e]));
                }
        }

        // Best first; the same text from two windows counts once (HF seen_predictions).
        var nbest = new List<Candidate>();
        var seen = new HashSet<string>();
        foreach (var c in candidates.OrderByDescending(c => c.Score))
        {
            if (nbest.Count >= options.NBestSize) break;
            if (seen.Add(context[c.StartChar..c.EndChar])) nbest.Add(c);
        }
        bool hasNull = options.AllowNoAnswer && featureIds.Count > 0;
        var all = nbest.Select(c => (Text: context[c.StartChar..c.EndChar], c.StartChar, c.EndChar, c.Score)).ToList();
        if (hasNull && !seen.Contains("")) all.Add(("", 0, 0, nullScore));
        all.Sort((a, b) => b.Score.CompareTo(a.Score));

        double max = all.Count == 0 ? 0 : all.Max(a => a.Score);
        double z = all.Sum(a => Math.Exp(a.Score - max));
        var answers = all.Select(a => new NBestAnswer(a.Text, a.StartChar, a.EndChar, a.Score, Math.Exp(a.Score - max) / z)).ToList();

        var bestNonNull = answers.FirstOrDefault(a => a.Text.Length > 0);
        string text;
        if (!options.AllowNoAnswer) text = answers.Count > 0 ? answers[0].Text : "";
        else if (bestNonNull == null || !hasNull) text = "";
        else text = nullScore - bestNonNull.Score > options.NullScoreDiffThreshold ? "" : bestNonNull.Text;
        return new SpanQaPrediction(example, text, hasNull ? nullScore : double.NaN, answers);
    }

    // Positions of the n largest logits among the first `length`, largest first (ties: lower position first).
    static int[] TopIndexes(float[] logits, int length, int n) =>
        Enumerable.Range(0, length).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(n).ToArray();
}
