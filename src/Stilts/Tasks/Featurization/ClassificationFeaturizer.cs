using Stilts.Tokenization;

namespace Stilts.Tasks.Featurization;

/// <summary>Single-text and text-pair classification: HF tokenizer(text, pair, truncation=True, max_length).</summary>
public static class ClassificationFeaturizer
{
    /// <param name="label">Label index, or <see cref="Labels.Ignore"/> for unlabeled (test) rows.</param>
    public static ClassificationFeature Featurize(
        TextTokenizer tokenizer, string text, string? pair, int label, int maxLength,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst)
    {
        if (maxLength <= tokenizer.NumSpecialTokens(pair != null))
            throw new InvalidInputException("max_length", $"{maxLength} leaves no room for text after the special tokens");
        var encoding = tokenizer.Encode(text, pair, new EncodeOptions { MaxLength = maxLength, Truncation = truncation });
        return new ClassificationFeature(encoding.Ids, Ones(encoding.Length), encoding.TypeIds, label);
    }

    internal static int[] Ones(int n)
    {
        var a = new int[n];
        Array.Fill(a, 1);
        return a;
    }
}
