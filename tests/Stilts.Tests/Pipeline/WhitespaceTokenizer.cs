using Stilts.Tokenization;

namespace Stilts.Tests.Pipeline;

/// <summary>A test double: splits on spaces, ids from a fixed word list, BERT-style [CLS] a [SEP] b [SEP] layout.</summary>
sealed class WhitespaceTokenizer(IReadOnlyList<string> vocab) : TextTokenizer
{
    readonly Dictionary<string, int> _ids = vocab.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i);

    public override TokenizerKind Kind => TokenizerKind.BertWordPiece;
    public override SpecialTokens Special => new("[PAD]", 0, "[UNK]", 1, "[CLS]", 2, "[SEP]", 3, "[MASK]", 4);
    public override int VocabSize => vocab.Count;
    public override int ModelMaxLength => 64;

    public override Encoding Tokenize(string text)
    {
        var words = new List<(string W, int S, int E)>();
        int i = 0;
        foreach (var w in text.Split(' '))
        {
            if (w.Length > 0) words.Add((w, i, i + w.Length));
            i += w.Length + 1;
        }
        return new Encoding(words.Select(w => _ids.GetValueOrDefault(w.W, 1)).ToArray(), words.Select(w => w.W).ToArray(),
            words.Select(w => (w.S, w.E)).ToArray(), new int[words.Count], new int[words.Count]);
    }

    public override (int[] Ids, int[] TypeIds, int[] SequenceIds) BuildInputs(IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        var ids = new List<int> { 2 }; ids.AddRange(first); ids.Add(3);
        var types = Enumerable.Repeat(0, ids.Count).ToList();
        var seq = new List<int> { -1 }; seq.AddRange(first.Select(_ => 0)); seq.Add(-1);
        if (second != null)
        {
            ids.AddRange(second); ids.Add(3);
            types.AddRange(Enumerable.Repeat(1, second.Count + 1));
            seq.AddRange(second.Select(_ => 1)); seq.Add(-1);
        }
        return (ids.ToArray(), types.ToArray(), seq.ToArray());
    }

    public override int NumSpecialTokens(bool pair) => pair ? 3 : 2;
    public override string IdToToken(int id) => vocab[id];
    public override int? TokenToId(string token) => _ids.TryGetValue(token, out int id) ? id : null;
    public override string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false) =>
        string.Join(' ', ids.Where(i => !skipSpecialTokens || i > 4).Select(IdToToken));
}
