using Stilts.Tokenization;

namespace Stilts.Tests.Featurization;

/// <summary>Which special-token layout the toy tokenizer copies.</summary>
public enum ToyLayout { Bert, XlmR }

/// <summary>
/// Test double: whitespace words, with the suffixes "ing", "ed" and "s" split off as a second piece ("##ing"), and a
/// word made only of zero-width spaces giving no pieces at all. Ids are handed out on first sight, after the
/// specials. Special layouts follow BERT ([CLS] a [SEP] b [SEP], type ids 0/1) and XLM-R (&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;, type ids 0).
/// </summary>
public sealed class ToyTokenizer : TextTokenizer
{
    static readonly string[] Suffixes = ["ing", "ed", "s"];
    readonly ToyLayout _layout;
    readonly Dictionary<string, int> _vocab = [];
    readonly Dictionary<int, string> _names = [];
    int _next;

    public ToyTokenizer(ToyLayout layout)
    {
        _layout = layout;
        Special = layout == ToyLayout.Bert
            ? new SpecialTokens("[PAD]", 0, "[UNK]", 100, "[CLS]", 101, "[SEP]", 102, "[MASK]", 103)
            : new SpecialTokens("<pad>", 1, "<unk>", 3, "<s>", 0, "</s>", 2, "<mask>", 4, "<s>", 0, "</s>", 2);
        foreach (var (name, id) in new[] { (Special.Pad, Special.PadId), (Special.Unk, Special.UnkId), (Special.Cls!, Special.ClsId!.Value),
                     (Special.Sep!, Special.SepId!.Value), (Special.Mask!, Special.MaskId!.Value) })
            _names[id] = name;
        _next = layout == ToyLayout.Bert ? 1000 : 10;
    }

    public override TokenizerKind Kind => _layout == ToyLayout.Bert ? TokenizerKind.BertWordPiece : TokenizerKind.XlmRobertaSentencePiece;
    public override SpecialTokens Special { get; }
    public override int VocabSize => 5000;
    public override int ModelMaxLength => 512;

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
            if (word.All(c => c == '\u200b')) continue;
            string? suffix = Suffixes.FirstOrDefault(s => word.Length > s.Length + 1 && word.EndsWith(s, StringComparison.Ordinal));
            if (suffix == null) Add(word, start, i);
            else
            {
                Add(word[..^suffix.Length], start, i - suffix.Length);
                Add("##" + suffix, i - suffix.Length, i);
            }
        }
        var n = ids.Count;
        return new Encoding([.. ids], [.. tokens], [.. offsets], new int[n], new int[n]);

        void Add(string token, int s, int e)
        {
            if (!_vocab.TryGetValue(token, out int id))
            {
                id = _vocab[token] = _next++;
                _names[id] = token;
            }
            ids.Add(id);
            tokens.Add(token);
            offsets.Add((s, e));
        }
    }

    public override (int[] Ids, int[] TypeIds, int[] SequenceIds) BuildInputs(IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        var ids = new List<int>();
        var types = new List<int>();
        var seqs = new List<int>();
        int cls = Special.ClsId!.Value, sep = Special.SepId!.Value;
        void Put(int id, int type, int seq) { ids.Add(id); types.Add(type); seqs.Add(seq); }
        Put(cls, 0, -1);
        foreach (var id in first) Put(id, 0, 0);
        Put(sep, 0, -1);
        if (second != null)
        {
            int type = _layout == ToyLayout.Bert ? 1 : 0;
            if (_layout == ToyLayout.XlmR) Put(sep, 0, -1);
            foreach (var id in second) Put(id, type, 1);
            Put(sep, type, -1);
        }
        return ([.. ids], [.. types], [.. seqs]);
    }

    public override int NumSpecialTokens(bool pair) => _layout == ToyLayout.Bert ? (pair ? 3 : 2) : (pair ? 4 : 2);
    public override string IdToToken(int id) => _names.TryGetValue(id, out var t) ? t : "<?>";
    public override int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    public override string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false) =>
        string.Join(" ", ids.Where(id => !skipSpecialTokens || !IsSpecial(id)).Select(IdToToken)).Replace(" ##", "");

    bool IsSpecial(int id) => id == Special.PadId || id == Special.UnkId || id == Special.ClsId || id == Special.SepId || id == Special.MaskId;

    /// <summary>Token strings of ids, for readable assertions.</summary>
    public string[] Names(IEnumerable<int> ids) => ids.Select(IdToToken).ToArray();
}
