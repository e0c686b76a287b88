using System.Buffers;
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
    readonly string[] _tokens;
    readonly List<AddedToken> _added;
    readonly SearchValues<char> _addedFirstChars;
    [ThreadStatic] static PieceBuffer? t_pieces;

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
        _addedFirstChars = AddedTokens.FirstChars(_added);
        ModelMaxLength = config.ModelMaxLength ?? (config.MaxPositionEmbeddings - 2) ?? 512;
        _tokens = new string[VocabSize];
        for (int id = 0; id < _tokens.Length; id++) _tokens[id] = TokenOf(id);
    }

    /// <summary>Loads sentencepiece.bpe.model; <paramref name="config"/> supplies special-token names and the max length.</summary>
    public static XlmRobertaTokenizer Create(string modelPath, TokenizerConfig? config = null) =>
        new(SentencePieceModel.Load(modelPath), config ?? new TokenizerConfig());

    public override Encoding Tokenize(string text)
    {
        var pieces = PieceBuffer.ForText(ref t_pieces, text.Length);
        _sp.EncodeWithAddedTokens(text, _added, _addedFirstChars, FairseqOffset, 3, pieces, withOffsets: true);
        int count = pieces.Count;
        var ids = pieces.Ids.AsSpan(0, count).ToArray();
        var tokens = new string[count];
        var offsets = new (int, int)[count];
        for (int i = 0; i < count; i++) { tokens[i] = _tokens[ids[i]]; offsets[i] = (pieces.Starts[i], pieces.Ends[i]); }
        return new Encoding(ids, tokens, offsets, new int[count], new int[count]);
    }

    /// <summary>The ids of <see cref="Tokenize"/> without token strings and offsets.</summary>
    public override int[] TokenizeIds(string text)
    {
        var pieces = PieceBuffer.ForText(ref t_pieces, text.Length);
        _sp.EncodeWithAddedTokens(text, _added, _addedFirstChars, FairseqOffset, 3, pieces, withOffsets: false);
        return pieces.Ids.AsSpan(0, pieces.Count).ToArray();
    }

    public override (int[] Ids, int[] TypeIds, int[] SequenceIds) BuildInputs(IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        int length = first.Count + 2 + (second == null ? 0 : second.Count + 2);
        var ids = new int[length];
        var seq = new int[length];
        int k = 0;
        void Add(int id, int sequence) { ids[k] = id; seq[k++] = sequence; }
        Add(0, -1);
        for (int i = 0; i < first.Count; i++) Add(first[i], 0);
        Add(2, -1);
        if (second != null)
        {
            Add(2, -1);
            for (int i = 0; i < second.Count; i++) Add(second[i], 1);
            Add(2, -1);
        }
        return (ids, new int[length], seq);
    }

    public override int NumSpecialTokens(bool pair) => pair ? 4 : 2;

    public override string IdToToken(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"not an id of this {VocabSize}-id vocabulary");

    // Every id's token, looked up once: Tokenize names every token it returns.
    string TokenOf(int id) =>
        id < _fairseqNames.Length ? _fairseqNames[id] : id == Special.MaskId ? Special.Mask! : _sp.Pieces[id - FairseqOffset];

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
