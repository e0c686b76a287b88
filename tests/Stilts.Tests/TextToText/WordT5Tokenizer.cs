using Stilts.Tokenization;

namespace Stilts.Tests.TextToText;

/// <summary>
/// Test double with T5's layout: one id per whitespace word, handed out on first sight from 3 up; &lt;pad&gt;=0,
/// &lt;/s&gt;=1 appended after each text, &lt;unk&gt;=2. Decode joins words with spaces.
/// </summary>
public sealed class WordT5Tokenizer : TextTokenizer
{
    readonly Dictionary<string, int> _vocab = [];
    readonly List<string> _names = ["<pad>", "</s>", "<unk>"];

    public override TokenizerKind Kind => TokenizerKind.T5SentencePiece;
    public override SpecialTokens Special { get; } = new("<pad>", 0, "<unk>", 2, null, null, "</s>", 1, null, null, Eos: "</s>", EosId: 1);
    public override int VocabSize => 1000;
    public override int ModelMaxLength => 64;

    public override Encoding Tokenize(string text)
    {
        var ids = new List<int>();
        var tokens = new List<string>();
        var offsets = new List<(int, int)>();
        int i = 0;
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i])) { i++; continue; }
            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
            string word = text[start..i];
            if (!_vocab.TryGetValue(word, out int id))
            {
                id = _vocab[word] = _names.Count;
                _names.Add(word);
            }
            ids.Add(id);
            tokens.Add(word);
            offsets.Add((start, i));
        }
        int n = ids.Count;
        return new Encoding([.. ids], [.. tokens], [.. offsets], new int[n], new int[n]);
    }

    public override (int[] Ids, int[] TypeIds, int[] SequenceIds) BuildInputs(IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        int[] ids = second == null ? [.. first, 1] : [.. first, 1, .. second, 1];
        int[] seq = second == null
            ? [.. first.Select(_ => 0), -1]
            : [.. first.Select(_ => 0), -1, .. second.Select(_ => 1), -1];
        return (ids, new int[ids.Length], seq);
    }

    public override int NumSpecialTokens(bool pair) => pair ? 2 : 1;
    public override string IdToToken(int id) => id >= 0 && id < _names.Count ? _names[id] : "<unk>";
    public override int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    public override string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false) =>
        string.Join(' ', ids.Where(id => !skipSpecialTokens || id > 2).Select(IdToToken));
}
