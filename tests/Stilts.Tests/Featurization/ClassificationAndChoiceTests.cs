using Stilts.Tasks.Featurization;
using Stilts.Tokenization;

namespace Stilts.Tests.Featurization;

public class ClassificationAndChoiceTests
{
    [Fact]
    public void Single_text_gets_bert_specials_and_label()
    {
        var tok = new ToyTokenizer(ToyLayout.Bert);
        var f = ClassificationFeaturizer.Featurize(tok, "the dogs walked", null, 2, 16);
        Assert.Equal(["[CLS]", "the", "dog", "##s", "walk", "##ed", "[SEP]"], tok.Names(f.InputIds));
        Assert.Equal([1, 1, 1, 1, 1, 1, 1], f.AttentionMask);
        Assert.Equal(new int[7], f.TokenTypeIds);
        Assert.Equal(2, f.Label);
    }

    [Fact]
    public void Pair_is_truncated_longest_first_in_both_layouts()
    {
        var bert = new ToyTokenizer(ToyLayout.Bert);
        var f = ClassificationFeaturizer.Featurize(bert, "a b c d e f", "x y", 0, 8);
        // budget 8 - 3 = 5: the longer first text loses tokens until 3 + 2 fit.
        Assert.Equal(["[CLS]", "a", "b", "c", "[SEP]", "x", "y", "[SEP]"], bert.Names(f.InputIds));
        Assert.Equal([0, 0, 0, 0, 0, 1, 1, 1], f.TokenTypeIds);

        var xlmr = new ToyTokenizer(ToyLayout.XlmR);
        var g = ClassificationFeaturizer.Featurize(xlmr, "a b c d e f", "x y", 0, 8);
        // budget 8 - 4 = 4: two tokens per side.
        Assert.Equal(["<s>", "a", "b", "</s>", "</s>", "x", "y", "</s>"], xlmr.Names(g.InputIds));
        Assert.Equal(new int[8], g.TokenTypeIds);
    }

    [Fact]
    public void Max_length_without_room_is_rejected()
    {
        var ex = Assert.Throws<InvalidInputException>(() =>
            ClassificationFeaturizer.Featurize(new ToyTokenizer(ToyLayout.XlmR), "a", "b", 0, 4));
        Assert.Contains("max_length", ex.Message);
    }

    [Fact]
    public void Multiple_choice_makes_one_pair_per_choice_and_collates_to_three_dims()
    {
        var tok = new ToyTokenizer(ToyLayout.XlmR);
        var f = MultipleChoiceFeaturizer.Featurize(tok, "she opened the door", "then", ["walked in", "sang loudly today"], 1, 32);
        Assert.Equal(2, f.NumChoices);
        Assert.Equal(["<s>", "she", "open", "##ed", "the", "door", "</s>", "</s>", "then", "walk", "##ed", "in", "</s>"], tok.Names(f.InputIds[0]));
        Assert.Equal(["then", "sang", "loudly", "today"], tok.Names(f.InputIds[1][8..12]));

        var g = MultipleChoiceFeaturizer.Featurize(tok, "short", null, ["a", "b"], 0, 32);
        using var batch = Collator.For(tok).MultipleChoice([f, g]);
        Assert.Equal([2L, 2, 13], batch.InputIds.shape);
        Assert.Equal([1L, 0], batch.Labels!.data<long>().ToArray());
        // Example 1, choice 0 "<s> short </s></s> a </s>" then pad id 1 and mask 0.
        var row = batch.InputIds[1, 0].data<long>().ToArray();
        Assert.Equal(tok.Special.PadId, row[6]);
        Assert.Equal(tok.Special.PadId, row[12]);
        Assert.Equal(6L, batch.AttentionMask[1, 0].sum().item<long>());
        Assert.Equal(13L, batch.AttentionMask[0, 1].sum().item<long>());
    }

    [Fact]
    public void Multiple_choice_rejects_a_label_outside_the_choices()
    {
        Assert.Throws<InvalidInputException>(() =>
            MultipleChoiceFeaturizer.Featurize(new ToyTokenizer(ToyLayout.Bert), "p", null, ["a", "b"], 2, 16));
    }

    [Fact]
    public void Classification_batch_pads_with_the_tokenizer_pad_id()
    {
        foreach (var layout in new[] { ToyLayout.Bert, ToyLayout.XlmR })
        {
            var tok = new ToyTokenizer(layout);
            var a = ClassificationFeaturizer.Featurize(tok, "one two three four", null, 1, 16);
            var b = ClassificationFeaturizer.Featurize(tok, "one", "two", 0, 16);
            using var batch = Collator.For(tok).Classification([a, b]);
            Assert.Equal([2L, 6], batch.InputIds.shape);
            var ids = batch.InputIds.data<long>().ToArray();
            int expectedB = layout == ToyLayout.Bert ? 5 : 6;
            Assert.Equal(b.InputIds.Select(v => (long)v), ids[6..(6 + expectedB)]);
            Assert.All(ids[(6 + expectedB)..], v => Assert.Equal(tok.Special.PadId, v));
            Assert.Equal([1L, 0], batch.Labels!.data<long>().ToArray());
            Assert.Equal(expectedB, (int)batch.AttentionMask[1].sum().item<long>());
        }
    }
}
