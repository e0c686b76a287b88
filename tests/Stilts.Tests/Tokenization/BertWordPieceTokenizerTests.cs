using Stilts.Tokenization;

namespace Stilts.Tests.Tokenization;

/// <summary>BERT WordPiece on our own small vocabularies (uncased and cased) plus the shared cased reference one.</summary>
public sealed class BertWordPieceTokenizerTests
{
    // ids: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 then words and ## pieces.
    static readonly string[] Vocab =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "cafe", "naive", "un", "##aff", "##able", ",", "!", "東", "京",
         "héllo", "i", "##stanbul", "ο", "##δος", "한", "##국"];

    static string Folder(string config, string[]? vocab = null)
    {
        string dir = TestPaths.NewTempDir("bert");
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), vocab ?? Vocab);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config);
        return dir;
    }

    static TextTokenizer Uncased() => AutoTokenizer.FromFolder(Folder("""{"do_lower_case": true, "model_max_length": 16}"""));

    [Fact]
    public void Uncased_lowercases_strips_accents_splits_punctuation_and_cjk_with_original_offsets()
    {
        string text = "Héllo, NAÏVE Café 東京 unaffable!";
        var enc = Uncased().Tokenize(text);
        Assert.Equal(["hello", ",", "naive", "cafe", "東", "京", "un", "##aff", "##able", "!"], enc.Tokens);
        Assert.Equal([5, 12, 8, 7, 14, 15, 9, 10, 11, 13], enc.Ids);
        string[] slices = enc.Offsets.Select(o => text[o.Start..o.End]).ToArray();
        Assert.Equal(["Héllo", ",", "NAÏVE", "Café", "東", "京", "un", "aff", "able", "!"], slices);
    }

    [Fact]
    public void Strip_accents_false_keeps_accents_while_lowercasing()
    {
        var tok = AutoTokenizer.FromFolder(Folder("""{"do_lower_case": true, "strip_accents": false}"""));
        Assert.Equal(["héllo", "[UNK]"], tok.Tokenize("HÉLLO naïve").Tokens);
    }

    [Fact]
    public void Turkish_dotted_i_greek_and_hangul_follow_python_lower_and_nfd()
    {
        // Python 'İ'.lower() is 'i' + U+0307, and NFD splits 한 into jamo: accent stripping then drops only the mark.
        var tok = Uncased();
        Assert.Equal(["i", "##stanbul"], tok.Tokenize("İstanbul").Tokens);
        // HF lower-cases character by character, so a final capital sigma becomes σ, not ς: no match here.
        Assert.Equal(["ο", "##δος"], tok.Tokenize("οδος").Tokens);
        Assert.Equal(["[UNK]"], tok.Tokenize("ΟΔΟΣ").Tokens);
        var korean = tok.Tokenize("한국");
        Assert.Equal(1, korean.Length); // jamo pieces are not in this vocabulary: one [UNK] for the word
        Assert.Equal((0, 2), korean.Offsets[0]);
    }

    [Fact]
    public void A_word_with_an_unmatched_piece_or_over_100_chars_is_one_unk()
    {
        var tok = Uncased();
        var enc = tok.Tokenize("unaffablex hello " + new string('a', 101));
        Assert.Equal(["[UNK]", "hello", "[UNK]"], enc.Tokens);
        Assert.Equal((0, 10), enc.Offsets[0]);
        Assert.Equal((17, 118), enc.Offsets[2]);
    }

    [Fact]
    public void Clean_text_drops_control_format_nul_and_replacement_characters()
    {
        var tok = Uncased();
        string text = "hel\u200blo\u0000 wor\uFFFDld\u0007!";
        var enc = tok.Tokenize(text);
        Assert.Equal(["hello", "world", "!"], enc.Tokens);
        Assert.Equal([(0, 6), (8, 14), (15, 16)], enc.Offsets);
    }

    [Fact]
    public void Pair_layout_type_ids_and_truncation()
    {
        var tok = Uncased();
        var enc = tok.Encode("hello world", "cafe naive unaffable");
        Assert.Equal([2, 5, 6, 3, 7, 8, 9, 10, 11, 3], enc.Ids);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], enc.TypeIds);
        Assert.Equal([-1, 0, 0, -1, 1, 1, 1, 1, 1, -1], enc.SequenceIds);

        // only_second keeps all of A; max_length 7 leaves 7 - 3 - 2 = 2 tokens of B.
        var cut = tok.Encode("hello world", "cafe naive unaffable", new EncodeOptions { MaxLength = 7, Truncation = TruncationStrategy.OnlySecond });
        Assert.Equal([2, 5, 6, 3, 7, 8, 3], cut.Ids);
        // longest_first with max 6: budget 3; B (5) is cut to 2, the tie cuts B again -> A 2, B 1.
        var lf = tok.Encode("hello world", "cafe naive unaffable", new EncodeOptions { MaxLength = 6 });
        Assert.Equal([2, 5, 6, 3, 7, 3], lf.Ids);
        // The default length is model_max_length from tokenizer_config.json.
        Assert.Equal(16, tok.Encode(string.Join(' ', Enumerable.Repeat("hello", 40))).Length);
    }

    [Fact]
    public void Decode_joins_wordpieces_and_cleans_punctuation_spaces()
    {
        var tok = Uncased();
        var enc = tok.Encode("Hello, unaffable world!");
        Assert.Equal("[CLS] hello, unaffable world! [SEP]", tok.Decode(enc.Ids));
        Assert.Equal("hello, unaffable world!", tok.Decode(enc.Ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Cased_reference_vocab_offsets_slice_the_token_text()
    {
        var tok = AutoTokenizer.FromFolder(TestPaths.TestVectors("bert"));
        string text = "Hello world! Größere Speicherplatz, oder nicht? Mixed 中文 123,456.78";
        var enc = tok.Tokenize(text);
        for (int i = 0; i < enc.Length; i++)
            if (enc.Ids[i] != tok.Special.UnkId)
                Assert.Equal(enc.Tokens[i].StartsWith("##") ? enc.Tokens[i][2..] : enc.Tokens[i], text[enc.Offsets[i].Start..enc.Offsets[i].End]);
    }

    [Fact]
    public void Duplicate_vocab_entry_is_invalid_input_naming_file_and_line()
    {
        string dir = Folder("{}", ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "hello"]);
        var ex = Assert.Throws<InvalidInputException>(() => AutoTokenizer.FromFolder(dir));
        Assert.EndsWith("vocab.txt:7", ex.Where);
        Assert.Contains("hello", ex.Message);
    }

    [Fact]
    public void Missing_special_token_is_invalid_input()
    {
        string dir = Folder("{}", ["[PAD]", "[UNK]", "[CLS]", "[MASK]", "hello"]);
        var ex = Assert.Throws<InvalidInputException>(() => AutoTokenizer.FromFolder(dir));
        Assert.Contains("[SEP]", ex.Message);
        // [MASK] alone is optional: a vocabulary without it still tokenizes.
        var noMask = AutoTokenizer.FromFolder(Folder("{}", ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello"]));
        Assert.Null(noMask.Special.MaskId);
        Assert.Equal([2, 4, 3], noMask.Encode("Hello").Ids);
    }
}
