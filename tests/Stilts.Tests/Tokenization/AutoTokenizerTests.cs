using Stilts.Tokenization;

namespace Stilts.Tests.Tokenization;

/// <summary>Family detection from tokenizer_config.json or the files present, and folder-level errors.</summary>
public sealed class AutoTokenizerTests
{
    static string CopyOnly(string family, string file)
    {
        string dir = TestPaths.NewTempDir("auto");
        File.Copy(Path.Combine(TestPaths.TestVectors(family), file), Path.Combine(dir, file));
        return dir;
    }

    [Theory]
    [InlineData("xlm-roberta", "sentencepiece.bpe.model", TokenizerKind.XlmRobertaSentencePiece)]
    [InlineData("mt5", "spiece.model", TokenizerKind.T5SentencePiece)]
    [InlineData("bert", "vocab.txt", TokenizerKind.BertWordPiece)]
    public void Family_is_picked_from_the_files_when_there_is_no_config(string family, string file, TokenizerKind kind)
    {
        var tok = AutoTokenizer.FromFolder(CopyOnly(family, file));
        Assert.Equal(kind, tok.Kind);
        Assert.Equal(512, tok.ModelMaxLength); // HF's default when nothing says otherwise
    }

    [Fact]
    public void Bert_without_config_is_uncased_like_hf_defaults()
    {
        var tok = AutoTokenizer.FromFolder(CopyOnly("bert", "vocab.txt"));
        var cased = AutoTokenizer.FromFolder(TestPaths.TestVectors("bert"));
        // The reference vocabulary is cased: "hello" exists lower-case, and the default lower-cases "HELLO" into it.
        Assert.Equal(tok.Tokenize("hello").Ids, tok.Tokenize("HELLO").Ids);
        Assert.NotEqual(cased.Tokenize("hello").Ids, cased.Tokenize("HELLO").Ids);
    }

    [Fact]
    public void Folder_without_tokenizer_files_names_what_was_expected()
    {
        string dir = TestPaths.NewTempDir("auto");
        File.WriteAllText(Path.Combine(dir, "config.json"), "{}");
        var ex = Assert.Throws<InvalidInputException>(() => AutoTokenizer.FromFolder(dir));
        Assert.Contains("no tokenizer files", ex.Message);
        Assert.Contains("spiece.model", ex.Message);
        Assert.Throws<InvalidInputException>(() => AutoTokenizer.FromFolder(Path.Combine(dir, "missing")));
    }

    [Fact]
    public void Malformed_config_names_the_file_or_key()
    {
        string dir = CopyOnly("bert", "vocab.txt");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"do_lower_case\": ");
        var ex = Assert.Throws<InvalidInputException>(() => AutoTokenizer.FromFolder(dir));
        Assert.Contains("tokenizer_config.json", ex.Message);

        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"do_lower_case\": \"yes\"}");
        ex = Assert.Throws<InvalidInputException>(() => AutoTokenizer.FromFolder(dir));
        Assert.EndsWith("do_lower_case", ex.Where);
    }

    [Fact]
    public void Config_class_wins_over_files_and_a_missing_named_file_is_an_error()
    {
        string dir = CopyOnly("bert", "vocab.txt");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"tokenizer_class\": \"T5Tokenizer\"}");
        var ex = Assert.Throws<InvalidInputException>(() => AutoTokenizer.FromFolder(dir));
        Assert.Contains("spiece.model", ex.Where);
    }
}
