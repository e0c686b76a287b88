using Stilts.Tokenization;

namespace Stilts.Tests.TextToText;

/// <summary>
/// Test double with T5's layout: one id per whitespace word, handed out on first sight from 3 up; &lt;pad&gt;=0,
/// &lt;/s&gt;=1 appended after each text, &lt;unk&gt;=2. Decode joins words with spaces.
/// </summary>
public sealed class WordT5Tokenizer() : WordTokenizer(firstNewId: 3)
{
    public override TokenizerKind Kind => TokenizerKind.T5SentencePiece;
    public override SpecialTokens Special { get; } = new("<pad>", 0, "<unk>", 2, null, null, "</s>", 1, null, null, Eos: "</s>", EosId: 1);
    protected override SpecialLayout Layout { get; } = SpecialLayout.T5(eos: 1);
    public override int VocabSize => 1000;
    public override int ModelMaxLength => 64;
}
