using System.Text;
using Stilts.Tokenization;

namespace Stilts.Tests.Tokenization;

/// <summary>The ids-only paths (TokenizeIds, EncodeIds) against the full Tokenize / Encode on a generated
/// multilingual corpus, and the per-thread work buffers under parallel use.</summary>
public sealed class SentencePieceFastPathTests
{
    static readonly Lazy<TextTokenizer> Xlmr = new(() => AutoTokenizer.FromFolder(TestPaths.TestVectors("xlm-roberta")));
    static readonly Lazy<TextTokenizer> Mt5 = new(() => AutoTokenizer.FromFolder(TestPaths.TestVectors("mt5")));

    // Our own words in many scripts, plus the inputs that take the normalizer's slow paths: combining sequences,
    // NFKC compatibility characters, supplementary characters, odd whitespace, control and format characters,
    // special tokens typed in the text and lone surrogates.
    static readonly string[] Words =
    [
        "harbour", "quietly", "Lantern", "seventeen", "élan", "déjà", "Köln", "Ärger", "straße", "niño", "ação", "łąka",
        "şeker", "Ürün", "кошка", "Дерево", "молоко", "θάλασσα", "Ήλιος", "ψάρι", "كتابة", "الشمس", "مكتبة", "שמיים",
        "חלון", "पुस्तक", "नदी", "किसान", "แม่น้ำ", "ดอกไม้", "山川", "火车站", "电脑", "ひらがな", "カメラ", "나무", "바람",
        "2024", "3.14", "1,000", "12:30", "(", ")", "!", "?", "—", "«", "»", "…", "%", "😀", "🚀🔥", "👍🏽", "👨‍👩‍👧",
        "🇫🇷", "𝔄𝔟𝔠", "𠀀", "e\u0301", "a\u0308", "n\u0303", "\u0915\u093c", "\u304b\u3099", "\u1100\u1161", "\ufb01",
        "\u2460", "\u338f", "ＡＢＣ", "ｶﾞ", "\u00a0", "\u3000", "\t", "\u0007", "\u200b", "\ufeff", "\u00ad", "▁",
        "<mask>", "<s>", "</s>", "<unk>", "<pad>", "<mas", "\ud800", "\udc00", "\U0001D15E",
    ];

    static List<string> Corpus(int lines, int seed)
    {
        var random = new Random(seed);
        var corpus = new List<string>(lines);
        var sb = new StringBuilder();
        for (int i = 0; i < lines; i++)
        {
            sb.Clear();
            int words = random.Next(0, 30);
            for (int w = 0; w < words; w++)
            {
                sb.Append(Words[random.Next(Words.Length)]);
                sb.Append(random.Next(6) switch { 0 => "", 1 => "  ", _ => " " });
            }
            corpus.Add(sb.ToString());
        }
        return corpus;
    }

    [Theory]
    [InlineData("xlm-roberta")]
    [InlineData("mt5")]
    public void Ids_only_paths_equal_the_full_paths_on_a_generated_multilingual_corpus(string family)
    {
        var tok = family == "mt5" ? Mt5.Value : Xlmr.Value;
        var corpus = Corpus(3000, seed: 17);
        var options = new EncodeOptions { MaxLength = 48 };
        int tokens = 0;
        for (int i = 0; i < corpus.Count; i++)
        {
            string text = corpus[i];
            var full = tok.Tokenize(text);
            Assert.Equal(full.Ids, tok.TokenizeIds(text));
            tokens += full.Length;
            int previousStart = 0;
            foreach (var (start, end) in full.Offsets)
            {
                Assert.True(previousStart <= start && start <= end && end <= text.Length, $"line {i}: ({start}, {end}) in {text.Length}");
                previousStart = start;
            }
            string pair = corpus[(i + 1) % corpus.Count];
            Assert.Equal(tok.Encode(text, pair, options).Ids, tok.EncodeIds(text, pair, options));
            Assert.Equal(tok.Encode(text).Ids, tok.EncodeIds(text));
        }
        Assert.True(tokens > 50_000, $"the corpus should exercise the tokenizer, got {tokens} tokens");
    }

    [Fact]
    public void Parallel_tokenization_gives_the_sequential_results()
    {
        var tok = Xlmr.Value;
        var corpus = Corpus(2000, seed: 5);
        var expected = corpus.Select(tok.Tokenize).ToArray();
        var ids = new int[corpus.Count][];
        var encodings = new Stilts.Tokenization.Encoding[corpus.Count];
        Parallel.For(0, corpus.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            ids[i] = tok.TokenizeIds(corpus[i]);
            encodings[i] = tok.Tokenize(corpus[i]);
        });
        for (int i = 0; i < corpus.Count; i++)
        {
            Assert.Equal(expected[i].Ids, ids[i]);
            Assert.Equal(expected[i].Ids, encodings[i].Ids);
            Assert.Equal(expected[i].Offsets, encodings[i].Offsets);
        }
    }

    [Fact]
    public void A_text_longer_than_the_reused_buffers_tokenizes_like_its_parts()
    {
        // Over 64k chars the tokenizer works in buffers of its own; words separated by spaces tokenize alone.
        var tok = Xlmr.Value;
        string sentence = "Die Brücke über den Fluss ist sehr alt, 1875 gebaut.";
        string text = string.Join(" ", Enumerable.Repeat(sentence, 3000));
        Assert.True(text.Length > 100_000);
        var enc = tok.Tokenize(text);
        Assert.Equal(enc.Ids, tok.TokenizeIds(text));
        var one = tok.Tokenize(sentence);
        Assert.Equal(3000 * one.Length, enc.Length);
        Assert.Equal(one.Ids, enc.Ids[^one.Length..]);
        Assert.Equal(text.Length, enc.Offsets[^1].End);
        Assert.Equal(one.Ids, tok.TokenizeIds(sentence)); // the thread's own buffers still serve short texts
    }
}
