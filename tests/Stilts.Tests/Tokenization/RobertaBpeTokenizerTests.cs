using Stilts.Tokenization;

namespace Stilts.Tests.Tokenization;

/// <summary>
/// Byte-level BPE on a hand-made vocabulary. Expected ids are worked out by hand from the merge ranks:
/// rank 0 "l o", 1 "lo w", 2 "Ġ low", 3 "e r", 4 "Ġlow er" (Ġ is the byte-level picture of a space;
/// é is UTF-8 C3 A9, pictured as "Ã" and "©").
/// </summary>
public sealed class RobertaBpeTokenizerTests
{
    const string VocabJson = """
        {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "l": 4, "o": 5, "w": 6, "e": 7, "r": 8, "Ġ": 9,
         "lo": 10, "low": 11, "Ġlow": 12, "er": 13, "Ġlower": 14, "<mask>": 15, "Ã": 16, "©": 17, "!": 18}
        """;
    const string Merges = "#version: 0.2\nl o\nlo w\nĠ low\ne r\nĠlow er\n";

    static TextTokenizer Create(bool addPrefixSpace = false)
    {
        string dir = TestPaths.NewTempDir("roberta");
        File.WriteAllText(Path.Combine(dir, "vocab.json"), VocabJson);
        File.WriteAllText(Path.Combine(dir, "merges.txt"), Merges);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"),
            $$"""{"tokenizer_class": "RobertaTokenizer", "model_max_length": 32, "add_prefix_space": {{(addPrefixSpace ? "true" : "false")}}}""");
        return AutoTokenizer.FromFolder(dir);
    }

    [Fact]
    public void Words_merge_by_rank_and_offsets_skip_the_leading_space()
    {
        // "low" -> l o w -> lo w -> low. " lower" -> Ġ l o w e r -> Ġ lo w e r -> Ġ low e r -> Ġlow e r -> Ġlow er -> Ġlower.
        var enc = Create().Tokenize("low lower");
        Assert.Equal([11, 14], enc.Ids);
        Assert.Equal(["low", "Ġlower"], enc.Tokens);
        Assert.Equal([(0, 3), (4, 9)], enc.Offsets);
        // Without the space "lower" never sees "Ġ low": l o w e r -> low er.
        var bare = Create().Tokenize("lower");
        Assert.Equal([11, 13], bare.Ids);
        Assert.Equal([(0, 3), (3, 5)], bare.Offsets);
    }

    [Fact]
    public void Tokens_splitting_a_multibyte_character_both_span_that_character()
    {
        // "lowé": l o w Ã © -> low Ã © ; Ã and © are the two bytes of é (index 3).
        var tok = Create();
        var enc = tok.Tokenize("lowé");
        Assert.Equal([11, 16, 17], enc.Ids);
        Assert.Equal([(0, 3), (3, 4), (3, 4)], enc.Offsets);
        Assert.Equal("lowé", tok.Decode(enc.Ids));
    }

    [Fact]
    public void Add_prefix_space_gives_the_word_form_with_offsets_in_the_original_text()
    {
        var enc = Create(addPrefixSpace: true).Tokenize("lower");
        Assert.Equal([14], enc.Ids);
        Assert.Equal([(0, 5)], enc.Offsets);
    }

    [Fact]
    public void Pair_layout_mask_unknown_bytes_and_decoding()
    {
        var tok = Create();
        var pair = tok.Encode("low", "lower");
        Assert.Equal([0, 11, 2, 2, 11, 13, 2], pair.Ids);
        Assert.Equal([-1, 0, -1, -1, 1, 1, -1], pair.SequenceIds);
        Assert.All(pair.TypeIds, t => Assert.Equal(0, t));

        // <mask> eats the space on its left (lstrip) and keeps its own span.
        var masked = tok.Tokenize("low <mask>");
        Assert.Equal([11, 15], masked.Ids);
        Assert.Equal((4, 10), masked.Offsets[1]);

        // "z" has no byte symbol in this vocabulary -> <unk>; " !" stays Ġ + ! (no merge) and decodes with the
        // space before "!" cleaned up.
        Assert.Equal([3], tok.Tokenize("z").Ids);
        var bang = tok.Encode("low !");
        Assert.Equal([0, 11, 9, 18, 2], bang.Ids);
        Assert.Equal("<s>low!</s>", tok.Decode(bang.Ids));
        Assert.Equal("low!", tok.Decode(bang.Ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Malformed_merges_or_vocab_are_invalid_input_with_location()
    {
        string dir = TestPaths.NewTempDir("roberta");
        File.WriteAllText(Path.Combine(dir, "vocab.json"), VocabJson);
        File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\nl o\nlow\n");
        var ex = Assert.Throws<InvalidInputException>(() => AutoTokenizer.FromFolder(dir));
        Assert.EndsWith("merges.txt:3", ex.Where);

        File.WriteAllText(Path.Combine(dir, "merges.txt"), Merges);
        File.WriteAllText(Path.Combine(dir, "vocab.json"), "[1, 2]");
        ex = Assert.Throws<InvalidInputException>(() => AutoTokenizer.FromFolder(dir));
        Assert.Contains("vocab.json", ex.Message);
    }
}
