using Stilts.Tasks.Featurization;
using Stilts.Tokenization;

namespace Stilts.Tests.Featurization;

public class SpanCorruptionTests
{
    static readonly Lazy<TextTokenizer> Mt5 = new(() => AutoTokenizer.FromFolder(TestPaths.TestVectors("mt5")));

    /// <summary>Puts each target span back where its sentinel stands in the input.</summary>
    static List<int> Splice(int[] input, int[] target, int eos, Func<int, bool> isSentinel)
    {
        var spans = new Dictionary<int, List<int>>();
        List<int>? current = null;
        foreach (int id in target[..^1])
        {
            if (isSentinel(id)) spans[id] = current = [];
            else current!.Add(id);
        }
        var text = new List<int>();
        foreach (int id in input[..^1])
            if (isSentinel(id)) text.AddRange(spans[id]);
            else text.Add(id);
        Assert.Equal(eos, input[^1]);
        Assert.Equal(eos, target[^1]);
        return text;
    }

    [Fact]
    public void Mt5_sentences_split_into_sentinel_inputs_and_span_targets_that_splice_back_to_the_text()
    {
        var tok = Mt5.Value;
        int eos = tok.Special.EosId!.Value;
        int vocab = tok.VocabSize;
        var rng = new Random(5);
        string[] texts =
        [
            "The quick brown fox jumps over the lazy dog while the farmer watches from the old wooden fence.",
            "Eine kleine Nachtmusik wurde im Jahr 1787 geschrieben, aber erst viel später veröffentlicht.",
            "短い文でも、長い文でも、ノイズの割合は同じです。そして文の最後まで続きます。",
        ];
        foreach (string text in texts)
        {
            var ids = tok.TokenizeIds(text);
            var (input, target) = SpanCorruption.Corrupt(ids, tok, new SpanCorruptionOptions(), rng);
            // Sentinels are <extra_id_k> = VocabSize - 1 - k, numbered 0, 1, ... left to right, the same in both.
            var inSentinels = input.Where(id => id >= vocab - 100).ToList();
            Assert.Equal(Enumerable.Range(0, inSentinels.Count).Select(k => vocab - 1 - k), inSentinels);
            Assert.Equal(inSentinels, target.Where(id => id >= vocab - 100));
            Assert.Equal("<extra_id_0>", tok.IdToToken(target[0]));
            // Exactly round(15% of the length) tokens are noise, in round(noise / 3) spans.
            int noise = (int)Math.Round(ids.Length * 0.15);
            Assert.Equal(noise, target.Length - 1 - inSentinels.Count);
            Assert.Equal((int)Math.Round(noise / 3.0), inSentinels.Count);
            Assert.Equal(ids.Length - noise + inSentinels.Count + 1, input.Length);
            Assert.Equal(ids, Splice(input, target, eos, id => id >= vocab - 100));
        }
    }

    [Theory]
    [InlineData(2, 0.15, 1)]
    [InlineData(10, 0.15, 2)]     // round(1.5) = 2 (half to even)
    [InlineData(25, 0.15, 4)]     // round(3.75) = 4
    [InlineData(30, 0.5, 15)]
    [InlineData(100, 0.15, 15)]
    [InlineData(40, 0.9, 36)]     // at most length - 1; spans from min(noise, non-noise) so 4 kept tokens suffice
    public void The_noise_count_is_exact_and_spans_alternate_starting_with_kept_tokens(int length, double density, int expectedNoise)
    {
        var options = new SpanCorruptionOptions { NoiseDensity = density };
        int expectedSpans = Math.Max(1, (int)Math.Round(Math.Min(expectedNoise, length - expectedNoise) / 3.0));
        for (int seed = 0; seed < 50; seed++)
        {
            var mask = SpanCorruption.NoiseMask(length, options, new Random(seed));
            Assert.Equal(expectedNoise, mask.Count(m => m));
            Assert.False(mask[0]);
            int spans = Enumerable.Range(0, length).Count(i => mask[i] && !mask[i - 1]);
            Assert.Equal(expectedSpans, spans);
        }
    }

    [Fact]
    public void Span_lengths_average_the_mean_and_vary_and_a_seed_fixes_them()
    {
        var options = new SpanCorruptionOptions();
        var lengths = new List<int>();
        for (int seed = 0; seed < 200; seed++)
        {
            var mask = SpanCorruption.NoiseMask(200, options, new Random(seed));
            int run = 0;
            foreach (bool m in mask.Append(false))
            {
                if (m) run++;
                else if (run > 0) { lengths.Add(run); run = 0; }
            }
        }
        // 30 noise tokens in 10 spans each time: mean exactly 3, lengths spread (all segmentations equally likely).
        Assert.Equal(3.0, lengths.Average(), 9);
        Assert.True(lengths.Distinct().Count() >= 5, string.Join(",", lengths.Distinct()));
        Assert.Equal(SpanCorruption.NoiseMask(200, options, new Random(7)), SpanCorruption.NoiseMask(200, options, new Random(7)));
        Assert.NotEqual(SpanCorruption.NoiseMask(200, options, new Random(7)), SpanCorruption.NoiseMask(200, options, new Random(8)));
    }

    [Fact]
    public void Texts_too_short_to_corrupt_keep_their_tokens_and_targets_still_end()
    {
        int Sentinel(int k) => 1000 - k;
        var options = new SpanCorruptionOptions();
        void Check(int[] tokens, int[] input, int[] target)
        {
            var (i, t) = SpanCorruption.Corrupt(tokens, 1, Sentinel, options, new Random(1));
            Assert.Equal(input, i);
            Assert.Equal(target, t);
        }
        Check([7], [7, 1], [1000, 1]);
        Check([], [1], [1]);
        // Two tokens: the second is the noise (spans start with kept tokens).
        Check([7, 8], [7, 1000, 1], [1000, 8, 1]);
    }

    [Fact]
    public void A_tokenizer_without_sentinels_is_a_clear_error()
    {
        var bert = new ToyTokenizer(ToyLayout.Bert);
        Assert.Throws<InvalidInputException>(() => SpanCorruption.Corrupt([5, 6, 7, 8, 9, 10], bert, new SpanCorruptionOptions(), new Random(1)));
        Assert.Throws<InvalidInputException>(() => SpanCorruption.NoiseMask(10, new SpanCorruptionOptions { NoiseDensity = 1.5 }, new Random(1)));
    }
}
