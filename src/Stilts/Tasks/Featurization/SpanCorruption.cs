using Stilts.Tokenization;

namespace Stilts.Tasks.Featurization;

/// <summary>T5's pretraining noise (Raffel et al. 2020, §3.1.4): 15% of the tokens, in spans of mean length 3.</summary>
public sealed record SpanCorruptionOptions
{
    /// <summary>Fraction of the tokens that are dropped from the input and become the target.</summary>
    public double NoiseDensity { get; init; } = 0.15;
    public double MeanNoiseSpanLength { get; init; } = 3.0;
}

/// <summary>
/// T5 / mT5 span corruption: the input keeps the non-noise tokens with each noise span replaced by one sentinel
/// &lt;extra_id_k&gt; (k = 0, 1, ... left to right); the target is &lt;extra_id_0&gt; span_0 &lt;extra_id_1&gt; span_1 ...
/// &lt;/s&gt;. Span lengths follow the T5 reference's <c>random_spans_noise_mask</c>: the noise count is
/// round(length * density) kept in [1, length - 1], the span count round(min(noise, non-noise) / mean span length) (at least 1), noise
/// and non-noise tokens are each cut into that many non-empty segments uniformly at random, and the segments alternate
/// starting with non-noise. Draws come from the caller's seeded <see cref="Random"/>, so a seed fixes the corruption.
/// </summary>
public static class SpanCorruption
{
    /// <summary>Which of <paramref name="length"/> positions are noise.</summary>
    public static bool[] NoiseMask(int length, SpanCorruptionOptions options, Random rng)
    {
        if (!(options.NoiseDensity > 0 && options.NoiseDensity < 1))
            throw new InvalidInputException("span corruption", $"noise density must be in (0, 1), got {options.NoiseDensity}");
        if (!(options.MeanNoiseSpanLength >= 1))
            throw new InvalidInputException("span corruption", $"mean noise span length must be at least 1, got {options.MeanNoiseSpanLength}");
        var mask = new bool[length];
        // The reference pads a 1-token sequence to 2 and cuts the mask back: its one token is never noise.
        if (length < 2) return mask;
        // Math.Round rounds half to even, like np.round / tf.round.
        int noise = Math.Clamp((int)Math.Round(length * options.NoiseDensity), 1, length - 1);
        // HF's run_t5_mlm_flax counts spans from min(noise, non-noise), so a high density cannot ask for more
        // non-noise segments than there are non-noise tokens; at T5's densities it is the reference's count.
        int spans = Math.Max(1, (int)Math.Round(Math.Min(noise, length - noise) / options.MeanNoiseSpanLength));
        var noiseLengths = Segment(noise, spans, rng);
        var keepLengths = Segment(length - noise, spans, rng);
        int at = 0;
        for (int s = 0; s < spans; s++)
        {
            at += keepLengths[s];
            for (int k = 0; k < noiseLengths[s]; k++) mask[at++] = true;
        }
        return mask;
    }

    /// <summary>
    /// Corrupts <paramref name="tokens"/> (text ids without the end token). Noise spans become sentinel ids
    /// <paramref name="sentinelId"/>(0), (1), ...; both sides end with <paramref name="eosId"/>.
    /// </summary>
    public static (int[] InputIds, int[] TargetIds) Corrupt(IReadOnlyList<int> tokens, int eosId, Func<int, int> sentinelId,
        SpanCorruptionOptions options, Random rng)
    {
        if (tokens.Count == 0) return ([eosId], [eosId]);
        var noise = NoiseMask(tokens.Count, options, rng);
        var input = new List<int>(tokens.Count + 2);
        var target = new List<int>();
        int sentinel = 0;
        for (int i = 0; i < tokens.Count; i++)
        {
            bool startsSpan = noise[i] && (i == 0 || !noise[i - 1]);
            if (startsSpan)
            {
                int id = sentinelId(sentinel++);
                input.Add(id);
                target.Add(id);
            }
            if (noise[i]) target.Add(tokens[i]);
            else input.Add(tokens[i]);
        }
        // No noise (a 1-token text): the target still opens with a sentinel, as the reference's does.
        if (target.Count == 0) target.Add(sentinelId(0));
        input.Add(eosId);
        target.Add(eosId);
        return ([.. input], [.. target]);
    }

    /// <summary>Corrupts with a T5 tokenizer's &lt;/s&gt; and &lt;extra_id_k&gt; sentinels.</summary>
    public static (int[] InputIds, int[] TargetIds) Corrupt(IReadOnlyList<int> tokens, TextTokenizer tokenizer, SpanCorruptionOptions options, Random rng)
    {
        int eos = tokenizer.Special.EosId ?? throw new InvalidInputException("tokenizer", $"{tokenizer.Kind} has no end token for span corruption targets");
        return Corrupt(tokens, eos, k => tokenizer.TokenToId($"<extra_id_{k}>")
            ?? throw new InvalidInputException("tokenizer", $"span corruption needs <extra_id_{k}>, which {tokenizer.Kind} does not have (a T5 tokenizer with enough extra_ids)"),
            options, rng);
    }

    /// <summary>
    /// Random lengths of <paramref name="segments"/> non-empty segments summing to <paramref name="items"/>: choose
    /// segments - 1 of the items - 1 gaps as cuts, every choice equally likely (the reference shuffles a boolean vector).
    /// </summary>
    static int[] Segment(int items, int segments, Random rng)
    {
        var cut = new bool[items - 1];
        for (int i = 0; i < segments - 1; i++) cut[i] = true;
        rng.Shuffle(cut);
        var lengths = new int[segments];
        int segment = 0;
        lengths[0] = 1;
        foreach (bool c in cut)
        {
            if (c) segment++;
            lengths[segment]++;
        }
        return lengths;
    }
}
