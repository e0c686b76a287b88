using Stilts.Tokenization;

namespace Stilts.Tests.Pipeline;

/// <summary>A test double: splits on whitespace, ids from a fixed word list, BERT-style [CLS] a [SEP] b [SEP] layout.</summary>
sealed class WhitespaceTokenizer(IReadOnlyList<string> vocab) : WordTokenizer(vocab)
{
    public override TokenizerKind Kind => TokenizerKind.BertWordPiece;
    public override SpecialTokens Special => new("[PAD]", 0, "[UNK]", 1, "[CLS]", 2, "[SEP]", 3, "[MASK]", 4);
    protected override SpecialLayout Layout => SpecialLayout.Bert(cls: 2, sep: 3);
    public override int VocabSize => vocab.Count;
    public override int ModelMaxLength => 64;
}
