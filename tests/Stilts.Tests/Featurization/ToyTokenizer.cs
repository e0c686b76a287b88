using Stilts.Tokenization;

namespace Stilts.Tests.Featurization;

/// <summary>Which special-token layout the toy tokenizer copies.</summary>
public enum ToyLayout { Bert, XlmR }

/// <summary>
/// Test double: whitespace words, with the suffixes "ing", "ed" and "s" split off as a second piece ("##ing"), and a
/// word made only of zero-width spaces giving no pieces at all. Ids are handed out on first sight, after the
/// specials. Special layouts follow BERT ([CLS] a [SEP] b [SEP], type ids 0/1) and XLM-R (&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;, type ids 0).
/// </summary>
public sealed class ToyTokenizer : WordTokenizer
{
    static readonly string[] Suffixes = ["ing", "ed", "s"];
    readonly ToyLayout _layout;

    public ToyTokenizer(ToyLayout layout) : base(firstNewId: layout == ToyLayout.Bert ? 1000 : 10)
    {
        _layout = layout;
        Special = layout == ToyLayout.Bert
            ? new SpecialTokens("[PAD]", 0, "[UNK]", 100, "[CLS]", 101, "[SEP]", 102, "[MASK]", 103)
            : new SpecialTokens("<pad>", 1, "<unk>", 3, "<s>", 0, "</s>", 2, "<mask>", 4, "<s>", 0, "</s>", 2);
        Layout = layout == ToyLayout.Bert ? SpecialLayout.Bert(Special.ClsId!.Value, Special.SepId!.Value) : SpecialLayout.XlmR(Special.ClsId!.Value, Special.SepId!.Value);
    }

    public override TokenizerKind Kind => _layout == ToyLayout.Bert ? TokenizerKind.BertWordPiece : TokenizerKind.XlmRobertaSentencePiece;
    public override SpecialTokens Special { get; }
    protected override SpecialLayout Layout { get; }
    public override int VocabSize => 5000;
    public override int ModelMaxLength => 512;

    protected override IEnumerable<(string Token, int Start, int End)> Pieces(string word, int start)
    {
        if (word.All(c => c == '\u200b')) return [];
        int end = start + word.Length;
        string? suffix = Suffixes.FirstOrDefault(s => word.Length > s.Length + 1 && word.EndsWith(s, StringComparison.Ordinal));
        return suffix == null
            ? [(word, start, end)]
            : [(word[..^suffix.Length], start, end - suffix.Length), ("##" + suffix, end - suffix.Length, end)];
    }
}
