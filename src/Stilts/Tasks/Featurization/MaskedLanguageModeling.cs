using Stilts.Tokenization;

namespace Stilts.Tasks.Featurization;

/// <summary>HF DataCollatorForLanguageModeling defaults: 15% of positions, of which 80% [MASK], 10% random, 10% kept.</summary>
public sealed record MaskingOptions
{
    public double Probability { get; init; } = 0.15;
    public double MaskFraction { get; init; } = 0.8;
    public double RandomFraction { get; init; } = 0.1;
}

/// <summary>
/// Masked-LM inputs (continued multilingual MLM): special tokens are never chosen, labels are the original id at
/// chosen positions and -100 elsewhere. Masking draws from the caller's seeded <see cref="Random"/>, so a seed fixes
/// the masks (re-mask each epoch by reusing the same generator, as HF re-masks per batch).
/// </summary>
public static class MaskedLanguageModeling
{
    public static MaskedLmFeature Featurize(TextTokenizer tokenizer, string text, int maxLength)
    {
        var encoding = tokenizer.Encode(text, null, new EncodeOptions { MaxLength = maxLength });
        return new MaskedLmFeature(encoding.Ids, SpecialMask(tokenizer, encoding.Ids, encoding.SequenceIds));
    }

    /// <summary>Positions that must never be masked: family special tokens (sequence id -1) and any special id.</summary>
    public static bool[] SpecialMask(TextTokenizer tokenizer, int[] ids, int[] sequenceIds)
    {
        var sp = tokenizer.Special;
        var special = new HashSet<int> { sp.PadId, sp.UnkId };
        foreach (var id in new[] { sp.ClsId, sp.SepId, sp.MaskId, sp.BosId, sp.EosId })
            if (id is int v) special.Add(v);
        var mask = new bool[ids.Length];
        for (int i = 0; i < ids.Length; i++) mask[i] = sequenceIds[i] < 0 || special.Contains(ids[i]);
        return mask;
    }

    /// <summary>Masks one row. Random replacements are uniform over [0, vocabSize) like HF's torch.randint(len(tokenizer)).</summary>
    public static (int[] InputIds, int[] Labels) Mask(MaskedLmFeature feature, int maskId, int vocabSize, MaskingOptions options, Random rng)
    {
        if (options.MaskFraction + options.RandomFraction > 1)
            throw new InvalidInputException("masking", "mask + random fractions exceed 1");
        var inputs = (int[])feature.InputIds.Clone();
        var labels = new int[inputs.Length];
        Array.Fill(labels, Labels.Ignore);
        // HF draws "random" among the positions not replaced by [MASK]: p = random / (1 - mask).
        double randomGivenNotMask = options.MaskFraction >= 1 ? 0 : options.RandomFraction / (1 - options.MaskFraction);
        for (int i = 0; i < inputs.Length; i++)
        {
            if (feature.SpecialTokensMask[i] || rng.NextDouble() >= options.Probability) continue;
            labels[i] = inputs[i];
            if (rng.NextDouble() < options.MaskFraction) inputs[i] = maskId;
            else if (rng.NextDouble() < randomGivenNotMask) inputs[i] = rng.Next(vocabSize);
        }
        return (inputs, labels);
    }

    public static (int[] InputIds, int[] Labels) Mask(MaskedLmFeature feature, TextTokenizer tokenizer, MaskingOptions options, Random rng) =>
        Mask(feature, tokenizer.Special.MaskId ?? throw new InvalidInputException("tokenizer", $"{tokenizer.Kind} has no mask token"),
            tokenizer.VocabSize, options, rng);
}
