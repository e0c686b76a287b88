using Stilts.Tokenization;

namespace Stilts.Tasks.Featurization;

/// <summary>What a training window whose answer lies outside it becomes.</summary>
public enum OutOfWindowAnswer
{
    /// <summary>Start = end = the CLS position (HF squad_convert_examples_to_features; SQuAD v2 "no answer here").</summary>
    PointToCls,
    /// <summary>The window is dropped from training (keeps v1 training on answer-bearing windows only).</summary>
    Skip,
}

/// <summary>Sliding-window settings, xtreme/HF run_squad defaults (max_seq_length 384, doc_stride 128, max_query_length 64).</summary>
public sealed record SpanQaOptions
{
    public int MaxLength { get; init; } = 384;
    /// <summary>Tokens between the starts of consecutive context windows (run_squad semantics, not HF fast "stride" overlap).</summary>
    public int DocStride { get; init; } = 128;
    public int MaxQueryLength { get; init; } = 64;
    public OutOfWindowAnswer OutOfWindow { get; init; } = OutOfWindowAnswer.PointToCls;
}

/// <summary>
/// Extractive QA featurization in the run_squad style: the question is truncated to MaxQueryLength tokens, the
/// context is cut into overlapping windows that each fill MaxLength, and the answer's character span is mapped to
/// token positions through the tokenizer's original-text offsets. Each feature keeps per-token context offsets, so
/// <see cref="SpanQaDecoder"/> can slice answers from the original context.
/// </summary>
public static class SpanQaFeaturizer
{
    /// <param name="answerStart">Character offset of the gold answer in <paramref name="context"/>; null for no answer
    /// (SQuAD v2 impossible questions, or evaluation data).</param>
    /// <param name="training">When false, every window is kept and labelled with the CLS position if the answer is absent.</param>
    public static List<SpanQaFeature> Featurize(
        TextTokenizer tokenizer, int exampleIndex, string question, string context,
        int? answerStart, string? answerText, SpanQaOptions options, bool training)
    {
        var query = tokenizer.Tokenize(question).Ids;
        if (query.Length > options.MaxQueryLength) query = query[..options.MaxQueryLength];
        var doc = tokenizer.Tokenize(context);
        int maxDoc = options.MaxLength - query.Length - tokenizer.NumSpecialTokens(pair: true);
        if (maxDoc < 1)
            throw new InvalidInputException("max_length", $"{options.MaxLength} leaves no room for context after a {query.Length}-token question");
        if (options.DocStride < 1) throw new InvalidInputException("doc_stride", $"{options.DocStride} must be at least 1");

        var (answerFirst, answerLast) = AnswerTokens(doc, exampleIndex, context, answerStart, answerText);
        var windows = Windows(doc.Length, maxDoc, options.DocStride);
        var features = new List<SpanQaFeature>();
        for (int w = 0; w < windows.Count; w++)
        {
            var (start, length) = windows[w];
            var (ids, typeIds, seqIds) = tokenizer.BuildInputs(query, doc.Ids[start..(start + length)]);
            int cls = ClsPosition(tokenizer, ids);
            var offsets = new (int, int)[ids.Length];
            var maxContext = new bool[ids.Length];
            var docIndex = new int[ids.Length];
            int k = 0;
            for (int i = 0; i < ids.Length; i++)
            {
                docIndex[i] = -1;
                offsets[i] = (-1, -1);
                if (seqIds[i] != 1) continue;
                docIndex[i] = start + k++;
                offsets[i] = doc.Offsets[docIndex[i]];
                maxContext[i] = IsMaxContext(windows, w, docIndex[i]);
            }

            int startPos = cls, endPos = cls;
            bool inside = answerFirst >= 0 && answerFirst >= start && answerLast < start + length;
            if (inside)
            {
                startPos = Array.IndexOf(docIndex, answerFirst);
                endPos = Array.IndexOf(docIndex, answerLast);
            }
            else if (training && answerFirst >= 0 && options.OutOfWindow == OutOfWindowAnswer.Skip) continue;

            features.Add(new SpanQaFeature(ids, ClassificationFeaturizer.Ones(ids.Length), typeIds, exampleIndex,
                startPos, endPos, cls, offsets, maxContext));
        }
        return features;
    }

    // The answer's first and last context tokens: the token holding its first character and the last token starting
    // before its end. (-1, -1) when there is no answer.
    static (int, int) AnswerTokens(Encoding doc, int example, string context, int? answerStart, string? answerText)
    {
        if (answerStart is not int s || string.IsNullOrEmpty(answerText)) return (-1, -1);
        int e = s + answerText.Length;
        if (s < 0 || e > context.Length || string.CompareOrdinal(context, s, answerText, 0, answerText.Length) != 0)
            throw new InvalidInputException($"example {example}",
                $"answer \"{answerText}\" is not found at character {s} of its context");
        int first = -1, last = -1;
        for (int i = 0; i < doc.Length; i++)
        {
            var (ts, te) = doc.Offsets[i];
            if (te <= s || ts >= e) continue;
            if (first < 0) first = i;
            last = i;
        }
        if (first < 0)
            throw new InvalidInputException($"example {example}", $"answer \"{answerText}\" covers no token of its context");
        return (first, last);
    }

    // run_squad: windows of at most maxDoc tokens whose starts advance by min(length, docStride) until the last
    // token is covered. An empty context still gives one (empty) window so the example gets a prediction.
    internal static List<(int Start, int Length)> Windows(int tokens, int maxDoc, int docStride)
    {
        var spans = new List<(int, int)>();
        int start = 0;
        while (true)
        {
            int length = Math.Min(tokens - start, maxDoc);
            spans.Add((start, length));
            if (start + length >= tokens) break;
            start += Math.Min(length, docStride);
        }
        return spans;
    }

    // run_squad's _check_is_max_context: the window where the token has the most context on its shorter side
    // (plus a small bonus for longer windows); the first such window wins ties.
    static bool IsMaxContext(List<(int Start, int Length)> windows, int current, int position)
    {
        double best = double.NegativeInfinity;
        int bestWindow = -1;
        for (int w = 0; w < windows.Count; w++)
        {
            var (start, length) = windows[w];
            int end = start + length - 1;
            if (position < start || position > end) continue;
            double score = Math.Min(position - start, end - position) + 0.01 * length;
            if (score > best) (best, bestWindow) = (score, w);
        }
        return bestWindow == current;
    }

    static int ClsPosition(TextTokenizer tokenizer, int[] ids)
    {
        int? cls = tokenizer.Special.ClsId ?? tokenizer.Special.BosId;
        int at = cls is int c ? Array.IndexOf(ids, c) : -1;
        return Math.Max(at, 0);
    }
}
