namespace Stilts.Tasks.Featurization;

/// <summary>
/// Featurized rows: plain int arrays, unpadded, ready for <see cref="Collator"/>. -100 marks "no label here"
/// (HF / PyTorch cross-entropy ignore_index), both for a whole example (unlabeled test data) and per token.
/// </summary>
public static class Labels
{
    public const int Ignore = -100;
}

/// <summary>One single-text or text-pair classification row.</summary>
public sealed record ClassificationFeature(int[] InputIds, int[] AttentionMask, int[] TokenTypeIds, int Label);

/// <summary>
/// One tagging row: a whole sentence or, when it is too long, a run of its words. Labels sit on each word's first
/// subword and are -100 elsewhere. <see cref="WordStarts"/>[k] is the token position of word
/// <see cref="FirstWord"/> + k of sentence <see cref="SentenceIndex"/>, which is where its prediction is read.
/// </summary>
public sealed record TaggingFeature(
    int[] InputIds, int[] AttentionMask, int[] TokenTypeIds, int[] Labels,
    int SentenceIndex, int FirstWord, int[] WordStarts);

/// <summary>
/// One window of a span-QA example. Start/EndPosition are token positions of the answer (the CLS position when the
/// answer is not inside this window, or the question has none). ContextOffsets[i] is the [start, end) character range
/// of token i in the ORIGINAL context, or (-1, -1) for question and special tokens. TokenIsMaxContext[i] says whether
/// this window is the one where context token i has the most surrounding context (run_squad's _check_is_max_context).
/// </summary>
public sealed record SpanQaFeature(
    int[] InputIds, int[] AttentionMask, int[] TokenTypeIds,
    int ExampleIndex, int StartPosition, int EndPosition, int ClsIndex,
    (int Start, int End)[] ContextOffsets, bool[] TokenIsMaxContext);

/// <summary>One multiple-choice example: one (prompt, choice) row per choice; Label is the gold choice index.</summary>
public sealed record MultipleChoiceFeature(int[][] InputIds, int[][] AttentionMask, int[][] TokenTypeIds, int Label)
{
    public int NumChoices => InputIds.Length;
}

/// <summary>
/// One masked-LM row before masking: ids with the family's special tokens and a mask of the positions that must
/// never be masked (special tokens).
/// </summary>
public sealed record MaskedLmFeature(int[] InputIds, bool[] SpecialTokensMask);
