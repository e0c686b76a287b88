using System.Text.Json;
using Stilts.Tokenization;

namespace Stilts.Tests.Tokenization;

/// <summary>Exact parity with the HF slow tokenizers on every case of the shared reference vectors.</summary>
public sealed class ReferenceParityTests
{
    static readonly string[] Families = ["xlm-roberta", "bert", "mt5"];
    static readonly Dictionary<string, TextTokenizer> Tokenizers = [];

    static TextTokenizer For(string family)
    {
        lock (Tokenizers)
        {
            if (!Tokenizers.TryGetValue(family, out var t)) Tokenizers[family] = t = AutoTokenizer.FromFolder(TestPaths.TestVectors(family));
            return t;
        }
    }

    static JsonElement Tokenization(string family)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.TestVectors(family), "vectors.json")));
        return doc.RootElement.GetProperty("tokenization").Clone();
    }

    public static IEnumerable<object[]> Cases() =>
        Families.SelectMany(f => Enumerable.Range(0, Tokenization(f).GetProperty("cases").GetArrayLength()).Select(i => new object[] { f, i }));

    public static IEnumerable<object[]> NoSpecialCases() =>
        Families.SelectMany(f => Enumerable.Range(0, Tokenization(f).GetProperty("no_special_tokens").GetArrayLength()).Select(i => new object[] { f, i }));

    static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    static string[] Strs(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Encode_matches_reference_ids_tokens_types_and_decoding(string family, int index)
    {
        var c = Tokenization(family).GetProperty("cases")[index];
        var tok = For(family);
        string text = c.GetProperty("text").GetString()!;
        string? pair = c.TryGetProperty("text_pair", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        var enc = tok.Encode(text, pair, new EncodeOptions { MaxLength = c.GetProperty("max_length").GetInt32() });

        int[] expectedIds = Ints(c.GetProperty("input_ids"));
        Assert.Equal(expectedIds, enc.Ids);
        Assert.Equal(Strs(c.GetProperty("tokens")), enc.Ids.Select(tok.IdToToken).ToArray());
        if (c.TryGetProperty("token_type_ids", out var types)) Assert.Equal(Ints(types), enc.TypeIds);
        Assert.Equal(c.GetProperty("decoded").GetString(), tok.Decode(enc.Ids));
        Assert.Equal(c.GetProperty("decoded_skip_special").GetString(), tok.Decode(enc.Ids, skipSpecialTokens: true));
    }

    [Theory]
    [MemberData(nameof(NoSpecialCases))]
    public void Tokenize_without_specials_matches_reference(string family, int index)
    {
        var c = Tokenization(family).GetProperty("no_special_tokens")[index];
        var tok = For(family);
        string text = c.GetProperty("text").GetString()!;
        var enc = tok.Encode(text, options: new EncodeOptions { AddSpecialTokens = false, Truncation = TruncationStrategy.DoNotTruncate });
        Assert.Equal(Ints(c.GetProperty("input_ids")), enc.Ids);
        Assert.Equal(Ints(c.GetProperty("input_ids")), tok.Tokenize(text).Ids);

        // HF tokenize() reports an unknown SentencePiece run by its text; our Tokens are vocabulary entries, so
        // the run's text is what its offsets cut out of the input.
        string[] expected = Strs(c.GetProperty("tokens"));
        Assert.Equal(expected.Length, enc.Length);
        for (int i = 0; i < enc.Length; i++)
        {
            if (enc.Ids[i] == tok.Special.UnkId && expected[i] != tok.Special.Unk)
                Assert.Equal(expected[i].TrimStart('\u2581'), text[enc.Offsets[i].Start..enc.Offsets[i].End]);
            else
                Assert.Equal(expected[i], enc.Tokens[i]);
        }
    }

    [Theory]
    [InlineData("xlm-roberta", 2002, 62, TokenizerKind.XlmRobertaSentencePiece)]
    [InlineData("bert", 2000, 64, TokenizerKind.BertWordPiece)]
    [InlineData("mt5", 2100, 64, TokenizerKind.T5SentencePiece)]
    public void Folder_metadata_matches_reference(string family, int vocabSize, int maxLength, TokenizerKind kind)
    {
        var tok = For(family);
        Assert.Equal(kind, tok.Kind);
        Assert.Equal(vocabSize, tok.VocabSize);
        Assert.Equal(maxLength, tok.ModelMaxLength);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.TestVectors(family), "vectors.json")));
        foreach (var prop in doc.RootElement.GetProperty("tokenizer").GetProperty("special_tokens").EnumerateObject())
        {
            var (name, id) = prop.Value.ValueKind == JsonValueKind.Array
                ? (prop.Value[0].GetString()!, prop.Value[1].GetInt32())
                : (prop.Name, prop.Value.GetInt32());
            Assert.Equal(id, tok.TokenToId(name));
            Assert.Equal(name, tok.IdToToken(id));
        }
    }
}
