using System.Diagnostics;
using Stilts.Tokenization;

namespace Stilts.Tests.Tokenization;

public class SentencePieceWordModelTests
{
    static readonly string[] Words = ["the", "dog", "cat", "sees", "not", "a", "house", "premise:", "hypothesis:", "entailment", "kleine", "façade"];

    /// <summary>A T5 tokenizer folder: the written spiece.model and a tokenizer_config.json, read by AutoTokenizer.</summary>
    static (string Folder, TextTokenizer Tokenizer) Write()
    {
        string dir = TestPaths.NewTempDir("spm-words");
        SentencePieceWordModel.Write(Path.Combine(dir, "spiece.model"), Words);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{ "tokenizer_class": "T5Tokenizer", "extra_ids": 100, "model_max_length": 64 }""");
        return (dir, AutoTokenizer.FromFolder(dir));
    }

    [Fact]
    public void Listed_words_are_one_piece_each_in_t5_layout_and_text_round_trips()
    {
        var (_, tok) = Write();
        Assert.Equal(TokenizerKind.T5SentencePiece, tok.Kind);
        Assert.Equal([0, 1, 2], new[] { tok.Special.PadId, tok.Special.EosId!.Value, tok.Special.UnkId });
        Assert.Equal(["▁the", "▁dog", "▁sees", "▁a", "▁cat"], tok.Tokenize("the dog sees a cat").Tokens);
        Assert.Equal(3, tok.TokenToId("▁the"));
        // One piece per word plus </s>; the sentinels sit above the pieces, as in every T5 vocabulary.
        string text = "premise: the cat not sees a house hypothesis: the dog sees the façade";
        var ids = tok.Encode(text).Ids;
        Assert.Equal(text.Split(' ').Length + 1, ids.Length);
        Assert.Equal(1, ids[^1]);
        Assert.Equal(text, tok.Decode(ids, skipSpecialTokens: true));
        Assert.Equal(tok.VocabSize - 1, tok.TokenToId("<extra_id_0>"));
        Assert.Equal("entailment", tok.Decode(tok.Encode("entailment").Ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Unknown_words_are_spelled_out_and_unseen_characters_are_unk()
    {
        var (_, tok) = Write();
        // "houses": the listed "house" and then a character; "dhc": no listed word starts it, so ▁ and letters.
        Assert.Equal(["▁house", "s"], tok.Tokenize("houses").Tokens);
        Assert.Equal(["▁", "d", "h", "c"], tok.Tokenize("dhc").Tokens);
        Assert.Equal("the houses dhc", tok.Decode(tok.Encode("the houses dhc").Ids, skipSpecialTokens: true));
        // "z" is in no word: <unk>.
        Assert.Equal(["▁the", "▁", "<unk>"], tok.Tokenize("the z").Tokens);
        Assert.Throws<InvalidInputException>(() => SentencePieceWordModel.Write(Path.Combine(TestPaths.NewTempDir("spm-bad"), "spiece.model"), ["two words"]));
    }

    /// <summary>The sentencepiece CLI (Debian sentencepiece 0.1.97, on this machine's PATH) reads the written file
    /// as a valid model and segments like our tokenizer.</summary>
    [Fact]
    public void Ids_equal_spm_encode()
    {
        var (folder, tok) = Write();
        string[] lines = ["the dog sees a cat", "premise: the cat not sees a house", "houses dhc façades", "kleine   the  dog", "entailment hypothesis: a"];
        string input = Path.Combine(folder, "lines.txt");
        File.WriteAllText(input, string.Join('\n', lines) + "\n");
        var psi = new ProcessStartInfo("spm_encode", ["--output_format=id", $"--model={Path.Combine(folder, "spiece.model")}", $"--input={input}"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(psi)!;
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, stderr);
        var spm = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(lines.Length, spm.Length);
        for (int i = 0; i < lines.Length; i++)
            Assert.Equal(spm[i], string.Join(' ', tok.TokenizeIds(lines[i])));
    }
}
