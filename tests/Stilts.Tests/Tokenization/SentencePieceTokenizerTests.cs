using Stilts.Tokenization;

namespace Stilts.Tests.Tokenization;

/// <summary>XLM-R and T5 behaviour beyond the reference cases: original-text offsets, spm's unknown runs, control
/// characters and tie-break, truncation strategies, and malformed model files.</summary>
public sealed class SentencePieceTokenizerTests
{
    static readonly Lazy<TextTokenizer> Xlmr = new(() => AutoTokenizer.FromFolder(TestPaths.TestVectors("xlm-roberta")));
    static readonly Lazy<TextTokenizer> Mt5 = new(() => AutoTokenizer.FromFolder(TestPaths.TestVectors("mt5")));

    [Theory]
    [InlineData("Hello world! This is a tiny test of the tokenizer.")]
    [InlineData("   leading and   multiple    spaces\tand\ttabs \n newline   ")]
    [InlineData("Привет, мир! Это небольшая проверка модели.")]
    [InlineData("Größere Übersetzungen, oder nicht? Ελληνικά κείμενα και עברית")]
    [InlineData("Paris is the <mask> of France.")]
    public void Xlmr_offsets_slice_each_token_surface_from_the_original_text(string text)
    {
        var tok = Xlmr.Value;
        var enc = tok.Tokenize(text);
        Assert.NotEmpty(enc.Ids);
        for (int i = 0; i < enc.Length; i++)
        {
            string slice = text[enc.Offsets[i].Start..enc.Offsets[i].End];
            if (enc.Ids[i] == tok.Special.UnkId) Assert.False(string.IsNullOrWhiteSpace(slice));
            else Assert.Equal(enc.Tokens[i].TrimStart('\u2581'), slice);
        }
    }

    [Fact]
    public void Unknown_run_becomes_one_unk_spanning_the_whole_run_and_t5_shares_the_algorithm()
    {
        // No emoji is in the 2000-piece vocabulary: spm merges the run of unknown characters into one piece.
        string text = "go 🤗🚀🔥 now";
        var enc = Xlmr.Value.Tokenize(text);
        int unk = Array.IndexOf(enc.Ids, Xlmr.Value.Special.UnkId);
        Assert.Equal(1, enc.Ids.Count(id => id == Xlmr.Value.Special.UnkId));
        Assert.Equal("🤗🚀🔥", text[enc.Offsets[unk].Start..enc.Offsets[unk].End]);

        var t5 = Mt5.Value.Tokenize(text);
        Assert.Equal(enc.Ids.Select(id => id == 3 ? 2 : id - 1), t5.Ids); // same spm model family, T5 uses raw spm ids
    }

    [Fact]
    public void Control_characters_are_dropped_but_offsets_still_index_the_original()
    {
        var tok = Xlmr.Value;
        string noisy = "control\u0007chars\u001bhere";
        Assert.Equal(tok.Tokenize("controlcharshere").Ids, tok.Tokenize(noisy).Ids);
        var enc = tok.Tokenize(noisy);
        Assert.Equal(noisy.Length, enc.Offsets[^1].End);
        Assert.Equal("here", noisy[enc.Offsets[^2].Start..enc.Offsets[^1].End]);
    }

    [Fact]
    public void Nfkc_folded_characters_map_back_to_the_original_characters()
    {
        // "ﬁ" (one char) normalizes to "fi"; "ＡＢＣ" to "ABC": every token must point into its source characters.
        string text = "ﬁne ＡＢＣ";
        var enc = Xlmr.Value.Tokenize(text);
        Assert.Equal(["▁f", "in", "e", "▁A", "B", "C"], enc.Tokens);
        Assert.Equal([(0, 1), (0, 2), (2, 3), (4, 5), (5, 6), (6, 7)], enc.Offsets);
    }

    [Fact]
    public void Mask_swallows_the_space_before_it_and_keeps_its_own_span()
    {
        string text = "the <mask> of";
        var enc = Xlmr.Value.Tokenize(text);
        int m = Array.IndexOf(enc.Ids, Xlmr.Value.Special.MaskId!.Value);
        Assert.Equal((4, 10), enc.Offsets[m]);
        Assert.Equal(Xlmr.Value.Tokenize("the").Ids, enc.Ids[..m]);
    }

    [Fact]
    public void Pair_truncation_strategies_cut_the_side_they_name()
    {
        var tok = Xlmr.Value;
        string a = "Wo ist der Bahnhof?", b = "Der Bahnhof ist dort drüben, neben dem Café.";
        int la = tok.Tokenize(a).Length, lb = tok.Tokenize(b).Length;
        Assert.True(la < lb, "fixture: the second text is the longer one");

        // only_second: the first text stays whole, the second gets what is left of max - 4 specials.
        var onlySecond = tok.Encode(a, b, new EncodeOptions { MaxLength = la + 8, Truncation = TruncationStrategy.OnlySecond });
        Assert.Equal(la + 8, onlySecond.Length);
        Assert.Equal(la, onlySecond.SequenceIds.Count(s => s == 0));
        Assert.Equal(4, onlySecond.SequenceIds.Count(s => s == 1));

        // longest_first: tokens come off the longer side until both are equal, then alternately (second first).
        int max = 2 * 5 + 4 + 1; // budget 11 -> 6 / 5
        var longest = tok.Encode(a, b, new EncodeOptions { MaxLength = max });
        Assert.Equal(max, longest.Length);
        Assert.Equal(6, longest.SequenceIds.Count(s => s == 0));
        Assert.Equal(5, longest.SequenceIds.Count(s => s == 1));
        Assert.Equal(tok.Tokenize(b).Ids[..5], longest.Ids.Where((_, i) => longest.SequenceIds[i] == 1));

        // Layout <s> A </s></s> B </s> around the kept tokens; only_first on a single text is a plain max_length cut.
        Assert.Equal([0], longest.Ids[..1]);
        Assert.Equal([2, 2], longest.Ids[7..9]);
        Assert.Equal(2, longest.Ids[^1]);
        var single = tok.Encode(b, options: new EncodeOptions { MaxLength = 6 });
        Assert.Equal([0, .. tok.Tokenize(b).Ids[..4], 2], single.Ids);
    }

    [Fact]
    public void T5_appends_eos_once_and_maps_extra_ids_from_the_top()
    {
        var tok = Mt5.Value;
        var pair = tok.Encode("How old are you?", "I am 6.");
        Assert.Equal(2, pair.Ids.Count(id => id == 1));
        Assert.Equal(1, pair.Ids[^1]);
        Assert.Equal(2099, tok.TokenToId("<extra_id_0>"));
        Assert.Equal("<extra_id_99>", tok.IdToToken(2000));
        // A text that already ends in </s> gets no second one (HF _add_eos_if_not_present).
        var ends = tok.Encode("done </s>");
        Assert.Equal(1, ends.Ids.Count(id => id == 1));
        var sentinel = tok.Tokenize("The <extra_id_0> walks");
        int s = Array.IndexOf(sentinel.Ids, 2099);
        Assert.Equal((4, 16), sentinel.Offsets[s]);
    }

    [Fact]
    public void Exact_viterbi_ties_go_to_the_later_starting_piece_like_spm()
    {
        // f = -3, ff = -4: "fff" is f|ff or ff|f, both -7 exactly. spm_encode 0.1.97 picks ff|f.
        string dir = TestPaths.NewTempDir("spm");
        string path = Path.Combine(dir, "sentencepiece.bpe.model");
        File.WriteAllBytes(path, SpModelWriter.Write([("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3), ("f", -3, 1), ("ff", -4, 1), ("▁", -5, 1)],
            addDummyPrefix: false));
        var tok = XlmRobertaTokenizer.Create(path);
        var enc = tok.Tokenize("fff");
        Assert.Equal(["ff", "f"], enc.Tokens);
        Assert.Equal([(0, 2), (2, 3)], enc.Offsets);
        // Without a charsmap nothing is normalized; an unknown letter run is still one <unk>.
        Assert.Equal([3, 4], tok.Tokenize("xyf").Ids);
    }

    [Fact]
    public void Malformed_or_missing_model_files_are_invalid_input_naming_the_file()
    {
        string dir = TestPaths.NewTempDir("spm");
        string path = Path.Combine(dir, "spiece.model");
        File.WriteAllBytes(path, [0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]);
        var ex = Assert.Throws<InvalidInputException>(() => T5Tokenizer.Create(path));
        Assert.Contains("spiece.model", ex.Message);

        File.WriteAllBytes(path, SpModelWriter.Write([("a", -1, 1)], addDummyPrefix: true));
        ex = Assert.Throws<InvalidInputException>(() => T5Tokenizer.Create(path));
        Assert.Contains("UNKNOWN", ex.Message);

        Assert.Throws<InvalidInputException>(() => XlmRobertaTokenizer.Create(Path.Combine(dir, "absent.model")));
    }
}

/// <summary>Writes a minimal SentencePiece ModelProto (pieces + normalizer flags, no charsmap) for test fixtures.</summary>
static class SpModelWriter
{
    public static byte[] Write(IEnumerable<(string Piece, float Score, int Type)> pieces, bool addDummyPrefix)
    {
        var model = new List<byte>();
        foreach (var (piece, score, type) in pieces)
        {
            var p = new List<byte>();
            byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(piece);
            p.Add(0x0A); Varint(p, (ulong)utf8.Length); p.AddRange(utf8);
            p.Add(0x15); p.AddRange(BitConverter.GetBytes(score));
            p.Add(0x18); Varint(p, (ulong)type);
            model.Add(0x0A); Varint(model, (ulong)p.Count); model.AddRange(p);
        }
        byte[] normalizer = [0x18, (byte)(addDummyPrefix ? 1 : 0), 0x20, 1, 0x28, 1];
        model.Add(0x1A); Varint(model, (ulong)normalizer.Length); model.AddRange(normalizer);
        return model.ToArray();
    }

    static void Varint(List<byte> o, ulong v)
    {
        for (; v >= 0x80; v >>= 7) o.Add((byte)(v | 0x80));
        o.Add((byte)v);
    }
}
