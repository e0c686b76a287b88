using System.Text;

namespace Stilts.Tokenization;

/// <summary>
/// XLM-R: a SentencePiece model under fairseq's id layout (&lt;s&gt;=0, &lt;pad&gt;=1, &lt;/s&gt;=2, &lt;unk&gt;=3, spm piece
/// id + 1 for the rest, &lt;mask&gt; last), as HF XLMRobertaTokenizer. Layout &lt;s&gt; A &lt;/s&gt; and
/// &lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;; no token type ids.
/// </summary>
public sealed class XlmRobertaTokenizer : TextTokenizer
{
    const int FairseqOffset = 1;
    readonly SentencePieceModel _sp;
    readonly Dictionary<string, int> _fairseq;
    readonly string[] _fairseqNames;
    readonly List<AddedToken> _added;

    public override TokenizerKind Kind => TokenizerKind.XlmRobertaSentencePiece;
    public override SpecialTokens Special { get; }
    public override int VocabSize => _sp.Count + FairseqOffset + 1;
    public override int ModelMaxLength { get; }

    XlmRobertaTokenizer(SentencePieceModel sp, TokenizerConfig config)
    {
        _sp = sp;
        string bos = config.Token("bos_token", "<s>"), pad = config.Token("pad_token", "<pad>");
        string eos = config.Token("eos_token", "</s>"), unk = config.Token("unk_token", "<unk>");
        var mask = config.Spec("mask_token", "<mask>");
        _fairseqNames = [bos, pad, eos, unk];
        _fairseq = new Dictionary<string, int>(StringComparer.Ordinal) { [bos] = 0, [pad] = 1, [eos] = 2, [unk] = 3 };
        int maskId = sp.Count + FairseqOffset;
        _fairseq[mask.Content] = maskId;
        Special = new SpecialTokens(pad, 1, unk, 3, config.Token("cls_token", bos), 0, config.Token("sep_token", eos), 2,
            mask.Content, maskId, bos, 0, eos, 2);
        // XLMRobertaTokenizer makes <mask> an AddedToken(lstrip=True, rstrip=False); the others are plain strings.
        _added = [new AddedToken(bos, 0), new AddedToken(pad, 1), new AddedToken(eos, 2), new AddedToken(unk, 3),
            new AddedToken(mask.Content, maskId, mask.LStrip ?? true, mask.RStrip ?? false)];
        ModelMaxLength = config.ModelMaxLength ?? (config.MaxPositionEmbeddings - 2) ?? 512;
    }

    /// <summary>Loads sentencepiece.bpe.model; <paramref name="config"/> supplies special-token names and the max length.</summary>
    public static XlmRobertaTokenizer Create(string modelPath, TokenizerConfig? config = null) =>
        new(SentencePieceModel.Load(modelPath), config ?? new TokenizerConfig());

    public override Encoding Tokenize(string text)
    {
        List<int> ids = []; List<string> tokens = []; List<(int, int)> offsets = [];
        foreach (var seg in AddedTokens.Split(text, _added))
        {
            if (seg.Id is int sid) { ids.Add(sid); tokens.Add(IdToToken(sid)); offsets.Add((seg.Start, seg.End)); continue; }
            foreach (var p in _sp.Encode(text[seg.Start..seg.End], seg.Start))
            {
                int id = p.Id == _sp.UnkId ? 3 : p.Id + FairseqOffset;
                ids.Add(id); tokens.Add(IdToToken(id)); offsets.Add((p.Start, p.End));
            }
        }
        return AddedTokens.ToEncoding(ids, tokens, offsets);
    }

    public override (int[] Ids, int[] TypeIds, int[] SequenceIds) BuildInputs(IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        var ids = new List<int> { 0 }; var seq = new List<int> { -1 };
        ids.AddRange(first); seq.AddRange(first.Select(_ => 0));
        ids.Add(2); seq.Add(-1);
        if (second != null)
        {
            ids.Add(2); seq.Add(-1);
            ids.AddRange(second); seq.AddRange(second.Select(_ => 1));
            ids.Add(2); seq.Add(-1);
        }
        return (ids.ToArray(), new int[ids.Count], seq.ToArray());
    }

    public override int NumSpecialTokens(bool pair) => pair ? 4 : 2;

    public override string IdToToken(int id)
    {
        if (id >= 0 && id < _fairseqNames.Length) return _fairseqNames[id];
        if (id == Special.MaskId) return Special.Mask!;
        if (id < 0 || id - FairseqOffset >= _sp.Count) throw new ArgumentOutOfRangeException(nameof(id), id, $"not an id of this {VocabSize}-id vocabulary");
        return _sp.Pieces[id - FairseqOffset];
    }

    public override int? TokenToId(string token)
    {
        if (_fairseq.TryGetValue(token, out int f)) return f;
        return _sp.PieceToId(token) is int spm && spm != _sp.UnkId ? spm + FairseqOffset : null;
    }

    /// <summary>HF slow decode: pieces joined, ▁ to space, stripped, then clean_up_tokenization.</summary>
    public override string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false)
    {
        var sb = new StringBuilder();
        foreach (int id in ids)
        {
            if (skipSpecialTokens && id is >= 0 and <= 3 || skipSpecialTokens && id == Special.MaskId) continue;
            sb.Append(IdToToken(id));
        }
        return AddedTokens.CleanUp(AddedTokens.PyStrip(sb.Replace("\u2581", " ").ToString()));
    }
}
