using Stilts.Tasks.Featurization;

namespace Stilts.Tests.Featurization;

public class TaggingTests
{
    [Theory]
    [InlineData(ToyLayout.Bert)]
    [InlineData(ToyLayout.XlmR)]
    public void Label_goes_on_first_subword_only(ToyLayout layout)
    {
        var tok = new ToyTokenizer(layout);
        string[] words = ["cats", "jumped", "high"];
        var features = TaggingFeaturizer.FeaturizeSentence(tok, 0, words, [4, 7, 2], 32);
        var f = Assert.Single(features);
        Assert.Equal(["cat", "##s", "jump", "##ed", "high"], tok.Names(f.InputIds[1..^1]));
        Assert.Equal([-100, 4, -100, 7, -100, 2, -100], f.Labels);
        Assert.Equal([1, 3, 5], f.WordStarts);
        Assert.Equal(0, f.FirstWord);
    }

    [Fact]
    public void Word_with_no_pieces_becomes_unk_and_keeps_its_label()
    {
        var tok = new ToyTokenizer(ToyLayout.XlmR);
        var f = Assert.Single(TaggingFeaturizer.FeaturizeSentence(tok, 0, ["a", "\u200b", "b"], [1, 2, 3], 32));
        Assert.Equal(["<s>", "a", "<unk>", "b", "</s>"], tok.Names(f.InputIds));
        Assert.Equal([-100, 1, 2, 3, -100], f.Labels);
    }

    [Theory]
    [InlineData(ToyLayout.Bert)]
    [InlineData(ToyLayout.XlmR)]
    public void Long_sentence_is_split_at_word_boundaries_and_merges_back(ToyLayout layout)
    {
        var tok = new ToyTokenizer(layout);
        // 2-piece and 1-piece words alternate: 14 pieces in all for 10 words.
        string[] words = ["dogs", "ran", "cats", "sat", "walked", "up", "birds", "flew", "rang", "home"];
        int[] gold = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        string[] other = ["tiny", "sentence"];
        var features = TaggingFeaturizer.Featurize(tok, [words, other], [gold, [11, 12]], maxLength: 7);

        Assert.All(features, f => Assert.True(f.InputIds.Length <= 7));
        var firstSentence = features.Where(f => f.SentenceIndex == 0).ToList();
        Assert.True(firstSentence.Count >= 3);
        // Pieces follow each other with no gap or overlap, and no word is split across features.
        int expected = 0;
        foreach (var f in firstSentence)
        {
            Assert.Equal(expected, f.FirstWord);
            expected += f.WordStarts.Length;
            Assert.All(f.Labels.Where((l, i) => !f.WordStarts.Contains(i)), l => Assert.Equal(-100, l));
        }
        Assert.Equal(words.Length, expected);

        // Use the gold labels as "predictions" (shuffled feature order must not matter) and pad the rows.
        var order = Enumerable.Range(0, features.Count).Reverse().ToList();
        var shuffled = order.Select(i => features[i]).ToList();
        var predictions = shuffled.Select(f => (IReadOnlyList<int>)f.Labels.Concat(new int[3]).ToArray()).ToList();
        var merged = TaggingFeaturizer.MergePredictions(shuffled, predictions);
        Assert.Equal(2, merged.Length);
        Assert.Equal(gold, merged[0]);
        Assert.Equal([11, 12], merged[1]);
    }

    [Fact]
    public void Word_longer_than_a_window_keeps_its_first_piece()
    {
        var tok = new ToyTokenizer(ToyLayout.Bert);
        // maxLength 3 leaves one piece per feature: "walked" keeps "walk" (labelled), drops "##ed".
        var features = TaggingFeaturizer.FeaturizeSentence(tok, 0, ["walked", "home"], [5, 6], 3);
        Assert.Equal(2, features.Count);
        Assert.Equal(["[CLS]", "walk", "[SEP]"], tok.Names(features[0].InputIds));
        Assert.Equal([-100, 5, -100], features[0].Labels);
        Assert.Equal(1, features[1].FirstWord);
    }

    [Fact]
    public void Merge_reports_a_sentence_with_missing_words()
    {
        var tok = new ToyTokenizer(ToyLayout.Bert);
        var features = TaggingFeaturizer.FeaturizeSentence(tok, 0, ["a", "b", "c", "d"], null, 4);
        Assert.Equal(2, features.Count);
        var onlySecond = new[] { features[1] };
        var ex = Assert.Throws<InvalidInputException>(() =>
            TaggingFeaturizer.MergePredictions(onlySecond, [new int[4]]));
        Assert.Contains("sentence 0 word 0", ex.Message);
    }

    [Fact]
    public void Tagging_batch_pads_labels_with_minus_100()
    {
        var tok = new ToyTokenizer(ToyLayout.XlmR);
        var features = TaggingFeaturizer.Featurize(tok, [["dogs", "ran"], ["x"]], [[1, 2], [3]], 16);
        using var batch = Collator.For(tok).Tagging(features);
        Assert.Equal([2L, 5], batch.Labels!.shape);
        Assert.Equal([-100L, 1, -100, 2, -100, -100, 3, -100, -100, -100], batch.Labels.data<long>().ToArray());
        Assert.Equal([0L, 10, 11, 12, 2, 0, 13, 2, 1, 1], batch.InputIds.data<long>().ToArray());
    }
}
