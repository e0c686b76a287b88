using Stilts.Tasks.Featurization;

namespace Stilts.Tests.Featurization;

public class MaskedLmTests
{
    static MaskedLmFeature LongRow(int n)
    {
        var ids = Enumerable.Range(0, n).Select(i => 1000 + i % 500).ToArray();
        var special = new bool[n];
        special[0] = special[^1] = true;
        return new MaskedLmFeature(ids, special);
    }

    [Fact]
    public void Same_seed_same_masks_and_other_seed_other_masks()
    {
        var row = LongRow(400);
        var a = MaskedLanguageModeling.Mask(row, 103, 5000, new MaskingOptions(), new Random(7));
        var b = MaskedLanguageModeling.Mask(row, 103, 5000, new MaskingOptions(), new Random(7));
        var c = MaskedLanguageModeling.Mask(row, 103, 5000, new MaskingOptions(), new Random(8));
        Assert.Equal(a.InputIds, b.InputIds);
        Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.Labels, c.Labels);
    }

    [Theory]
    [InlineData(ToyLayout.Bert)]
    [InlineData(ToyLayout.XlmR)]
    public void Special_tokens_are_never_masked(ToyLayout layout)
    {
        var tok = new ToyTokenizer(layout);
        var row = MaskedLanguageModeling.Featurize(tok, "the dogs walked home", 32);
        Assert.Equal([true, false, false, false, false, false, false, true], row.SpecialTokensMask);
        var (inputs, labels) = MaskedLanguageModeling.Mask(row, tok, new MaskingOptions { Probability = 1.0 }, new Random(1));
        Assert.Equal(-100, labels[0]);
        Assert.Equal(-100, labels[^1]);
        Assert.Equal(row.InputIds[0], inputs[0]);
        Assert.Equal(row.InputIds[^1], inputs[^1]);
        Assert.Equal(row.InputIds[1..^1], labels[1..^1]);
    }

    [Fact]
    public void Rates_follow_15_percent_and_80_10_10()
    {
        var row = LongRow(40_000);
        var (inputs, labels) = MaskedLanguageModeling.Mask(row, 103, 5000, new MaskingOptions(), new Random(123));
        int chosen = 0, masked = 0, kept = 0, replaced = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            if (labels[i] == -100) { Assert.Equal(row.InputIds[i], inputs[i]); continue; }
            Assert.Equal(row.InputIds[i], labels[i]);
            chosen++;
            if (inputs[i] == 103) masked++;
            else if (inputs[i] == row.InputIds[i]) kept++;
            else replaced++;
        }
        // Binomial(40000, 0.15): mean 6000, sd ≈ 71; generous 5-sd bounds.
        Assert.InRange(chosen, 5640, 6360);
        Assert.InRange(masked / (double)chosen, 0.77, 0.83);
        Assert.InRange(replaced / (double)chosen, 0.08, 0.12);
        Assert.InRange(kept / (double)chosen, 0.08, 0.12);
    }

    [Fact]
    public void Batch_pads_inputs_with_pad_id_and_labels_with_minus_100()
    {
        var tok = new ToyTokenizer(ToyLayout.XlmR);
        var rows = new[] { "a b c d", "e" }
            .Select(t => MaskedLanguageModeling.Mask(MaskedLanguageModeling.Featurize(tok, t, 16), tok, new MaskingOptions { Probability = 1.0, MaskFraction = 1.0, RandomFraction = 0 }, new Random(3)))
            .ToList();
        using var batch = Collator.For(tok).MaskedLm(rows);
        Assert.Equal([0L, 4, 4, 4, 4, 2, 0, 4, 2, 1, 1, 1], batch.InputIds.data<long>().ToArray());
        Assert.Equal([-100L, 10, 11, 12, 13, -100, -100, 14, -100, -100, -100, -100], batch.Labels!.data<long>().ToArray());
        Assert.Equal([1L, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], batch.AttentionMask.data<long>().ToArray());
    }
}
