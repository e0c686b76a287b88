using Stilts.Tokenization;

namespace Stilts.Tasks.Featurization;

/// <summary>
/// Multiple choice as HF run_swag / jiant's multiple-choice template: each choice becomes the pair
/// (prompt, [question + " "] + choice), truncated to maxLength; the collator pads to (batch, choices, tokens).
/// </summary>
public static class MultipleChoiceFeaturizer
{
    /// <param name="prompt">The context (HellaSwag ctx_a, Cosmos QA context, COPA premise, ...).</param>
    /// <param name="question">Optional text put before every choice in the second segment.</param>
    /// <param name="label">Gold choice index, or <see cref="Labels.Ignore"/> when unlabeled.</param>
    public static MultipleChoiceFeature Featurize(
        TextTokenizer tokenizer, string prompt, string? question, IReadOnlyList<string> choices, int label, int maxLength,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst)
    {
        if (choices.Count == 0) throw new InvalidInputException("choices", "a multiple-choice example needs at least one choice");
        if (label != Labels.Ignore && (label < 0 || label >= choices.Count))
            throw new InvalidInputException("label", $"{label} is not a choice index in [0, {choices.Count})");
        var ids = new int[choices.Count][];
        var mask = new int[choices.Count][];
        var types = new int[choices.Count][];
        for (int c = 0; c < choices.Count; c++)
        {
            string second = string.IsNullOrEmpty(question) ? choices[c] : question + " " + choices[c];
            var row = ClassificationFeaturizer.Featurize(tokenizer, prompt, second, label, maxLength, truncation);
            (ids[c], mask[c], types[c]) = (row.InputIds, row.AttentionMask, row.TokenTypeIds);
        }
        return new MultipleChoiceFeature(ids, mask, types, label);
    }
}
