using System.Text;

namespace Stilts.Tokenization;

/// <summary>
/// T5 / mT5: SentencePiece ids used as they are, &lt;/s&gt; appended (A &lt;/s&gt;, A &lt;/s&gt; B &lt;/s&gt;) and
/// <c>extra_ids</c> sentinels &lt;extra_id_i&gt; = vocab_size - 1 - i above the spm pieces, as HF T5Tokenizer (legacy).
/// </summary>
public sealed class T5Tokenizer : TextTokenizer
{
    readonly SentencePieceModel _sp;
    readonly int _extraIds;
    readonly List<AddedToken> _added;
    readonly HashSet<int> _specialIds;

    public override TokenizerKind Kind => TokenizerKind.T5SentencePiece;
    public override SpecialTokens Special { get; }
    public override int VocabSize => _sp.Count + _extraIds;
    public override int ModelMaxLength { get; }

    T5Tokenizer(SentencePieceModel sp, TokenizerConfig config, string path)
    {
        _sp = sp;
        _extraIds = config.ExtraIds;
        int Id(string key, string fallback)
        {
            string name = config.Token(key, fallback);
            return sp.PieceToId(name) ?? throw new InvalidInputException($"{path}", $"{key} '{name}' is not a piece of the SentencePiece model");
        }
        string pad = config.Token("pad_token", "<pad>"), eos = config.Token("eos_token", "</s>"), unk = config.Token("unk_token", "<unk>");
        int padId = Id("pad_token", "<pad>"), eosId = Id("eos_token", "</s>");
        Special = new SpecialTokens(pad, padId, unk, sp.UnkId, null, null, eos, eosId, null, null, null, null, eos, eosId);
        _added = [new AddedToken(eos, eosId), new AddedToken(unk, sp.UnkId), new AddedToken(pad, padId)];
        for (int i = 0; i < _extraIds; i++) _added.Add(new AddedToken($"<extra_id_{i}>", VocabSize - 1 - i));
        _specialIds = [.. _added.Select(a => a.Id)];
        ModelMaxLength = config.ModelMaxLength ?? 512;
    }

    /// <summary>Loads spiece.model; <paramref name="config"/> supplies special-token names, extra_ids and the max length.</summary>
    public static T5Tokenizer Create(string modelPath, TokenizerConfig? config = null) =>
        new(SentencePieceModel.Load(modelPath), config ?? new TokenizerConfig(), modelPath);

    public override Encoding Tokenize(string text)
    {
        List<int> ids = []; List<string> tokens = []; List<(int, int)> offsets = [];
        foreach (var seg in AddedTokens.Split(text, _added))
        {
            if (seg.Id is int sid) { ids.Add(sid); tokens.Add(IdToToken(sid)); offsets.Add((seg.Start, seg.End)); continue; }
            foreach (var p in _sp.Encode(text[seg.Start..seg.End], seg.Start))
            {
                ids.Add(p.Id); tokens.Add(_sp.Pieces[p.Id]); offsets.Add((p.Start, p.End));
            }
        }
        return AddedTokens.ToEncoding(ids, tokens, offsets);
    }

    // HF _add_eos_if_not_present: a sequence that already ends with </s> gets no second one.
    public override (int[] Ids, int[] TypeIds, int[] SequenceIds) BuildInputs(IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        int eos = Special.EosId!.Value;
        var ids = new List<int>(); var seq = new List<int>();
        void Add(IReadOnlyList<int> part, int seqId)
        {
            ids.AddRange(part); seq.AddRange(part.Select(_ => seqId));
            if (part.Count == 0 || part[^1] != eos) { ids.Add(eos); seq.Add(-1); }
        }
        Add(first, 0);
        if (second != null) Add(second, 1);
        return (ids.ToArray(), new int[ids.Count], seq.ToArray());
    }

    public override int NumSpecialTokens(bool pair) => pair ? 2 : 1;

    public override string IdToToken(int id)
    {
        if (id >= _sp.Count && id < VocabSize) return $"<extra_id_{VocabSize - 1 - id}>";
        if (id < 0 || id >= VocabSize) throw new ArgumentOutOfRangeException(nameof(id), id, $"not an id of this {VocabSize}-id vocabulary");
        return _sp.Pieces[id];
    }

    public override int? TokenToId(string token)
    {
        if (token.StartsWith("<extra_id_", StringComparison.Ordinal) && token.EndsWith('>')
            && int.TryParse(token.AsSpan(10, token.Length - 11), out int k) && k >= 0 && k < _extraIds)
            return VocabSize - 1 - k;
        return _sp.PieceToId(token);
    }

    /// <summary>HF T5Tokenizer.convert_tokens_to_string: special tokens kept verbatim (a space before a run of them),
    /// the pieces between them decoded by SentencePiece; then strip and clean_up_tokenization.</summary>
    public override string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false)
    {
        var outText = new StringBuilder();
        var pieces = new List<string>();
        bool prevSpecial = false;
        foreach (int id in ids)
        {
            bool special = _specialIds.Contains(id);
            if (special && skipSpecialTokens) continue;
            if (special)
            {
                if (!prevSpecial) outText.Append(' ');
                outText.Append(_sp.DecodePieces(pieces)).Append(IdToToken(id));
                pieces.Clear();
                prevSpecial = true;
            }
            else { pieces.Add(IdToToken(id)); prevSpecial = false; }
        }
        outText.Append(_sp.DecodePieces(pieces));
        return AddedTokens.CleanUp(AddedTokens.PyStrip(outText.ToString()));
    }
}
